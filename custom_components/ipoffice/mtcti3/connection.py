"""The websocket transport of MTCTI-3: handshake and error mapping, request ids, NotifyAck, heartbeat, tracing.

One :class:`Connection` is one websocket. It owns a reader task that decodes every frame once, answers a Notify
that carries a notify_id with its NotifyAck *before* handing the message on, resolves RequestResponse and
GeneralData futures, and skips (logs and counts) whatever does not decode. When the socket dies every pending
request fails with :class:`NotConnectedError` and the owner's ``on_lost`` callback runs once.

The spec wants one NotifyAck per notify (IP Office sends a subscription's next notify once the last is acked).
On an aiohttp websocket the acks of the notifies handled in one event loop iteration (all that one read delivered)
are written together, as that many websocket frames in one write to the transport (one TLS record and one
``socket.send`` instead of one each), at the end of the iteration; any other message this connection sends first
writes the acks still waiting, so on the wire each ack still comes before anything sent after its notify.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import logging
import random
import re
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, fields
from typing import Any, Final

import aiohttp
from google.protobuf import text_format
from google.protobuf.message import DecodeError

from .codec import (
    FRAME_HEADER,
    EmptyMessageError,
    FrameError,
    Subprotocol,
    decode_frame,
    encode_message,
    encode_notify_ack,
)
from .const import PATH
from .drift import SchemaDrift, UnknownField, describe
from .errors import (
    AuthenticationError,
    CannotConnectError,
    CommandValidationError,
    FingerprintMismatchError,
    NotConnectedError,
    ProtocolError,
    RequestTimeoutError,
    ServiceRefusedError,
    TLSError,
    TooManyConnectionsError,
    error_for_result,
)
from .escape import printable
from .proto import ipo_mtcti3_pb2 as pb
from .tls import format_fingerprint, get_server_fingerprint

_LOGGER = logging.getLogger(__name__)
TRACE_LOGGER_NAME: Final = "custom_components.ipoffice.mtcti3.trace"
_TRACE = logging.getLogger(TRACE_LOGGER_NAME)
_Message: Final = pb.Message


def _aiohttp_mask() -> Callable[[bytes, bytearray], None] | None:
    """aiohttp's websocket masking (its C helper, what its own frame writer uses), or None."""
    try:
        from aiohttp._websocket.helpers import websocket_mask  # noqa: PLC0415 - a private module: checked once
    except ImportError:  # pragma: no cover - an aiohttp without it: acks go through send_bytes
        return None
    return websocket_mask


_MASK: Final = _aiohttp_mask()

MAX_REQUEST_ID: Final = 0x7FFFFFFF  # requestid is an int32; 0 means "no response wanted"
MAX_MESSAGE_SIZE: Final = 4 * 1024 * 1024
"""The largest websocket message accepted (a larger one ends the connection, as aiohttp refuses it): a Lines notify
of 20,000 users (the most the client accepts) is about 1 MiB. Parsing the worst message of this size (about two
million empty entries) takes about 0.5 s and 135 MB (see SECURITY.md)."""
CLOSE_TIMEOUT: Final = 3.0
WS_CLOSE_TIMEOUT: Final = 2.0  # how long a close handshake may take


@dataclass(slots=True)
class ClientStats:
    """Counters of one client (all connections it made)."""

    frames_in: int = 0
    frames_out: int = 0
    bad_frames: int = 0
    notifies: int = 0
    acks: int = 0
    reconnects: int = 0
    unknown_values: int = 0
    resubscribes: int = 0
    request_timeouts: int = 0
    unknown_fields: SchemaDrift = field(default_factory=SchemaDrift)
    """The fields received that this schema does not know, per message type and field number."""

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (for diagnostics); ``unknown_fields`` as ``{"CallInfo": {90: 12}}``."""
        counters: dict[str, Any] = {item.name: getattr(self, item.name) for item in fields(self)}
        counters["unknown_fields"] = self.unknown_fields.as_dict()
        return counters


def subscribe_id_of(message: pb.Message) -> int:
    """The subscribe_id a message belongs to (0 when it has none), for the trace."""
    kind = message.WhichOneof("payload")
    if kind in {"subscribe", "subscribecmd", "subscribeend", "subscribeterminated", "notify", "notifyack"}:
        return int(getattr(message, kind).subscribe_id)
    return 0


_TRACE_CLOCK: list[float] = []  # [start, last]: monotonic times of the first and the latest traced message


def trace(direction: str, message: pb.Message, peer: str = "", unknown: list[UnknownField] | None = None) -> None:
    """Log ``message`` in protobuf text format when the trace logger is enabled for DEBUG.

    Each line carries ``t=`` seconds since the first traced message, ``+`` the seconds since the previous one, the
    direction, the IP Office (``host:port``: a resilient pair has two connections) and the subscription
    (SysMonitor's view). Only messages are traced, never the websocket handshake
    that carries the Authorization header; authorization codes, hot-desk login codes and MeetMe PINs show as
    ``***``, guids, gcids and UCIDs in hex. The fields of a received message that this schema does not know
    (``unknown``) follow, after ``unknown fields:``, as ``CallInfo.90=1`` (numbers and hex).
    """
    if _TRACE.isEnabledFor(logging.DEBUG):
        now = time.monotonic()
        if not _TRACE_CLOCK:
            _TRACE_CLOCK[:] = [now, now]
        start, last = _TRACE_CLOCK
        _TRACE_CLOCK[1] = now
        _TRACE.debug(
            "t=%.3f +%.3fs %s %s sub=%d %s",
            now - start,
            now - last,
            direction,
            peer or "-",
            subscribe_id_of(message),
            # protobuf's text format prints a string's characters as they are (C1 controls, bidi overrides)
            printable(text_format.MessageToString(message, as_one_line=True, message_formatter=_trace_format), None)
            + (f" unknown fields: {describe(unknown)}" if unknown else ""),
        )


REDACTED: Final = "***"
_HEX_FIELDS: Final = ("guid", "gcid", "ucid")
_SET_AUTH_CODE: Final = pb.CallFunction.Action.Value("SetAuthCode")
_PIN: Final = re.compile(r"MODEFROMPIN\((?!\*\*\*\))[^)]*\)")
_PIN_REDACTED: Final = f"MODEFROMPIN({REDACTED})"


def _trace_format(message: Any, _indent: int, _as_one_line: bool) -> str | None:
    """The trace text of one (sub)message when it differs from protobuf's: authorization and login codes redacted,
    guids, gcids and UCIDs in hex. None: protobuf's own text. The message itself is never changed (a copy is
    formatted)."""
    descriptor = message.DESCRIPTOR
    redact = ""  # the field to show as ``redacted``
    redacted = REDACTED
    if descriptor.name == "AdvancedMakeCall" and message.authcode not in ("", REDACTED):
        redact = "authcode"
    elif descriptor.name == "CallFunction" and message.action == _SET_AUTH_CODE and message.arg1 not in ("", REDACTED):
        redact = "arg1"
    elif descriptor.name == "UpdateUserLoginExtn" and message.password not in ("", REDACTED):
        redact = "password"  # a hot-desk login code
    elif descriptor.name == "CallFunction" and (pinned := _PIN.sub(_PIN_REDACTED, message.arg1)) != message.arg1:
        redact, redacted = "arg1", pinned  # a MeetMe conference's PIN ("/type/destination;MODEFROMPIN(pin)")
    hexed = [
        (name, value.hex().upper())
        for name in _HEX_FIELDS
        if name in descriptor.fields_by_name and isinstance(value := getattr(message, name), bytes) and value
    ]
    if not redact and not hexed:
        return None
    copy = type(message)()
    copy.CopyFrom(message)
    if redact:
        setattr(copy, redact, redacted)
    for name, _ in hexed:
        copy.ClearField(name)
    body = text_format.MessageToString(copy, as_one_line=True, message_formatter=_trace_format)
    return " ".join([*(f"{name}: {value}" for name, value in hexed), body]).strip()


class _FrameWriter:
    """Writes several small binary websocket frames with one write to the websocket's transport.

    aiohttp writes one frame per ``send_bytes`` (one TLS record and one ``socket.send`` each); this writes the
    NotifyAcks of one loop iteration together. It reaches into aiohttp's frame writer (``_writer``: its transport,
    whether it masks and whether it compresses): :meth:`of` returns None when that is not there as expected (a
    stand-in socket, another aiohttp), and the connection then sends each ack through ``send_bytes``.
    """

    MAX_PAYLOAD: Final = 125  # one length octet; a NotifyAck is at most 28

    def __init__(self, transport: asyncio.WriteTransport, mask: Callable[[bytes, bytearray], None]) -> None:
        self._transport = transport
        self._mask = mask
        # RFC 6455 wants a fresh masking key per frame; not a secret (aiohttp masks with random.Random too)
        self._random_bits = random.Random().getrandbits  # noqa: S311

    @classmethod
    def of(cls, ws: object) -> _FrameWriter | None:
        """The writer of an aiohttp client websocket (masked, not compressed), or None."""
        writer = getattr(ws, "_writer", None)
        transport = getattr(writer, "transport", None)
        if getattr(writer, "use_mask", None) is not True or getattr(writer, "compress", None) != 0:
            return None
        if not isinstance(transport, asyncio.WriteTransport) or _MASK is None:
            return None
        return cls(transport, _MASK)

    def write(self, payloads: list[bytes]) -> None:
        """Write each payload as one final, masked binary frame (RFC 6455 5.2), all in one transport write.

        Each frame: FIN + opcode 2, MASK + length, a fresh 32-bit key, the payload masked by aiohttp's own
        ``websocket_mask`` (its C helper, what its writer uses).
        """
        if self._transport.is_closing():
            raise ConnectionResetError("the websocket's transport is closing")
        random_bits, mask = self._random_bits, self._mask
        out = bytearray()
        for payload in payloads:
            if len(payload) > self.MAX_PAYLOAD:
                raise ValueError(f"a frame of {len(payload)} octets is too long to batch")
            key = random_bits(32).to_bytes(4)
            masked = bytearray(payload)
            mask(key, masked)
            out += _FRAME_HEADS[len(payload)]
            out += key
            out += masked
        self._transport.write(bytes(out))


class _RedirectRefusedError(Exception):
    """The websocket upgrade was answered with a redirect (refused by :func:`_refuse_redirect`)."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(status, location)
        self.status = status
        self.location = location


_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


async def _refuse_redirect(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """aiohttp client middleware: a redirect answer ends the request instead of being followed."""
    response = await handler(request)
    if response.status in _REDIRECTS:
        location = response.headers.get("Location", "")
        response.close()
        raise _RedirectRefusedError(response.status, location)
    return response


_FRAME_HEADS: Final = tuple(bytes((0x82, 0x80 | size)) for size in range(126))
"""Per payload length: the first two octets of a final, masked binary frame."""


def _http_error(status: int, host: str, port: int) -> Exception:
    """The typed error of a refused websocket upgrade."""
    if status == 401:
        return AuthenticationError(
            f"authentication failed: the service user name or password was refused (HTTP 401) by {host}:{port}"
        )
    if status == 503:
        return TooManyConnectionsError(
            f"IP Office {host}:{port} already has the maximum of 10 MTCTI-3 connections (HTTP 503)"
        )
    if status == 403:
        return ServiceRefusedError(
            f"IP Office {host}:{port} refused the MTCTI-3 service: not licensed (CTI Link Pro), disabled or "
            "forbidden for this service user (HTTP 403)"
        )
    if status == 404:
        return CannotConnectError(f"{host}:{port} offers no MTCTI-3 service at {PATH} (HTTP 404)")
    return CannotConnectError(f"{host}:{port} refused the websocket upgrade (HTTP {status})")


_HOST_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def url_host(host: str) -> str:
    """``host`` as the host of the websocket URL: a host name, an IPv4 address or an IPv6 address (bracketed).

    Raises :class:`CommandValidationError` (field "host") for anything else: a scheme, a port, a path, a user, a
    space or a control character would otherwise make another URL than the one meant ("127.0.0.1/x" would reach
    port 443 of 127.0.0.1 whatever the port).
    """
    text = host.strip()
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        ascii_name = text.encode("idna").decode("ascii") if text and not text.isascii() else text
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.removesuffix(".").split(".")
    if not ascii_name or len(ascii_name) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise CommandValidationError(
            "host",
            "a host name or an IP address, without a scheme, port, path or spaces",
            printable(host, 80),
        )
    return ascii_name


def check_port(port: int) -> int:
    """``port`` when it is a TCP port (1 to 65535); :class:`CommandValidationError` (field "port") else."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise CommandValidationError("port", "a TCP port, 1 to 65535", port)
    return port


def authorization(username: str, password: str) -> str:
    """The HTTP Basic ``Authorization`` header of the service user (RFC 7617, in Latin-1 as aiohttp encodes it).

    Raises :class:`CommandValidationError` naming the field (never showing the password): a user name that is empty
    or holds a colon (Basic authentication cannot carry one) or a control character, a password that is empty, and
    either with a character that Latin-1 cannot encode.
    """
    if not username or ":" in username or not username.isprintable():
        raise CommandValidationError(
            "username", "1 or more printable characters without a colon (HTTP Basic authentication)"
        )
    if not password:
        raise CommandValidationError("password", "not empty")
    for name, value in (("username", username), ("password", password)):
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise CommandValidationError(
                name, "Latin-1 characters only (HTTP Basic authentication cannot send the others)"
            ) from None
    # What aiohttp.encode_basic_auth writes, which aiohttp 3.13 (Home Assistant 2026.3-2026.6) lacks.
    return "Basic " + base64.b64encode(f"{username}:{password}".encode("latin-1")).decode("ascii")


class Connection:
    """One open MTCTI-3 websocket."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        subprotocol: Subprotocol,
        stats: ClientStats,
        on_message: Callable[[pb.Message], None],
        on_lost: Callable[[str], None],
        heartbeat: float | None = None,
        on_notify: Callable[[pb.Notify], None] | None = None,
        peer: str = "",
    ) -> None:
        """Wrap an open websocket; call :meth:`start` to begin reading (and pinging every ``heartbeat`` s).

        Notifies go to ``on_notify`` (after their NotifyAck) when given, else, as every other message that is not a
        response, to ``on_message``.
        """
        self._ws = ws
        self.peer = peer  # host:port, for the trace
        self._heartbeat = heartbeat
        self._pinger: asyncio.Task[None] | None = None
        self._last_rx = 0.0
        self._dead_reason = ""
        self.subprotocol = subprotocol
        self.stats = stats
        self._on_message = on_message
        self._on_notify = on_notify
        self._on_lost = on_lost
        self._pending: dict[int, asyncio.Future[pb.RequestResponse]] = {}
        self._data: dict[int, asyncio.Future[pb.GeneralData]] = {}
        self._next_id = 1
        self._frames = _FrameWriter.of(ws)  # None: each NotifyAck is sent on its own
        self._acks: list[bytes] = []  # NotifyAcks to write at the end of this loop iteration
        self._header = FRAME_HEADER if subprotocol is Subprotocol.FRAMED else b""
        self._header_size = len(self._header)
        self._reader: asyncio.Task[None] | None = None
        self._upgrade_session: aiohttp.ClientSession | None = None  # the session of open(), closed with this
        self._closing = False
        self.closed = False

    # --- opening ---------------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        session: aiohttp.ClientSession,
        host: str,
        port: int,
        username: str,
        password: str,
        *,
        ssl_arg: ssl.SSLContext | aiohttp.Fingerprint | bool,
        subprotocol: Subprotocol,
        heartbeat: float | None,
        connect_timeout: float,
        stats: ClientStats,
        on_message: Callable[[pb.Message], None],
        on_lost: Callable[[str], None],
        on_notify: Callable[[pb.Notify], None] | None = None,
    ) -> Connection:
        """Open the websocket and map every failure to a typed error (never showing the password).

        A redirect is never followed: it could lead off TLS (a ``302`` to ``http://``) or to another server, past a
        pinned certificate. The upgrade goes through a session of its own that shares ``session``'s connector (its
        connection pool) and refuses any 3xx answer before aiohttp's ``ws_connect`` would follow it.
        """
        url = f"wss://{url_host(host)}:{check_port(port)}{PATH}"
        header = authorization(username, password)
        upgrade = aiohttp.ClientSession(
            connector=session.connector,
            connector_owner=False,
            headers=session.headers,
            timeout=session.timeout,
            middlewares=(_refuse_redirect,),
        )
        try:
            ws = await cls._upgrade(upgrade, url, header, host, port, ssl_arg, subprotocol, connect_timeout)
        except BaseException:
            await upgrade.close()
            raise
        conn = cls(ws, subprotocol, stats, on_message, on_lost, heartbeat or None, on_notify, f"{host}:{port}")
        conn._upgrade_session = upgrade
        return conn

    @staticmethod
    async def _upgrade(
        session: aiohttp.ClientSession,
        url: str,
        header: str,
        host: str,
        port: int,
        ssl_arg: ssl.SSLContext | aiohttp.Fingerprint | bool,
        subprotocol: Subprotocol,
        connect_timeout: float,
    ) -> aiohttp.ClientWebSocketResponse:
        """The websocket upgrade itself, every failure mapped to a typed error."""
        try:
            async with asyncio.timeout(connect_timeout):
                ws = await session.ws_connect(
                    url,
                    headers={"Authorization": header},
                    protocols=(subprotocol.value,),
                    ssl=ssl_arg,
                    autoping=False,  # pings and pongs are handled here: see _ping_loop
                    max_msg_size=MAX_MESSAGE_SIZE,
                    timeout=aiohttp.ClientWSTimeout(ws_close=WS_CLOSE_TIMEOUT),
                )
        except _RedirectRefusedError as err:
            raise CannotConnectError(
                f"{host}:{port} answered the websocket upgrade with a redirect (HTTP {err.status}) to "
                f"{printable(err.location, 120) or 'nowhere'}; a redirect is never followed (it could lead off TLS "
                "or past the trusted certificate): give the address the MTCTI-3 service answers on"
            ) from None
        except aiohttp.WSServerHandshakeError as err:
            raise _http_error(err.status, host, port) from None
        except aiohttp.ServerFingerprintMismatch as err:
            got = format_fingerprint(err.got)
            raise FingerprintMismatchError(
                f"TLS: the certificate of {host}:{port} has SHA-256 fingerprint {got}, not the pinned "
                f"{format_fingerprint(err.expected)}",
                fingerprint=got,
            ) from None
        except (aiohttp.ClientSSLError, ssl.SSLError) as err:
            fingerprint: str | None
            try:
                fingerprint = await get_server_fingerprint(host, port, connect_timeout=connect_timeout)
            except CannotConnectError:
                fingerprint = None
            verified = isinstance(err, aiohttp.ClientConnectorCertificateError) or "CERTIFICATE_VERIFY" in str(err)
            reason = "certificate not trusted" if verified else "handshake failed"
            raise TLSError(
                f"TLS: {reason} by {host}:{port}"
                + (f"; SHA-256 fingerprint {fingerprint}" if fingerprint else "")
                + f" ({_ssl_reason(err)})",
                fingerprint=fingerprint,
            ) from None
        except TimeoutError:
            raise CannotConnectError(f"cannot connect to {host}:{port}: timed out") from None
        except (aiohttp.ClientError, OSError) as err:
            raise CannotConnectError(f"cannot connect to {host}:{port}: {_os_reason(err)}") from None
        if ws.protocol != subprotocol.value:
            await ws.close()
            raise ProtocolError(
                f"{host}:{port} answered with websocket subprotocol '{printable(ws.protocol, 64)}', "
                f"not {subprotocol.value!r}"
            )
        return ws

    def start(self) -> None:
        """Start the reader task (and the heartbeat)."""
        loop = asyncio.get_running_loop()
        self._last_rx = loop.time()
        self._reader = loop.create_task(self._read_loop(), name="mtcti3-reader")
        if self._heartbeat:
            self._pinger = loop.create_task(self._ping_loop(self._heartbeat), name="mtcti3-heartbeat")

    async def _ping_loop(self, interval: float) -> None:
        """Ping when nothing arrived for ``interval`` s; no frame within interval/2 after it = a dead socket."""
        loop = asyncio.get_running_loop()
        while not self.closed:
            await asyncio.sleep(max(0.0, self._last_rx + interval - loop.time()))
            if loop.time() - self._last_rx < interval:
                continue
            sent = loop.time()
            with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
                await self._ws.ping()  # a closed socket: the reader notices
            await asyncio.sleep(interval / 2)
            if self._last_rx < sent and not self.closed:
                self._dead_reason = f"no answer to a websocket ping within {interval / 2:g} s"
                if self._reader is not None:
                    self._reader.cancel()
                return

    # --- sending ---------------------------------------------------------------------------------------------

    def new_request_id(self) -> int:
        """A request id unique among the pending ones: int32 from 1, wrapping back to 1 after 2**31-1."""
        while True:
            rid = self._next_id
            self._next_id = 1 if rid >= MAX_REQUEST_ID else rid + 1
            if rid not in self._pending and rid not in self._data:
                return rid

    async def send(self, message: pb.Message) -> None:
        """Send one message (NotConnectedError when the socket is gone)."""
        if self.closed or self._ws.closed:
            raise NotConnectedError("the MTCTI-3 connection is closed")
        if self._acks:
            self._flush_acks()  # the acks of the notifies handled before this message go first
        trace("send", message, self.peer)
        try:
            await self._ws.send_bytes(encode_message(message, self.subprotocol))
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as err:
            raise NotConnectedError(f"the MTCTI-3 connection is closed: {err}") from None
        self.stats.frames_out += 1

    async def start_request(self, message: pb.Message, requestid: int) -> asyncio.Future[pb.RequestResponse]:
        """Send a message carrying ``requestid``; return the future of its RequestResponse."""
        future: asyncio.Future[pb.RequestResponse] = asyncio.get_running_loop().create_future()
        self._pending[requestid] = future
        try:
            await self.send(message)
        except NotConnectedError:
            self._pending.pop(requestid, None)
            raise
        return future

    async def wait_response(self, future: asyncio.Future[pb.RequestResponse], requestid: int, within: float) -> None:
        """Await the response of a started request; raise the named error for a non-zero result."""
        try:
            async with asyncio.timeout(within):
                response = await future
        except TimeoutError:
            self.stats.request_timeouts += 1
            raise RequestTimeoutError(f"no RequestResponse to request {requestid} within {within:g} s") from None
        finally:
            self._pending.pop(requestid, None)
        if response.result:
            raise error_for_result(response.result, response.additional)

    async def request(self, message: pb.Message, requestid: int, within: float) -> None:
        """Send a request and await its RequestResponse."""
        future = await self.start_request(message, requestid)
        await self.wait_response(future, requestid, within)

    async def request_data(self, message: pb.Message, requestid: int, within: float) -> pb.GeneralData | None:
        """Send a GeneralCmd and return the GeneralData matched by responseid (None: a RequestResponse came first,
        with no data).

        Whichever comes first answers: the spec's examples show a GeneralData alone (getversioninfo), so the data
        does not wait for a RequestResponse that may never come.
        """
        data: asyncio.Future[pb.GeneralData] = asyncio.get_running_loop().create_future()
        self._data[requestid] = data
        try:
            response = await self.start_request(message, requestid)
            try:
                async with asyncio.timeout(within):
                    await asyncio.wait((response, data), return_when=asyncio.FIRST_COMPLETED)
            except TimeoutError:
                self.stats.request_timeouts += 1
                raise RequestTimeoutError(f"no answer to request {requestid} within {within:g} s") from None
            finally:
                self._pending.pop(requestid, None)
            if data.done() and not data.cancelled():
                return data.result()
            if (result := response.result()).result:
                raise error_for_result(result.result, result.additional)
            return None
        finally:
            self._data.pop(requestid, None)

    # --- receiving -------------------------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        reason = "closed by IP Office"
        try:
            loop = asyncio.get_running_loop()
            async for frame in self._ws:
                self._last_rx = loop.time()
                if frame.type is aiohttp.WSMsgType.BINARY:
                    if (unbatched_ack := self._receive(frame.data)) is not None:
                        await unbatched_ack
                elif frame.type is aiohttp.WSMsgType.PING:
                    with contextlib.suppress(ConnectionError, RuntimeError, aiohttp.ClientError):
                        await self._ws.pong(frame.data)
                elif frame.type is aiohttp.WSMsgType.TEXT:
                    self.stats.frames_in += 1
                    self.stats.bad_frames += 1
                    _LOGGER.warning(
                        "Skipped a websocket text frame of %d characters; MTCTI-3 sends binary frames only",
                        len(frame.data),
                    )
                elif frame.type is aiohttp.WSMsgType.ERROR:  # pragma: no cover - aiohttp ends the iteration
                    reason = f"websocket error: {frame.data}"
                    break
            exc = self._ws.exception()
            if exc is not None:
                reason = f"websocket error: {printable(exc or type(exc).__name__)}"
        except asyncio.CancelledError:
            if not self._dead_reason:
                raise
            reason = self._dead_reason
        except Exception as err:  # pragma: no cover - defensive: the loop must always report the loss
            reason = f"reader failed: {err!r}"
            _LOGGER.exception("MTCTI-3 reader failed")
        finally:
            self._lost(reason)

    async def _handle_frame(self, data: bytes) -> None:
        """Handle one binary websocket message (what the reader does with each)."""
        if (unbatched_ack := self._receive(data)) is not None:
            await unbatched_ack

    def _receive(self, data: bytes) -> Coroutine[Any, Any, None] | None:
        """Handle one binary websocket message, synchronously where the NotifyAck is batched.

        Returns a coroutine to await when a notify's ack has to be sent on its own first (no frame writer): it
        sends the ack, then hands the notify on. None: the frame is handled. This runs for every frame, so the
        common case (a well-formed framed message) is decoded here; anything else goes through ``decode_frame``,
        which names what is wrong.
        """
        stats = self.stats
        stats.frames_in += 1
        message = _Message()
        kind: str | None = None
        if data[: self._header_size] == self._header:
            try:
                message.ParseFromString(data[self._header_size :])
            except DecodeError, RecursionError, ValueError:
                pass
            else:
                kind = message.WhichOneof("payload")
        if kind is None:
            try:
                message, kind = decode_frame(data, self.subprotocol)
            except FrameError as err:
                stats.bad_frames += 1
                _LOGGER.warning("Skipped a bad MTCTI-3 frame: %s (first bytes %s)", err, err.data[:16].hex(" "))
                if isinstance(err, EmptyMessageError):  # perhaps a payload of a newer release: count its field
                    stats.unknown_fields.count(data[self._header_size :])
                return None
        # Without its unknown fields a message serializes to its payload's length, unless it had some (rarely).
        message.DiscardUnknownFields()
        unknown = None
        if message.ByteSize() != len(data) - self._header_size:
            unknown = stats.unknown_fields.count(data[self._header_size :])
        tracing = _TRACE.isEnabledFor(logging.DEBUG)
        if tracing:
            trace("recv", message, self.peer, unknown)
        if kind == "notify":
            stats.notifies += 1
            notify = message.notify
            if notify_id := notify.notify_id:
                if self.closed or self._ws.closed:
                    return None
                subscribe_id = notify.subscribe_id
                if tracing:
                    trace(
                        "send",
                        pb.Message(notifyack=pb.NotifyAck(subscribe_id=subscribe_id, notify_id=notify_id)),
                        self.peer,
                    )
                frame = encode_notify_ack(subscribe_id, notify_id, self.subprotocol)
                if self._frames is None:
                    return self._ack_then_hand_on(frame, message)
                acks = self._acks
                if not acks:  # written at the end of this loop iteration, with the others
                    asyncio.get_running_loop().call_soon(self._flush_acks)
                acks.append(frame)
            if (on_notify := self._on_notify) is None:
                self._hand_on(message, kind)
                return None
            try:
                on_notify(notify)
            except Exception:
                _LOGGER.exception("Failed to handle MTCTI-3 %s message; skipped", kind)
        elif kind == "response":
            future = self._pending.pop(message.response.requestid, None)
            if future is not None and not future.done():
                future.set_result(message.response)
        elif kind == "generaldata":
            data_future = self._data.get(message.generaldata.responseid)
            if data_future is not None and not data_future.done():
                data_future.set_result(message.generaldata)
        else:
            self._hand_on(message, kind)
        return None

    def _hand_on(self, message: pb.Message, kind: str) -> None:
        """Give a message to the owner: a notify to ``on_notify`` if there is one, else to ``on_message``."""
        try:
            if kind == "notify" and self._on_notify is not None:
                self._on_notify(message.notify)
            else:
                self._on_message(message)
        except Exception:
            _LOGGER.exception("Failed to handle MTCTI-3 %s message; skipped", kind)

    async def _ack_then_hand_on(self, frame: bytes, message: pb.Message) -> None:
        if await self._send_ack(frame):
            self._hand_on(message, "notify")

    async def _send_ack(self, frame: bytes) -> bool:
        """Send one NotifyAck on its own (no frame writer to batch on); False: the connection is gone."""
        try:
            await self._ws.send_bytes(frame)
        except ConnectionError, RuntimeError, aiohttp.ClientError:
            return False
        self.stats.frames_out += 1
        self.stats.acks += 1
        return True

    def _flush_acks(self) -> None:
        """Write the NotifyAcks queued in this iteration, in one write (a closed connection drops them)."""
        acks = self._acks
        if not acks or self._frames is None:
            return
        self._acks = []
        if self.closed or self._ws.closed:  # (aiohttp marks it closed before it writes its close frame)
            return
        try:
            self._frames.write(acks)
        except ConnectionError, RuntimeError:
            return  # the reader sees the connection go
        self.stats.frames_out += len(acks)
        self.stats.acks += len(acks)

    def _lost(self, reason: str) -> None:
        if self._pinger is not None and self._pinger is not asyncio.current_task():
            self._pinger.cancel()
        if self.closed:
            return
        self.closed = True
        self._fail_pending()
        if not self._closing:
            self._on_lost(reason)

    def _fail_pending(self) -> None:
        futures: list[asyncio.Future[Any]] = [*self._pending.values(), *self._data.values()]
        for future in futures:
            if not future.done():
                future.set_exception(NotConnectedError("the MTCTI-3 connection was lost"))
                future.exception()  # mark retrieved: nobody may be waiting any more
        self._pending.clear()
        self._data.clear()

    async def close(self) -> None:
        """Close the websocket and stop the reader; pending requests fail with NotConnectedError."""
        self._closing = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._ws.close()
        for task in (self._reader, self._pinger):
            if task is not None and not task.done():
                task.cancel()
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.closed = True
        self._fail_pending()
        if self._upgrade_session is not None:
            session, self._upgrade_session = self._upgrade_session, None
            await session.close()  # (not its connector: that is the caller's session's)


def _ssl_reason(err: BaseException) -> str:
    inner = getattr(err, "os_error", None) or getattr(err, "certificate_error", None) or err
    if isinstance(inner, ssl.SSLCertVerificationError) and inner.verify_message:
        return printable(inner.verify_message)
    return printable(getattr(inner, "reason", None) or inner or type(inner).__name__)


def _os_reason(err: BaseException) -> str:
    inner = getattr(err, "os_error", None) or err
    return printable(getattr(inner, "strerror", None) or inner or type(inner).__name__)
