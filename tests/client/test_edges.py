"""Edge cases of the client: directory changes while calls run, failed subscriptions, listeners of failures."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from custom_components.ipoffice.mtcti3 import (
    AuthenticationError,
    CallEvent,
    CallEventType,
    CannotConnectError,
    CommandValidationError,
    IPOfficeClient,
    MTCTI3Error,
    ResultError,
    TLSMode,
    User,
)
from custom_components.ipoffice.mtcti3.const import (
    AbsenceMessage,
    CallDirection,
    CallState,
    PhoneState,
    Subsystem,
    UserFeature,
)
from custom_components.ipoffice.mtcti3.errors import ResultCode
from custom_components.ipoffice.mtcti3.models import Absence, Call
from simulator import Simulator
from tests.simtools import needs_version_request

from .conftest import ClientFactory, settle, wait_for


def phone_state(owner: User) -> PhoneState:
    return owner.phone_state  # read afresh each time (a property that calls change)


def user(client: IPOfficeClient, extn: str) -> User:
    found = client.user_by_extn(extn)
    assert found is not None
    return found


async def test_removed_user_ends_its_calls(client: IPOfficeClient, sim: Simulator) -> None:
    events: list[CallEvent] = []
    client.add_call_listener(events.append)
    bob = user(client, "2002")
    sim.incoming_call(to="2002")
    await settle(sim)
    assert len(bob.calls) == 1
    call_id = next(iter(bob.calls))
    sim.remove_user("2002")
    await wait_for(lambda: client.user_by_extn("2002") is None, message="user removed")
    ended = [e for e in events if e.type is CallEventType.ENDED and e.call.call_id == call_id]
    assert len(ended) == 1
    assert ended[0].call.owner_guid == bob.guid
    assert client.find_call(call_id) is None


async def test_renamed_user_is_emitted(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    seen: list[str] = []
    client.add_user_listener(lambda u: seen.append(u.name), bob.guid)
    sim.change_user("2002", name="Robert")
    await wait_for(lambda: bob.name == "Robert", message="rename")
    assert "Robert" in seen
    assert client.directory[bob.guid].name == "Robert"


async def test_subscribe_unknown_user_fails_and_forgets_it(client: IPOfficeClient) -> None:
    guid = "00" * 16
    with pytest.raises(ResultError) as caught:
        await client.subscribe_user(guid)
    assert caught.value.code is ResultCode.MTCTISESS_USERNOTFOUND
    assert guid not in client.users


async def test_failed_presence_subscription_leaves_no_handle(client: IPOfficeClient, sim: Simulator) -> None:
    sim.faults.fail_next(int(ResultCode.MTCTISESS_NOTFOUND), "subscribe")
    with pytest.raises(ResultError):
        await client.subscribe_presence(["2002"])
    # the next subscription works, and the failed one left no handle behind that could be updated
    handle = await client.subscribe_presence(["2002"])
    with pytest.raises(CommandValidationError):
        await client.update_presence(handle - 1, add=["2003"])
    await client.update_presence(handle, add=["2003"])


async def test_failure_listener_hears_refused_reconnects(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    failures: list[MTCTI3Error] = []
    remove = client.add_failure_listener(failures.append)
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await wait_for(lambda: bool(failures), message="a failed reconnect reported")
    assert isinstance(failures[0], AuthenticationError)
    assert not client.connected
    remove()
    sim.faults.refuse_auth = False
    await wait_for(lambda: client.connected, message="reconnect once the password is accepted")


def test_result_error_names_code_and_detail() -> None:
    err = ResultError(ResultCode.MTCTISESS_NOTFOUND, "queue Sales")
    assert str(err).endswith(": queue Sales")
    assert f"({ResultCode.MTCTISESS_NOTFOUND.name}, {int(ResultCode.MTCTISESS_NOTFOUND)})" in str(err)
    unknown = ResultError(999)
    assert unknown.name == "MTCTISESS_999"
    assert "not described" in str(unknown)


def test_absence_display_of_an_unknown_message_type() -> None:
    assert Absence(message=AbsenceMessage.CUSTOM, text="Back at 2").display == "Back at 2"
    assert Absence(message=250, text="Gone fishing").display == "Gone fishing"


def test_user_without_valid_features_can_everything() -> None:
    legacy = User(guid="ab" * 16, extn="2001", name="Old")
    assert legacy.can(UserFeature.EC500)
    legacy.features = UserFeature.VALID | UserFeature.ABSENCE
    assert legacy.can(UserFeature.ABSENCE)
    assert not legacy.can(UserFeature.EC500)


async def test_phone_state_follows_an_outgoing_call(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    assert phone_state(bob) is PhoneState.IDLE
    call = sim.outgoing_call(from_="2002", to="01707123456")
    await settle(sim)
    assert phone_state(bob) is PhoneState.DIALLING
    mine = next(iter(bob.calls.values()))
    assert mine.other_party is not None
    assert mine.other_party.number == "01707123456"
    sim.answer(call)
    await settle(sim)
    assert phone_state(bob) is PhoneState.CONNECTED
    sim.hangup(call, by="2002")
    await settle(sim)
    assert phone_state(bob) is PhoneState.IDLE


def test_phone_state_after_call_work() -> None:
    agent = User(guid="cd" * 16, extn="2005", name="Agent")
    agent.calls[7] = Call(call_id=7, owner=Subsystem.USER, owner_guid=agent.guid, state=CallState.AFTERCALLWORK)
    assert phone_state(agent) is PhoneState.ACW
    agent.calls[8] = Call(call_id=8, owner=Subsystem.USER, owner_guid=agent.guid, state=CallState.RINGING)
    assert phone_state(agent) is PhoneState.RINGING


async def test_connect_to_a_silent_server_times_out(socket_enabled: None) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept the TCP connection, never answer the TLS handshake

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = IPOfficeClient("127.0.0.1", "ha", "pw", port=port, tls=TLSMode.INSECURE, reconnect=False)
    client.connect_timeout = 0.3
    try:
        with pytest.raises(CannotConnectError, match=rf"cannot connect to 127\.0\.0\.1:{port}: timed out"):
            await client.connect()
        assert accepted
        assert not client.connected
    finally:
        await client.disconnect()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_queue_call_command_by_guid_string(client: IPOfficeClient, sim: Simulator) -> None:
    sales = client.queue_by_extn("2501")
    assert sales is not None
    sim.incoming_call(to="2501")
    await settle(sim)
    call = next(iter(sales.calls.values()))
    await client.set_tag(sales.guid.lower(), call.call_id, "vip")
    await settle(sim)
    assert sales.calls[call.call_id].tag == "vip"
    with pytest.raises(CommandValidationError, match="owner"):
        await client.set_tag("11" * 16, call.call_id, "nobody")


@needs_version_request
async def test_refused_version_request_does_not_stop_the_connection(make_client: ClientFactory, sim: Simulator) -> None:
    sim.faults.fail_next(int(ResultCode.MTCTISESS_NOTFOUND), "generalcmd")
    client = await make_client()
    assert client.connected
    assert client.system.version is None
    assert client.user_by_extn("2002") is not None
    assert await client.get_version()
    assert client.system.version


async def test_refused_refresh_makes_the_subscription_again(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(subscription_timeout=2, users=[], queues=[], park_server=False)
    sim.faults.fail_next(100, "refresh")
    await wait_for(lambda: client.stats.resubscribes == 1, timeout=5, message="re-subscription")
    assert any("Refresh of the lines subscription" in r.getMessage() for r in caplog.records)
    sim.add_user(extn="2040", name="After Refresh")
    await wait_for(lambda: any(e.extn == "2040" for e in client.directory.values()), message="directory still pushed")
    assert client.connected


def test_other_party_of_an_outbound_call_is_the_called_number() -> None:
    call = Call(
        call_id=1,
        owner=Subsystem.USER,
        owner_guid="ab" * 16,
        state=CallState.DIALLED,
        direction=CallDirection.OUTBOUND,
        called_party="01707123456",
    )
    assert call.other_party is not None
    assert call.other_party.number == "01707123456"
    assert Call(1, Subsystem.USER, "ab" * 16, CallState.DIALLED, CallDirection.OUTBOUND).other_party is None


async def test_a_failing_listener_does_not_stop_the_others(
    client: IPOfficeClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Call, user and connection listeners that raise are logged, each time; one that returns something is ignored
    (not logged); the others still hear."""
    heard: list[str] = []
    raised: Counter[str] = Counter()

    def failing(kind: str) -> Callable[[object], None]:
        def fail(_value: object) -> None:
            raised[kind] += 1
            raise RuntimeError(f"{kind} listener bug")

        return fail

    def returns(_value: object) -> int:
        return 1  # ignored

    failing_listeners: dict[str, Callable[[object], None]] = {}
    for kind, add in (
        ("call", client.add_call_listener),
        ("user", client.add_user_listener),
        ("connection", client.add_connection_listener),
    ):
        failing_listeners[kind] = failing(kind)
        add(failing_listeners[kind])
        add(returns)  # type: ignore[arg-type]
    client.add_call_listener(lambda event: heard.append(f"call {event.type}"))
    client.add_user_listener(lambda user: heard.append(f"user {user.extn}"))
    client.add_connection_listener(lambda connected: heard.append(f"connected {connected}"))
    call = sim.incoming_call(to="2001")
    await settle(sim)
    sim.hangup(call, by="caller")
    await settle(sim)
    assert "call new" in heard
    assert "user 2001" in heard
    sim.faults.drop_all()
    await wait_for(lambda: "connected False" in heard, message="connection listeners told")
    failed = [record for record in caplog.records if record.msg == "MTCTI-3 listener %r failed"]
    logged = Counter(kind for record in failed for kind, fail in failing_listeners.items() if record.args == (fail,))
    assert set(raised) == {"call", "user", "connection"}
    assert logged == raised  # every failure, of every kind, logged once
    assert len(failed) == raised.total()
    assert all(record.exc_info and "listener bug" in str(record.exc_info[1]) for record in failed)
    assert not [record for record in caplog.records if isinstance(record.args, tuple) and returns in record.args]
