"""Call events from the simulator, and call commands seen back through notifies."""

from __future__ import annotations

from custom_components.ipoffice.mtcti3 import (
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    IPOfficeClient,
    Subsystem,
    User,
)
from simulator import Simulator

from .conftest import settle, wait_for

T = CallEventType


def user(client: IPOfficeClient, extn: str) -> User:
    found = client.user_by_extn(extn)
    assert found is not None
    return found


def record(client: IPOfficeClient) -> list[CallEvent]:
    events: list[CallEvent] = []
    client.add_call_listener(events.append)
    return events


def of(events: list[CallEvent], owner: Subsystem = Subsystem.USER, guid: str | None = None) -> list[CallEventType]:
    return [e.type for e in events if e.call.owner is owner and (guid is None or e.call.owner_guid == guid)]


def only_call(owner: User) -> Call:
    assert len(owner.calls) == 1, owner.calls
    return next(iter(owner.calls.values()))


async def test_incoming_answer_hold_resume_hangup(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    bob = user(client, "2002")
    call = sim.incoming_call(to="2002", caller="01707123456", caller_name="Avaya Test trunk")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.NEW]
    ringing = only_call(bob)
    assert ringing.state is CallState.RINGING
    assert ringing.direction is CallDirection.INBOUND
    assert ringing.is_ringing
    assert ringing.other_party is not None
    assert ringing.other_party.number == "01707123456"
    assert client.find_call(ringing.call_id) == ringing
    from custom_components.ipoffice.mtcti3 import PhoneState

    assert bob.phone_state is PhoneState.RINGING
    events.clear()
    sim.answer(call, by="2002")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.STATE_CHANGED, T.ANSWERED]
    answered = only_call(bob)
    assert answered.answered
    assert answered.started == ringing.started
    assert answered.state_since >= ringing.state_since
    assert events[0].previous_state is CallState.RINGING
    events.clear()
    sim.hold(call, by="2002")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.STATE_CHANGED, T.HELD]
    assert only_call(bob).is_held
    events.clear()
    sim.unhold(call, by="2002")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.STATE_CHANGED, T.RESUMED]
    events.clear()
    sim.hangup(call, by="caller")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.ENDED]
    ended = events[-1]
    assert ended.reason == 16
    assert not ended.reconciled
    assert ended.duration >= 0
    assert bob.calls == {}


async def test_missed_call(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    bob = user(client, "2002")
    call = sim.incoming_call(to="2002")
    await settle(sim)
    sim.hangup(call, by="caller")
    await settle(sim)
    assert of(events, guid=bob.guid) == [T.NEW, T.ENDED, T.MISSED]


async def test_queue_call_abandoned_and_answered(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    sales = client.queue_by_extn("2501")
    assert sales is not None
    call = sim.incoming_call(to="2501", caller="0123")
    await settle(sim)
    assert T.NEW in of(events, Subsystem.QUEUE, sales.guid)
    assert len(sales.waiting_calls) == 1
    sim.hangup(call, by="caller")
    await settle(sim)
    assert of(events, Subsystem.QUEUE, sales.guid)[-2:] == [T.ENDED, T.ABANDONED]
    assert sales.calls == {}
    events.clear()
    call = sim.incoming_call(to="2501", caller="0456")
    await settle(sim)
    sim.answer(call, by="2001")
    await settle(sim)
    queue_events = of(events, Subsystem.QUEUE, sales.guid)
    assert T.ANSWERED in queue_events
    alice = user(client, "2001")
    assert only_call(alice).state is CallState.CONNECTED
    sim.hangup(call, by="2001")
    await settle(sim)
    assert T.ABANDONED not in of(events, Subsystem.QUEUE)
    assert T.MISSED not in of(events, guid=alice.guid)


async def test_park_and_unpark(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    parks: list[dict[str, Call]] = []
    client.add_park_listener(parks.append)
    bob = user(client, "2002")
    call = sim.incoming_call(to="2002")
    sim.answer(call, by="2002")
    await settle(sim)
    sim.park(call, by="2002", slot="12")
    await settle(sim)
    assert "12" in client.parked_calls
    assert parks[-1]["12"].owner is Subsystem.PARK
    assert T.NEW in of(events, Subsystem.PARK)
    reference = await client.unpark_call(bob, "12")
    await settle(sim)
    assert client.parked_calls == {}
    assert T.ENDED in of(events, Subsystem.PARK)
    await wait_for(lambda: any(c.reference_id == reference for c in bob.calls.values()), message="unparked call")


async def test_make_call_and_call_functions(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    bob = user(client, "2002")
    carol = user(client, "2003")
    reference = await client.make_call(bob, "2003", tag="hello")
    await settle(sim)
    mine = only_call(bob)
    assert mine.reference_id == reference
    assert mine.direction is CallDirection.OUTBOUND
    theirs = only_call(carol)
    assert theirs.state is CallState.RINGING
    await client.answer_call(carol, theirs.call_id)
    await settle(sim)
    assert only_call(carol).state is CallState.CONNECTED
    assert only_call(bob).state is CallState.CONNECTED
    await client.hold_call(bob, mine.call_id)
    await settle(sim)
    assert only_call(bob).is_held
    await client.unhold_call(bob.guid, mine.call_id)
    await settle(sim)
    assert only_call(bob).state is CallState.CONNECTED
    await client.set_tag(bob, mine.call_id, "vip")
    await settle(sim)
    assert only_call(bob).tag == "vip"
    await client.set_account_code(bob, mine.call_id, "1000")
    await client.send_dtmf(bob, mine.call_id, "12#")
    await client.set_privacy(bob, mine.call_id, True)
    await client.set_privacy(bob, mine.call_id, False)
    await client.set_recording(bob, mine.call_id, True)
    await settle(sim)
    assert only_call(bob).recording
    await client.set_recording(bob, mine.call_id, False)
    await client.drop_call(bob, mine.call_id)
    await settle(sim)
    assert bob.calls == {}
    assert carol.calls == {}
    assert T.ENDED in of(events, guid=bob.guid)
    second = await client.make_call(bob, "2004")
    assert second != reference


async def test_transfer_to_another_user(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    bob = user(client, "2002")
    alice = user(client, "2001")
    call = sim.incoming_call(to="2002", caller="0777")
    sim.answer(call, by="2002")
    await settle(sim)
    await client.blind_transfer(bob, only_call(bob).call_id, "2003")
    await settle(sim)
    assert bob.calls == {}
    carol = user(client, "2003")
    assert only_call(carol).state is CallState.RINGING
    await client.redirect_call(carol, only_call(carol).call_id, "2001")
    await settle(sim)
    assert carol.calls == {}
    assert only_call(alice).is_ringing
    assert of(events, guid=bob.guid)[-1] in (T.ENDED, T.MISSED)


async def test_assisted_transfer(client: IPOfficeClient, sim: Simulator) -> None:
    events = record(client)
    bob = user(client, "2002")
    call = sim.incoming_call(to="2002", caller="0888")
    sim.answer(call, by="2002")
    await settle(sim)
    first = only_call(bob).call_id
    await client.setup_transfer(bob, first, "2003")
    await settle(sim)
    assert bob.calls[first].state is CallState.ONHOLDPENDTRANSFER
    carol = user(client, "2003")
    await client.answer_call(carol, only_call(carol).call_id)
    await settle(sim)
    await client.complete_transfer(bob, first)
    await settle(sim)
    assert bob.calls == {}
    assert T.TRANSFERRED in of(events, guid=bob.guid)
