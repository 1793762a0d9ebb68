"""A broken or hostile peer cannot hurt the user: each defect held by a peer that does exactly that, the
simulator's fault injection or a small hostile server (tests/hostile.py)."""

from __future__ import annotations

import asyncio
import logging
import unicodedata

import pytest
from aiohttp import web

from custom_components.ipoffice.mtcti3 import (
    TRACE_LOGGER_NAME,
    CallEvent,
    CallEventType,
    CannotConnectError,
    CommandValidationError,
    IPOfficeClient,
    MTCTI3Error,
    ResultCode,
    TLSMode,
)
from custom_components.ipoffice.mtcti3.escape import printable
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator
from tests.hostile import Peer, hostile_server, lines_notify, subscribe_kind, user_notify
from tests.simtools import running

from .conftest import PASSWORD, USERNAME, ClientFactory, make_sim, settle, wait_for

# What a hostile peer puts in its strings: clear the screen, set the window title, a CSI (C1), a bidi override,
# and a new line that starts a forged JSON line of the probe.
HOSTILE = 'x\x1b[2J\x1b]0;pwned\x07\u009b31m\u202egnp.exe\n{"type":"ready","users":0,"queues":0}'


def assert_safe(text: str) -> None:
    """No control or format character (C0, C1, bidi) in ``text`` except the new lines between log records."""
    for line in text.split("\n"):
        bad = [f"U+{ord(c):04X}" for c in line if unicodedata.category(c) in ("Cc", "Cf")]
        assert not bad, (bad, line)


def test_printable_escapes_controls_and_cuts_long_text() -> None:
    assert printable("plain text: ok") == "plain text: ok"
    assert printable("a\x1b[2J\u009b\u202e\n\U000e0001") == "a\\x1b[2J\\x9b\\u202e\\x0a\\U000e0001"
    assert printable("é Ω 中") == "é Ω 中"
    assert printable("x" * 300, 10) == "xxxxxxxxxx...(300 characters)"
    assert printable(ValueError("a\nb"), None) == "a\\x0ab"


async def test_peer_text_is_escaped_in_logs_errors_and_the_trace(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """RequestResponse.additional and SubscribeTerminated.reason reach no log line, error or trace line raw."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger(TRACE_LOGGER_NAME).setLevel(logging.DEBUG)
    try:
        sim.faults.fail_next(ResultCode.MTCTISESS_ERRUNKNOWN, "user", additional=HOSTILE)
        client = await make_client()
        await settle(sim)
        sim.faults.terminate_subscriptions("queue", reason=HOSTILE)
        await settle(sim)
        sim.faults.fail_next(ResultCode.MTCTISESS_NOTALLOWED, "callcontrol", additional=HOSTILE)
        user = client.user_by_extn("2002")
        assert user is not None
        with pytest.raises(MTCTI3Error) as refused:
            await client.make_call(user, "2003")
    finally:
        logging.getLogger(TRACE_LOGGER_NAME).setLevel(logging.NOTSET)
    assert_safe(str(refused.value))
    assert "\\x1b[2J" in str(refused.value)
    assert refused.value.additional == HOSTILE  # the model keeps the peer's text as it is
    messages = [record.getMessage() for record in caplog.records]
    could_not = [m for m in messages if m.startswith("Could not subscribe")]
    terminated = [m for m in messages if "terminated the queue subscription" in m]
    traced = [m for m in messages if "additional" in m or "reason" in m]
    assert could_not
    assert terminated
    assert traced
    for message in messages:
        assert_safe(message)


async def test_a_redirect_of_the_upgrade_is_never_followed(socket_enabled: None) -> None:
    """A 302 to http:// would give a clear-text session past a pinned certificate: refused, naming the redirect."""
    plain_requests: list[str] = []

    async def plain(request: web.Request) -> web.Response:
        plain_requests.append(request.path)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", plain)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    plain_port = int(runner.addresses[0][1])

    async def redirect(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": f"http://127.0.0.1:{plain_port}/tpkt/openapi"})

    try:
        async with hostile_server(route=redirect) as server:
            client = IPOfficeClient(
                "127.0.0.1", USERNAME, PASSWORD, port=server.port, tls=TLSMode.PINNED, fingerprint=server.fingerprint
            )
            with pytest.raises(CannotConnectError, match=r"redirect \(HTTP 302\) to http://127\.0\.0\.1:\d+/tpkt"):
                await client.connect()
            assert server.requests == ["GET /tpkt/openapi"]
    finally:
        await runner.cleanup()
    assert plain_requests == []  # nothing went in clear text


@pytest.mark.parametrize(
    ("host", "username", "password", "field"),
    [
        ("127.0.0.1/x", USERNAME, PASSWORD, "host"),
        ("https://127.0.0.1", USERNAME, PASSWORD, "host"),
        ("127.0.0.1:8443", USERNAME, PASSWORD, "host"),
        ("ipo .example", USERNAME, PASSWORD, "host"),
        ("127.0.0.1", "ha:service", PASSWORD, "username"),
        ("127.0.0.1", "ha\nx", PASSWORD, "username"),
        ("127.0.0.1", USERNAME, "pw\udcff", "password"),  # what $'pw\xff' is in argv
        ("127.0.0.1", USERNAME, "pw€", "password"),
    ],
)
def test_local_input_that_cannot_make_the_request_is_refused(
    host: str, username: str, password: str, field: str
) -> None:
    with pytest.raises(CommandValidationError) as err:
        IPOfficeClient(host, username, password)
    assert err.value.field == field
    assert password not in str(err.value)


@pytest.mark.parametrize("host", ["ipo.example.com", "ipo-1", "192.0.2.10", "::1", "[2001:db8::1]", "bücher.example"])
def test_hosts_that_are_hosts_are_accepted(host: str) -> None:
    IPOfficeClient(host, USERNAME, "pwé")  # a Latin-1 password is sent as such


async def test_users_added_by_lines_while_connecting_are_subscribed(socket_enabled: None) -> None:
    """Lines adds a user while the first users are being subscribed: it is subscribed too."""
    lines_id = 0
    added = False

    async def handler(peer: Peer, message: pb.Message) -> None:
        nonlocal lines_id, added
        kind = subscribe_kind(message)
        if kind == "lines":
            lines_id = message.subscribe.subscribe_id
            await peer.respond(message.subscribe.requestid)
            await peer.notify(lines_id, lines_notify(2))
        elif kind == "user":
            await peer.respond(message.subscribe.requestid)
            if not added:  # before the first user's notify: Lines adds a third user
                added = True
                await peer.notify(lines_id, lines_notify(1, start=2))
                await asyncio.sleep(0.05)
            await peer.notify(message.subscribe.subscribe_id, user_notify())
        elif message.WhichOneof("payload") == "generalcmd":
            await peer.respond(message.generalcmd.requestid)

    async with hostile_server(handler) as server:
        client = IPOfficeClient(
            "127.0.0.1", USERNAME, PASSWORD, port=server.port, tls=TLSMode.INSECURE, request_timeout=2.0
        )
        try:
            await client.connect()
            assert len(client.directory) == 3
            assert {user.synced for user in client.users.values()} == {True}
            assert len(client.users) == 3
        finally:
            await client.disconnect()
    subscribed = [m for m in server.peers[0].received if subscribe_kind(m) == "user"]
    assert len(subscribed) == 3


async def test_only_the_lines_notify_makes_the_lines_subscription(socket_enabled: None) -> None:
    """A notify on the Lines subscription before the real Lines does not make it: the client waits for Lines."""

    async def handler(peer: Peer, message: pb.Message) -> None:
        kind = subscribe_kind(message)
        if kind == "lines":
            sid = message.subscribe.subscribe_id
            await peer.respond(message.subscribe.requestid)
            await peer.notify(sid, user_notify())  # not a Lines notify
            await peer.notify(sid, pb.Notify(refreshwrapper=pb.NotifyRefreshWrapper()))
            await asyncio.sleep(0.2)
            await peer.notify(sid, lines_notify(3))
        elif kind == "user":
            await peer.respond(message.subscribe.requestid)
            await peer.notify(message.subscribe.subscribe_id, user_notify())
        elif message.WhichOneof("payload") == "generalcmd":
            await peer.respond(message.generalcmd.requestid)

    async with hostile_server(handler) as server:
        client = IPOfficeClient(
            "127.0.0.1", USERNAME, PASSWORD, port=server.port, tls=TLSMode.INSECURE, request_timeout=2.0
        )
        try:
            await client.connect()
            assert len(client.users) == 3
        finally:
            await client.disconnect()


async def test_a_connection_lost_while_subscribing_is_a_cannot_connect_error(socket_enabled: None) -> None:
    """connect() raises only what it documents: a peer that hangs up after the upgrade is a CannotConnectError."""

    async def handler(peer: Peer, message: pb.Message) -> None:
        if subscribe_kind(message) == "lines":
            await peer.ws.close()

    async with hostile_server(handler) as server:
        client = IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=server.port, tls=TLSMode.INSECURE)
        with pytest.raises(CannotConnectError, match="while subscribing"):
            await client.connect()


async def test_a_connection_that_dies_after_each_connect_backs_off(make_client: ClientFactory, sim: Simulator) -> None:
    """Each connection dies soon after it is made: the reconnects back off further each time (they used to start
    afresh after each success: a reconnect every second, for ever)."""
    client = await make_client()
    attempts: list[int] = []
    backoff = client.backoff

    def recording(attempt: int) -> float:
        attempts.append(attempt)
        return backoff(attempt)

    client.backoff = recording  # type: ignore[method-assign]
    sim.faults.drop_after = 0.05
    sim.faults.drop_all()
    await wait_for(lambda: len(attempts) >= 5, timeout=15, message="five reconnects")
    sim.faults.drop_after = None
    assert attempts[:5] == [0, 1, 2, 3, 4]


async def test_reconcile_matches_calls_by_gcid_when_ids_are_per_subscription(socket_enabled: None) -> None:
    """Call ids unique only within a subscription: after a reconnect the fresh subscription numbers the calls
    afresh. A call that went on keeps going (no NEW, no ENDED) under its new id; the one that ended while the
    connection was down ends (reconciled)."""
    async with running(make_sim(per_subscription_call_ids=True)) as sim:
        client = IPOfficeClient(
            "127.0.0.1", USERNAME, PASSWORD, port=sim.port, tls=TLSMode.PINNED, fingerprint=sim.fingerprint
        )
        client.reconcile_delay, client.backoff_base, client.backoff_cap = 0.2, 0.05, 0.2
        events: list[CallEvent] = []
        try:
            await client.connect()
            first = sim.incoming_call(to="2002")
            second = sim.internal_call(from_="2003", to="2002")
            sim.answer(second, by="2002")
            await settle(sim)
            bob = client.user_by_extn("2002")
            assert bob is not None
            assert {call.gcid: call_id for call_id, call in bob.calls.items()} == {first.gcid: 1, second.gcid: 2}
            client.add_call_listener(events.append)
            sim.faults.refuse_service = True
            sim.faults.drop_all()
            await wait_for(lambda: not client.connected, message="loss")
            sim.hangup(first, by="caller")
            sim.faults.refuse_service = False
            await wait_for(lambda: client.connected and not client._tasks, timeout=10, message="reconciled")
            await settle(sim)
            assert {call.gcid: call_id for call_id, call in bob.calls.items()} == {second.gcid: 1}
            assert bob.calls[1].answered
            moments = [(e.type, e.call.gcid, e.reconciled) for e in events if e.type in ("new", "ended")]
            assert moments == [(CallEventType.ENDED, first.gcid, True)]
            await client.drop_call(bob, 1)  # the new id reaches the call that went on
            await settle(sim)
            assert not bob.calls
            assert second.gcid not in {call.gcid for call in sim.active_calls}
        finally:
            await client.disconnect()
