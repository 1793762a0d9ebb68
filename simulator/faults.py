"""Fault injection: ``sim.faults``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message

from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb

if TYPE_CHECKING:
    from .server import Simulator

_LOGGER = logging.getLogger(__name__)

MALFORMED_KINDS = ("short", "bad_header", "garbage", "unknown_payload", "text_frame")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _message_types(descriptor: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every message type reachable from ``descriptor`` (itself included), by name."""
    if descriptor.name not in found:
        found[descriptor.name] = descriptor
        for item in descriptor.fields:
            if item.message_type is not None:
                _message_types(item.message_type, found)
    return found


NOTIFY_TYPES = _message_types(pb.Notify.DESCRIPTOR, {})
"""The message types a notify can carry (Notify, NotifyUser, CallInfo, PartyInfo, ...), by name."""


class Faults:
    """Faults to inject into the simulator's connections (see docs/simulator-contract.md)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.refuse_auth = False
        self.refuse_service = False
        self.no_responses = False
        # The spec promises no first ParkServer notify: with this set, none is sent while nothing is parked.
        self.quiet_park = False
        self._stalled_until = 0.0
        self._fail: list[tuple[int, str | None, str]] = []
        self._unknown: dict[str, bytes] = {}  # message type -> the unknown fields to append to each of them
        # Each connection is aborted this many seconds after its upgrade (None: connections last).
        self.drop_after: float | None = None

    # ------------------------------------------------------------------------------------------ connections

    def drop_all(self) -> None:
        """Close every websocket abruptly (the TCP connection is aborted, no close frame)."""
        for session in list(self._sim.sessions):
            session.abort()

    def stall(self, seconds: float) -> None:
        """Stop reading and writing (and answering pings) on every connection for ``seconds``."""
        self._stalled_until = max(self._stalled_until, time.monotonic() + seconds)

    @property
    def stalled(self) -> bool:
        return time.monotonic() < self._stalled_until

    async def wait_unstalled(self) -> None:
        while (remaining := self._stalled_until - time.monotonic()) > 0:  # noqa: ASYNC110 - deadline may grow
            await asyncio.sleep(min(remaining, 0.05))

    def send_raw(self, data: bytes) -> None:
        """Send ``data`` as one binary websocket message to every connection."""
        for session in list(self._sim.sessions):
            session.send_bytes(bytes(data))

    def send_malformed(self, kind: str) -> None:
        """Send a malformed message to every connection: one of :data:`MALFORMED_KINDS`."""
        if kind == "text_frame":
            for session in list(self._sim.sessions):
                session.send_text("this is not a protocol buffer")
            return
        payloads = {
            "short": b"\x00\x00",
            "bad_header": b"\x00\x00\x00\x02\x0a\x02\x08\x01",
            "garbage": FRAME_HEADER + b"\xff\xff\xff\xff\xff\xff",
            # Field 15 (varint 1): a well-formed Message that carries no payload this schema knows.
            "unknown_payload": FRAME_HEADER + b"\x78\x01",
        }
        if kind not in payloads:
            raise ValueError(f"unknown malformed kind {kind!r}; one of {MALFORMED_KINDS}")
        for session in list(self._sim.sessions):
            data = payloads[kind]
            if session.framed is False and kind in ("unknown_payload", "garbage"):
                data = data[len(FRAME_HEADER) :]
            session.send_bytes(data)

    def terminate_subscriptions(self, kind: str | None = None, reason: str = "terminated") -> None:
        """Send SubscribeTerminated for every subscription (or those of ``kind``: "user", "queue", ...), giving
        ``reason`` (any text: a hostile peer's control characters too)."""
        for session in list(self._sim.sessions):
            session.terminate_subscriptions(kind, reason)

    def add_unknown_field(self, message: str = "CallInfo", number: int = 90, value: int = 1) -> None:
        """From now on, append field ``number`` (a varint ``value``), which the schema does not know, to every
        ``message`` in the notifies sent: what a newer IP Office release may do. ``message`` is a type a notify
        carries ("Notify", "NotifyUser", "CallInfo", "PartyInfo", ...); a second call adds one more field."""
        descriptor = NOTIFY_TYPES.get(message)
        if descriptor is None:
            raise ValueError(f"{message!r} is not a message type of a notify; one of {sorted(NOTIFY_TYPES)}")
        if not 0 < number < 2**29 or number in descriptor.fields_by_number:
            raise ValueError(f"{number} is not a field number that {message} lacks")
        if value < 0:
            raise ValueError("value must not be negative")
        self._unknown[message] = self._unknown.get(message, b"") + _varint(number << 3) + _varint(value)

    @property
    def adds_unknown_fields(self) -> bool:
        """Whether :meth:`add_unknown_field` was asked for."""
        return bool(self._unknown)

    def append_unknown_fields(self, message: Message) -> None:
        """Append the fields of :meth:`add_unknown_field` to ``message`` and to the messages nested in it."""
        if (extra := self._unknown.get(message.DESCRIPTOR.name)) is not None:
            message.MergeFromString(extra)
        for descriptor, value in message.ListFields():
            if descriptor.message_type is None:
                continue
            for item in value if descriptor.is_repeated else (value,):
                self.append_unknown_fields(item)

    # ------------------------------------------------------------------------------------------ requests

    def fail_next(self, code: int, payload: str | None = None, additional: str = "") -> None:
        """Answer the next request (of ``payload`` kind, if given) with ``code`` instead of acting on it, and
        ``additional`` as the RequestResponse's text (any text: a hostile peer's control characters too).

        Kinds: "subscribe", "subscribecmd", "subscribeend", "generalcmd", and the payload names "lines",
        "user", "queue", "presence", "parkserver", "refreshwrapper", "callcontrol".
        """
        self._fail.append((code, payload, additional))

    def take_failure(self, kinds: set[str]) -> tuple[int, str] | None:
        """The code and text of the failure planned for a request of ``kinds`` (None: none), forgotten."""
        for index, (code, payload, additional) in enumerate(self._fail):
            if payload is None or payload in kinds:
                del self._fail[index]
                return code, additional
        return None

    def reset(self) -> None:
        """Clear every fault."""
        self.refuse_auth = self.refuse_service = self.no_responses = self.quiet_park = False
        self._stalled_until = 0.0
        self._fail.clear()
        self._unknown.clear()
        self.drop_after = None
