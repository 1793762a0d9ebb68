"""IP Office's own timers: what ends a call that nobody answers or nobody ends.

A real system does not let a call ring for ever: a user's call goes to voicemail after the user's no-answer time
(or the caller gives up), a queue call goes to the queue's voicemail after its voicemail time (or the caller hangs
up), an outside number that does not answer is given up on, and a caller leaving a voicemail message hangs up when
done. The simulator plays these when its timers run (``python -m simulator`` runs them; tests start them where
they need them), sweeping the calls once a second of the system's clock. ``speed`` runs that clock faster, for
long runs in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Final

from .model import Appearance, Call, S

if TYPE_CHECKING:
    from .server import Simulator

_LOGGER = logging.getLogger(__name__)

CALLER_PATIENCE: Final = 180.0
"""Seconds a caller waits in a queue without voicemail, or at a user without voicemail, before hanging up."""
FAR_END_NO_ANSWER: Final = 60.0
"""Seconds an outside number rings before the network gives up."""
VOICEMAIL_MESSAGE: Final = 30.0
"""Seconds a caller spends leaving a voicemail message."""

_WAITING: Final = (S.QUEUEING, S.RINGING)


class CallTimers:
    """Sweeps the simulator's calls and ends those a real system would end."""

    def __init__(self, sim: Simulator, *, speed: float = 1.0) -> None:
        self.sim = sim
        self.speed = max(speed, 0.001)
        self.ended = 0  # calls these timers ended or sent to voicemail
        self._since: dict[tuple[int, int, int], float] = {}  # (call, appearance id, state) -> first seen
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep once a second of the system's clock until stopped."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="mtcti3-sim-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def now(self) -> float:
        """The system's clock (seconds, ``speed`` times the event loop's)."""
        return asyncio.get_running_loop().time() * self.speed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(1.0 / self.speed)
            try:
                self.sweep(self.now())
            except Exception:
                _LOGGER.exception("call timers: a sweep failed")

    def sweep(self, now: float) -> None:
        """End or divert each call that has waited longer than the system lets it."""
        seen: set[tuple[int, int, int]] = set()
        for call in list(self.sim.active_calls):
            try:
                self._check(call, now, seen)
            except (ValueError, KeyError) as err:  # the call moved on meanwhile
                _LOGGER.debug("call timers: %s", err)
        self._since = {key: since for key, since in self._since.items() if key in seen}

    def _waited(self, app: Appearance, now: float, seen: set[tuple[int, int, int]]) -> float:
        """How long ``app`` has been in its present state, by this clock."""
        key = (id(app.call), app.callid, app.state)
        seen.add(key)
        return now - self._since.setdefault(key, now)

    def _check(self, call: Call, now: float, seen: set[tuple[int, int, int]]) -> None:
        model = self.sim.model
        monitor = next((a for a in call.apps if a.owner_kind == "queue"), None)
        ringing = [a for a in call.apps if a.owner_kind == "user" and a.role != "a" and a.state == S.RINGING]
        voicemail = next((a for a in call.apps if a.state == S.ANSWEREDBYVOICEMAIL), None)
        if voicemail is not None:
            if self._waited(voicemail, now, seen) >= VOICEMAIL_MESSAGE:
                self._end(call, "left a voicemail message")
        elif monitor is not None and monitor.state in _WAITING:
            queue = model.queues.get(monitor.owner) if isinstance(monitor.owner, bytes) else None
            waited = self._waited(monitor, now, seen)
            if queue is not None and queue.voicemail and waited >= queue.voicemailtime:
                self._divert(call, f"waited {queue.voicemailtime} s in {queue.name}")
            elif waited >= CALLER_PATIENCE:
                self._end(call, "the caller gave up waiting in the queue")
        elif ringing:
            app = ringing[0]
            user = model.users.get(app.owner) if isinstance(app.owner, bytes) else None
            waited = self._waited(app, now, seen)
            if user is not None and user.voicemail and waited >= user.noanswertime:
                self._divert(call, f"{user.extn} did not answer within {user.noanswertime} s")
            elif waited >= CALLER_PATIENCE:
                self._end(call, "the caller gave up")
        else:
            caller = next((a for a in call.apps if a.role == "a" and a.state == S.RINGBACK), None)
            outside = call.b is None or call.b.kind in ("external", "trunk")
            if caller is not None and outside and self._waited(caller, now, seen) >= FAR_END_NO_ANSWER:
                self._end(call, "the number called did not answer")

    def _divert(self, call: Call, why: str) -> None:
        _LOGGER.debug("call timers: %s to voicemail (%s)", call.gcid, why)
        self.sim.to_voicemail(call)
        self.ended += 1

    def _end(self, call: Call, why: str) -> None:
        _LOGGER.debug("call timers: %s ends (%s)", call.gcid, why)
        self.sim.hangup(call, "caller")
        self.ended += 1
