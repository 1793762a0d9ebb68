"""A resilient pair, live-live: failover and failback with calls on both systems, commands routed to the system
that holds the call, no call event lost or duplicated across a switch."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import (
    CallEvent,
    CallEventType,
    CannotConnectError,
    IPOfficeClient,
    MTCTI3Error,
    TLSMode,
)
from custom_components.ipoffice.mtcti3.pair import PairClient
from simulator import Simulator, SimulatorConfig
from simulator.pair import PRIMARY, SECONDARY, SimulatorPair

from .conftest import PASSWORD, USERNAME, guid_of, wait_for


def _client(sim: Simulator) -> IPOfficeClient:
    client = IPOfficeClient(
        "127.0.0.1", USERNAME, PASSWORD, port=sim.port, tls=TLSMode.PINNED, fingerprint=sim.fingerprint
    )
    client.backoff_base = 0.05
    client.backoff_cap = 0.2
    client.reconcile_delay = 0.3
    return client


class Recorder:
    """What the pair reports: call events and connection changes."""

    def __init__(self, pair: PairClient) -> None:
        self.events: list[CallEvent] = []
        self.connection: list[bool] = []
        pair.add_call_listener(self.events.append)
        pair.add_connection_listener(self.connection.append)

    def of(self, owner: str, gcid: str) -> list[str]:
        return [str(e.type) for e in self.events if e.call.owner_guid == owner and e.call.gcid == gcid]

    def news(self) -> Counter[tuple[str, str]]:
        return Counter((e.call.owner_guid, e.call.gcid) for e in self.events if e.type == "new")

    def ends(self) -> Counter[tuple[str, str]]:
        return Counter((e.call.owner_guid, e.call.gcid) for e in self.events if e.type == "ended")


@pytest.fixture
async def pair(sims: SimulatorPair) -> AsyncIterator[PairClient]:
    client = PairClient(_client(sims.primary), _client(sims.secondary))
    await client.connect()
    yield client
    await client.disconnect()


async def test_failover_and_failback(sims: SimulatorPair, pair: PairClient) -> None:
    rec = Recorder(pair)
    alice, sales = guid_of(sims.primary, "2001"), guid_of(sims.primary, "2501")
    assert pair.active is pair.primary
    assert pair.connected
    assert set(pair.users) == set(pair.secondary.users)
    assert pair.directory is pair.primary.directory
    assert pair.system is pair.primary.system

    on_primary = sims.queue_call(PRIMARY, "2501")
    on_secondary = sims.queue_call(SECONDARY, "2501", caller="01707999888")
    user_call = sims.user_call("2002")
    await sims.wait_quiet()
    await wait_for(lambda: len(pair.queue_calls(sales)) == 2, message="both queue calls")
    tagged = {(name, call.gcid) for name, call in pair.queue_calls(sales)}
    assert tagged == {(PRIMARY, on_primary.gcid), (SECONDARY, on_secondary.gcid)}
    assert {call.gcid for call in pair.queues[sales].calls.values()} == {on_primary.gcid, on_secondary.gcid}

    # Commands go to the system holding the call (the call ids of the two systems are unrelated).
    primary_id, secondary_id = on_primary.callid("2501"), on_secondary.callid("2501")
    assert pair.client_for_call(sales, primary_id) is pair.primary
    assert pair.client_for_call(sales, secondary_id) is pair.secondary
    assert pair.client_for_call(sales, 999_999) is pair.active
    await pair.client_for_call(sales, secondary_id).set_priority(sales, secondary_id, 2)
    with pytest.raises(MTCTI3Error):  # the primary does not hold the secondary's call
        await pair.primary.set_priority(sales, secondary_id, 2)

    # The primary fails: users are served by the secondary without a flicker; its queue call goes on.
    await sims.take_down(PRIMARY)
    await wait_for(lambda: pair.active is pair.secondary, message="failover")
    assert rec.connection == []
    assert pair.connected
    assert alice in pair.users
    assert [name for name, _ in pair.queue_calls(sales)] == [SECONDARY]
    assert {call.gcid for call in pair.queues[sales].calls.values()} == {on_secondary.gcid}
    assert pair.client_for_call(sales, primary_id) is pair.secondary  # the primary cannot take it now
    bob = guid_of(sims.primary, "2002")
    assert rec.of(bob, user_call.gcid) == ["new", "ended"]  # its phone's system went down with it
    await pair.client_for_call(sales, secondary_id).set_priority(sales, secondary_id, 3)  # still controllable

    # During the outage the phones are on the secondary.
    outage_call = sims.user_call("2001")
    await sims.wait_quiet()
    await wait_for(lambda: rec.of(alice, outage_call.gcid)[:1] == ["new"], message="call on the secondary")
    assert pair.client_for_call(alice, outage_call.callid("2001")) is pair.secondary
    await pair.client_for_call(alice, outage_call.callid("2001")).drop_call(alice, outage_call.callid("2001"))
    await sims.wait_quiet()
    await wait_for(lambda: "ended" in rec.of(alice, outage_call.gcid), message="dropped on the secondary")

    # The primary is back: users fail back once it has reconciled; its queue call was never lost.
    await sims.bring_up(PRIMARY)
    await wait_for(lambda: pair.primary.connected, message="primary reconnects")
    await wait_for(lambda: pair.active is pair.primary, message="failback")
    await sims.wait_quiet()
    await wait_for(lambda: len(pair.queue_calls(sales)) == 2, message="both queue calls again")
    assert rec.connection == []
    sims.primary.hangup(on_primary, by="caller")
    sims.secondary.hangup(on_secondary, by="caller")
    sims.primary.hangup(user_call, by="caller")  # the primary kept it ringing: it showed again at the failback
    await sims.wait_quiet()
    await wait_for(lambda: pair.queue_calls(sales) == [], message="queue calls end")
    await wait_for(lambda: not pair.users[bob].calls, message="user call ends")

    # Across both switches no call event is duplicated or lost: per call, NEW and ENDED alternate and every call
    # ends. The secondary's queue call, always visible, is reported once. The primary's could not be seen while
    # the primary was down: it ended (reconciled) at the failover and was new again once the primary was back.
    for key in rec.news():
        moments = [t for t in rec.of(*key) if t in ("new", "ended")]
        assert moments == ["new", "ended"] * (len(moments) // 2), (key, moments)
    assert set(rec.news()) == set(rec.ends())
    assert rec.news()[(sales, on_secondary.gcid)] == rec.ends()[(sales, on_secondary.gcid)] == 1
    assert rec.news()[(sales, on_primary.gcid)] == rec.ends()[(sales, on_primary.gcid)] == 2
    reconciled = [
        e for e in rec.events if (e.call.owner_guid, e.call.gcid, e.type) == (sales, on_primary.gcid, "ended")
    ]
    assert [e.reconciled for e in reconciled] == [True, False]


async def test_same_call_on_both_systems_is_one_call(sims: SimulatorPair, pair: PairClient) -> None:
    """A user's call that both systems show (same gcid) survives a switch without a NEW or an ENDED."""
    rec = Recorder(pair)
    alice = guid_of(sims.primary, "2001")
    sims.primary.model._gcids = itertools.count(0x200000)
    sims.secondary.model._gcids = itertools.count(0x200000)
    first = sims.primary.incoming_call(to="2001")
    second = sims.secondary.incoming_call(to="2001")
    assert first.gcid == second.gcid
    await sims.wait_quiet()
    await wait_for(lambda: rec.of(alice, first.gcid)[:1] == ["new"], message="new")
    await sims.take_down(PRIMARY)
    await wait_for(lambda: pair.active is pair.secondary, message="failover")
    assert rec.of(alice, first.gcid) == ["new"]
    sims.secondary.hangup(second, by="caller")
    await sims.wait_quiet()
    await wait_for(lambda: "ended" in rec.of(alice, first.gcid), message="ended")
    assert rec.of(alice, first.gcid).count("ended") == 1


async def test_both_down_then_back(sims: SimulatorPair, pair: PairClient) -> None:
    rec = Recorder(pair)
    seen: list[Any] = []
    alice = guid_of(sims.primary, "2001")
    unsub = pair.add_user_listener(seen.append, guid=alice)
    pair.add_queue_listener(seen.append)
    parked: list[Any] = []
    pair.add_park_listener(parked.append)
    await sims.take_down(SECONDARY)
    await sims.take_down(PRIMARY)
    await wait_for(lambda: rec.connection == [False], message="unavailable")
    assert not pair.connected
    await sims.bring_up(SECONDARY)
    await wait_for(lambda: rec.connection == [False, True], message="available")
    assert pair.active is pair.secondary
    assert any(getattr(item, "guid", None) == alice for item in seen)  # a switch refreshes the users
    await sims.bring_up(PRIMARY)
    await wait_for(lambda: pair.active is pair.primary, message="failback")
    sims.update_user("2001", dnd=True)
    await sims.wait_quiet()
    await wait_for(lambda: pair.users[alice].dnd, message="dnd")
    unsub()
    unsub()  # removing twice is harmless
    call = sims.user_call("2002")
    sims.primary.answer(call, by="2002")
    sims.primary.park(call, by="2002", slot="1")
    await sims.wait_quiet()
    await wait_for(lambda: bool(parked), message="park")
    assert pair.parked_calls is pair.primary.parked_calls


async def test_connect_with_one_system_down(sims: SimulatorPair) -> None:
    """The pair starts on the secondary when the primary is down, and connects the primary when it comes up."""
    await sims.take_down(PRIMARY)
    pair = PairClient(_client(sims.primary), _client(sims.secondary))
    try:
        await pair.connect()
        assert pair.active is pair.secondary
        await sims.bring_up(PRIMARY)
        await wait_for(lambda: pair.active is pair.primary, timeout=15, message="primary retried")
    finally:
        await pair.disconnect()


async def test_connect_with_both_down(sims: SimulatorPair) -> None:
    await sims.take_down(PRIMARY)
    await sims.take_down(SECONDARY)
    pair = PairClient(_client(sims.primary), _client(sims.secondary))
    with pytest.raises(CannotConnectError):
        await pair.connect()


async def test_unexpected_connect_error_propagates(sims: SimulatorPair, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = PairClient(_client(sims.primary), _client(sims.secondary))

    async def broken() -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(pair.secondary, "connect", broken)
    with pytest.raises(RuntimeError, match="bug"):
        await pair.connect()
    assert not pair.primary.connected


async def test_retry_and_flapping_primary(sims: SimulatorPair) -> None:
    """The primary is retried while it stays down; a flap restarts the failback wait; disconnect stops it all."""
    await sims.take_down(PRIMARY)
    pair = PairClient(_client(sims.primary), _client(sims.secondary))
    pair.failback_delay = 1.0  # the flap checks below have half of it as their margin on a loaded machine
    queue_seen: list[Any] = []
    sales = guid_of(sims.secondary, "2501")
    pair.add_queue_listener(queue_seen.append, guid=sales)
    pair.add_queue_listener(queue_seen.append, guid="0" * 32)
    try:
        await pair.connect()
        await asyncio.sleep(0.4)  # at least one retry fails
        await sims.bring_up(PRIMARY)
        await wait_for(lambda: pair.primary.connected, message="primary connects")  # the failback wait starts
        await asyncio.sleep(0.6 * pair.failback_delay)
        pair._on_connection(pair.primary, True)  # a second "up" restarts the wait
        await asyncio.sleep(0.5 * pair.failback_delay)  # past the end of the first wait, not of the second
        assert pair.active is pair.secondary
        await wait_for(lambda: pair.active is pair.primary, message="failback at the end of the second wait")
        sims.update_queue("2501", voicemail=False)
        await sims.wait_quiet()
        await wait_for(lambda: bool(queue_seen), message="queue change")
        assert all(queue.guid == sales for queue in queue_seen)
        pair._on_connection(pair.primary, True)  # one more "up": a failback wait is pending at disconnect
        pending = pair._resyncs[PRIMARY]
    finally:
        await pair.disconnect()
    assert pending.cancelled()
    assert not pair._tasks


async def test_disconnect_stops_retry(sims: SimulatorPair) -> None:
    await sims.take_down(PRIMARY)
    pair = PairClient(_client(sims.primary), _client(sims.secondary))
    await pair.connect()
    assert pair._tasks
    await pair.disconnect()
    assert not pair._tasks


async def test_stale_and_repeated_user_events(sims: SimulatorPair, pair: PairClient) -> None:
    """A NEW for a call already reported, or a change of a call already ended, is not reported again."""
    rec = Recorder(pair)
    call = sims.user_call("2002")
    await sims.wait_quiet()
    bob = guid_of(sims.primary, "2002")
    await wait_for(lambda: rec.of(bob, call.gcid) == ["new"], message="new")
    model = pair.users[bob].calls[call.callid("2002")]
    pair._on_call(pair.primary, CallEvent(CallEventType.NEW, model, 0.0))
    pair._on_call(pair.primary, CallEvent(CallEventType.ENDED, model, 0.0))
    pair._on_call(pair.primary, CallEvent(CallEventType.MISSED, model, 0.0))
    pair._on_call(pair.primary, CallEvent(CallEventType.STATE_CHANGED, model, 0.0))
    pair._on_call(pair.primary, CallEvent(CallEventType.MISSED, model, 0.0))
    assert rec.of(bob, call.gcid) == ["new", "ended", "missed"]


async def test_queue_calls_with_the_same_id_on_both_systems() -> None:
    """Call ids are unique only within a subscription: both systems report id 1 for their call of one queue. Both
    calls show, each event says its system, and each command reaches the call it names (it used to reach the serving
    system's call, and one of the two calls vanished from the queue)."""
    configs = [SimulatorConfig(host="127.0.0.1", per_subscription_call_ids=True) for _ in range(2)]
    async with SimulatorPair(*configs) as sims:
        pair = PairClient(_client(sims.primary), _client(sims.secondary))
        rec = Recorder(pair)
        await pair.connect()
        try:
            sales = guid_of(sims.primary, "2501")
            on_primary = sims.queue_call(PRIMARY, "2501")
            on_secondary = sims.queue_call(SECONDARY, "2501", caller="01707999888")
            await sims.wait_quiet()
            await wait_for(lambda: len(pair.queues[sales].calls) == 2, message="both calls of the queue")
            assert list(pair.primary.queues[sales].calls) == list(pair.secondary.queues[sales].calls) == [1]
            shown = {call.gcid: call_id for call_id, call in pair.queues[sales].calls.items()}
            assert set(shown) == {on_primary.gcid, on_secondary.gcid}
            news = {(e.system, e.call.gcid, e.call.call_id) for e in rec.events if e.type == "new"}  # type: ignore[attr-defined]
            assert news == {
                (PRIMARY, on_primary.gcid, shown[on_primary.gcid]),
                (SECONDARY, on_secondary.gcid, shown[on_secondary.gcid]),
            }
            assert sorted(name for name, _ in pair.queue_calls(sales)) == [PRIMARY, SECONDARY]

            for name, call, priority in ((SECONDARY, on_secondary, 3), (PRIMARY, on_primary, 2)):
                client, system_id = pair.command_target(sales, shown[call.gcid])
                assert client is (pair.primary if name == PRIMARY else pair.secondary)
                assert system_id == 1
                await client.set_priority(sales, system_id, priority)
                assert pair.client_for_call(sales, shown[call.gcid]) is client
            assert on_secondary.priority == 3
            assert on_primary.priority == 2

            sims.secondary.hangup(on_secondary, by="caller")
            await sims.wait_quiet()
            await wait_for(lambda: len(pair.queues[sales].calls) == 1, message="the secondary's call ends")
            assert [call.gcid for call in pair.queues[sales].calls.values()] == [on_primary.gcid]
            ended = [e for e in rec.events if e.type == "ended"]
            assert [(e.system, e.call.gcid, e.call.call_id) for e in ended] == [  # type: ignore[attr-defined]
                (SECONDARY, on_secondary.gcid, shown[on_secondary.gcid])
            ]
        finally:
            await pair.disconnect()


async def test_a_call_reported_while_its_system_reconciles_is_reported_when_it_shows(sims: SimulatorPair) -> None:
    """The secondary's client reconciles before its queue subscription's call snapshot arrives (its reconcile delay
    0 here; a loaded machine's 0.1 s in the pair campaign): it ends the queue call that went on, then reports it NEW.
    That NEW must wait until the secondary's calls show again: admitted at once, the call was in progress for the
    pair's listeners but in no queue (the pair campaign's rare failure)."""
    secondary = _client(sims.secondary)
    secondary.reconcile_delay = 0.0
    pair = PairClient(_client(sims.primary), secondary)
    rec = Recorder(pair)
    await pair.connect()
    try:
        sales = guid_of(sims.primary, "2501")
        call = sims.queue_call(SECONDARY, "2501")
        await sims.wait_quiet()
        await wait_for(lambda: len(pair.queues[sales].calls) == 1, message="the secondary's queue call")

        def consistent() -> bool:
            moments = rec.of(sales, call.gcid)
            in_progress = bool(moments) and moments[-1] == "new"
            return in_progress == any(c.gcid == call.gcid for c in pair.queues[sales].calls.values())

        await sims.take_down(SECONDARY)
        await wait_for(lambda: not secondary.connected, message="the secondary is lost")
        assert rec.of(sales, call.gcid) == ["new", "ended"]
        await sims.bring_up(SECONDARY)
        await wait_for(lambda: secondary.connected, message="the secondary reconnects")
        await sims.wait_quiet()
        await asyncio.sleep(0.1)  # the client's snapshot is in, its reconcile done: the pair still resyncs
        assert SECONDARY in pair._resyncs
        assert consistent(), rec.of(sales, call.gcid)
        await wait_for(lambda: SECONDARY not in pair._resyncs, message="the secondary's calls show")
        assert consistent()
        assert rec.of(sales, call.gcid) == ["new", "ended", "new"]
    finally:
        await pair.disconnect()
