"""Connecting: TLS modes, authentication and refusals, subprotocols, sessions, the first model."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from custom_components.ipoffice.mtcti3 import (
    AuthenticationError,
    CannotConnectError,
    ConnectionState,
    FingerprintMismatchError,
    IPOfficeClient,
    LineKind,
    NotConnectedError,
    ProtocolError,
    RequestTimeoutError,
    ResultCode,
    ResultError,
    ServiceMode,
    ServiceRefusedError,
    Subprotocol,
    SubscriptionError,
    TLSError,
    TLSMode,
    TooManyConnectionsError,
    get_server_fingerprint,
)
from custom_components.ipoffice.mtcti3.tls import parse_fingerprint, ssl_argument
from simulator import Simulator
from simulator.tls import generate_certificate, server_context
from tests.simtools import SIM_VERSION

from .conftest import PASSWORD, ClientFactory, make_sim, settle, trust


@pytest.mark.parametrize("subprotocol", [Subprotocol.FRAMED, Subprotocol.UNFRAMED])
async def test_connect_builds_the_model(make_client: ClientFactory, sim: Simulator, subprotocol: Subprotocol) -> None:
    client = await make_client(subprotocol=subprotocol)
    assert client.state is ConnectionState.CONNECTED
    assert client.connected
    assert client.host == "127.0.0.1"
    assert client.port == sim.port
    assert "secret" not in repr(client)
    assert client.system.version == SIM_VERSION
    assert client.system.park_server_available
    assert len(client.users) == 12
    assert len(client.queues) == 3
    assert len(client.directory) == 15
    assert sum(1 for e in client.directory.values() if e.kind is LineKind.QUEUE) == 3
    for guid in client.users:
        assert len(guid) == 32
        assert guid == guid.upper()
    assert all(user.synced for user in client.users.values())
    bob = client.user_by_extn("2002")
    assert bob is not None
    assert bob.name == "Bob Jones"
    assert bob.email == "bob.jones@example.com"
    assert client.user_by_extn("9999") is None
    sales = client.queue_by_extn("2501")
    assert sales is not None
    assert sales.service_mode is ServiceMode.ACTIVE
    assert [m.extn for m in sales.members] == ["2001", "2002", "2003", "2008"]
    assert sales.members[3].disabled
    assert client.queue_by_extn("1") is None
    assert client.find_call(1) is None
    await settle(sim)
    assert client.stats.acks == client.stats.notifies > 0
    assert client.stats.bad_frames == 0
    assert sim.bad_acks == 0
    await client.connect()  # already connected: nothing happens
    await client.disconnect()
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(NotConnectedError):
        await client.set_dnd(bob, True)


async def test_filters_subscribe_only_the_chosen(make_client: ClientFactory, sim: Simulator) -> None:
    bob = sim.model.user("2002").guid.hex()  # lower case on purpose
    client = await make_client(users=[bob], queues=[], park_server=False)
    assert list(client.users) == [bob.upper()]
    assert client.queues == {}
    assert len(client.directory) == 15
    assert client.parked_calls == {}


async def test_wrong_password(make_client: ClientFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as err:
        await make_client(password="wrong-secret-pass")
    assert "401" in str(err.value)
    assert "wrong-secret-pass" not in str(err.value)
    assert "wrong-secret-pass" not in caplog.text


async def test_refused_auth_service_and_503(make_client: ClientFactory, sim: Simulator) -> None:
    sim.faults.refuse_auth = True
    with pytest.raises(AuthenticationError):
        await make_client()
    sim.faults.refuse_auth = False
    sim.faults.refuse_service = True
    with pytest.raises(ServiceRefusedError) as err:
        await make_client()
    assert "403" in str(err.value)
    assert not isinstance(err.value, TooManyConnectionsError)


async def test_eleventh_connection(make_client: ClientFactory) -> None:
    small = make_sim(max_connections=1)
    await small.start()
    try:
        first = await make_client(target=small)
        with pytest.raises(TooManyConnectionsError) as err:
            await make_client(target=small)
        assert "503" in str(err.value)
        assert first.connected
        await first.disconnect()
    finally:
        await small.stop()


async def test_unreachable_port(make_client: ClientFactory) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await make_client(connect=False, port=port)
    with pytest.raises(CannotConnectError) as err:
        await client.connect()
    assert not isinstance(err.value, TLSError)
    assert client.state is ConnectionState.DISCONNECTED
    with pytest.raises(CannotConnectError):
        await get_server_fingerprint("127.0.0.1", port)


async def test_tls_untrusted_names_the_fingerprint(make_client: ClientFactory, sim: Simulator) -> None:
    with pytest.raises(TLSError) as err:
        await make_client(tls=TLSMode.VERIFY)
    assert err.value.fingerprint == sim.fingerprint
    assert sim.fingerprint in str(err.value)
    assert "not trusted" in str(err.value)
    assert await get_server_fingerprint("127.0.0.1", sim.port) == sim.fingerprint


async def test_pinned_and_insecure(make_client: ClientFactory, sim: Simulator) -> None:
    pinned = await make_client(tls=TLSMode.PINNED, fingerprint=sim.fingerprint.lower())
    assert pinned.connected
    insecure = await make_client(tls=TLSMode.INSECURE)
    assert insecure.connected
    wrong = "AA:" * 31 + "AA"
    with pytest.raises(FingerprintMismatchError) as err:
        await make_client(tls=TLSMode.PINNED, fingerprint=wrong)
    assert err.value.fingerprint == sim.fingerprint
    assert sim.fingerprint in str(err.value)


def test_fingerprint_arguments() -> None:
    with pytest.raises(ValueError, match="fingerprint"):
        IPOfficeClient("h", "u", "p", tls=TLSMode.PINNED)
    with pytest.raises(ValueError, match="hexadecimal"):
        parse_fingerprint("zz")
    with pytest.raises(ValueError, match="32 octets"):
        parse_fingerprint("AB:CD")
    assert parse_fingerprint("ab " * 32) == b"\xab" * 32
    assert ssl_argument(TLSMode.INSECURE) is False
    assert ssl_argument(TLSMode.VERIFY) is True


async def test_caller_session_is_not_closed(
    make_client: ClientFactory, sim: Simulator, http: aiohttp.ClientSession
) -> None:
    client = await make_client(session=http)
    await client.disconnect()
    assert not http.closed
    own = await make_client()
    session = own._own_session
    assert session is not None
    await own.disconnect()
    assert session.closed
    await own.connect()  # a closed client connects again with a new session
    assert own.connected


async def test_older_release_without_responses(make_client: ClientFactory) -> None:
    old = make_sim(release="11.0.4.2")
    await old.start()
    try:
        client = await make_client(target=old, request_timeout=0.3)
        assert client.connected
        assert client.system.version is None
        assert len(client.users) == 12
        with pytest.raises(RequestTimeoutError):
            await client.set_dnd(client.user_by_extn("2002") or "", True)
        assert client.stats.request_timeouts >= 1
        await settle(old)
        assert client.user_by_extn("2002").dnd  # type: ignore[union-attr]
        await client.disconnect()
    finally:
        await old.stop()


@pytest.mark.parametrize(
    ("code", "kind"),
    [(ResultCode.MTCTISESS_TOOMANY, ResultError), (ResultCode.MTCTISESS_SUBSCRIPTION_INVALID, SubscriptionError)],
)
async def test_lines_subscription_refused(
    make_client: ClientFactory, sim: Simulator, code: ResultCode, kind: type[ResultError]
) -> None:
    sim.faults.fail_next(code, "lines")
    with pytest.raises(kind) as err:
        await make_client()
    assert err.value.code == code
    assert sim.connection_count == 0 or all(s.closed for s in sim.sessions)


async def test_user_subscription_refused_is_skipped(make_client: ClientFactory, sim: Simulator) -> None:
    sim.faults.fail_next(ResultCode.MTCTISESS_USERNOTFOUND, "user")
    client = await make_client()
    assert len(client.users) == 11
    sim.faults.fail_next(ResultCode.MTCTISESS_ERRUNKNOWN, "queue")
    other = await make_client()
    assert len(other.queues) == 3  # kept: only "not found" drops the wish


async def test_lines_without_answer_times_out(make_client: ClientFactory, sim: Simulator) -> None:
    sim.faults.stall(1.0)
    with pytest.raises(RequestTimeoutError):
        await make_client(request_timeout=0.3)


# --- a server that is not an IP Office ------------------------------------------------------------------------


@pytest.fixture
async def odd_server(socket_enabled: None) -> AsyncIterator[int]:
    """An HTTPS server: /tpkt/openapi upgrades without a subprotocol; other paths are 404 or 500."""

    async def upgrade(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/tpkt/openapi", upgrade)
    cert, key = generate_certificate()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cert, key))
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_wrong_subprotocol_is_a_protocol_error(make_client: ClientFactory, odd_server: int) -> None:
    with pytest.raises(ProtocolError, match="subprotocol"):
        await make_client(port=odd_server, tls=TLSMode.INSECURE)


async def test_http_status_mapping() -> None:
    from custom_components.ipoffice.mtcti3.connection import _http_error

    assert isinstance(_http_error(404, "h", 1), CannotConnectError)
    assert "404" in str(_http_error(404, "h", 1))
    assert "HTTP 500" in str(_http_error(500, "h", 1))
    assert isinstance(_http_error(503, "h", 1), TooManyConnectionsError)


async def test_tls_handshake_failure_without_certificate(make_client: ClientFactory, sim: Simulator) -> None:
    """A plain TCP server that is not TLS: the handshake fails and no fingerprint can be read."""
    import asyncio

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.0 400 not tls\r\n\r\n" * 10)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(CannotConnectError) as err:
            await make_client(port=port, ssl_context=trust(sim))
        if isinstance(err.value, TLSError):
            assert err.value.fingerprint is None
    finally:
        server.close()
        await server.wait_closed()
    assert PASSWORD not in str(err.value)
