"""Fault injection: ``sim.faults``."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER

if TYPE_CHECKING:
    from .server import Simulator

_LOGGER = logging.getLogger(__name__)

MALFORMED_KINDS = ("short", "bad_header", "garbage", "unknown_payload", "text_frame")


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
        self.drop_after = None
