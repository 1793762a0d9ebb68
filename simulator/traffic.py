"""A seeded, bounded demo traffic generator: queue calls, internal calls, missed calls and DND changes.

It never wedges itself: every call it makes has an end (a queue call nobody can take is abandoned after a while),
at its limit of calls it still changes DND, and it keeps most users out of DND and every queue with a member who
can take calls, so that calls keep flowing for as long as it runs. ``speed`` runs it faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from .model import Call

if TYPE_CHECKING:
    from .server import Simulator

_LOGGER = logging.getLogger(__name__)

WITHHELD_SHARE = 0.1  # of the queue calls: the caller withholds its number


def did(extn: str) -> str:
    """The number a trunk call to ``extn`` is dialled in on: the office's number range, ending in the extension."""
    return f"0170755{extn}"


class TrafficGenerator:
    """Produces realistic activity until stopped (or the simulator stops)."""

    DND_SHARE = 0.25  # at most this share of the users in DND: a toggle beyond it turns DND off
    QUEUE_PATIENCE = 120.0  # seconds a queue caller waits for an agent before hanging up (abandoned)

    def __init__(
        self, sim: Simulator, *, seed: int = 1, rate: float = 0.5, max_calls: int = 8, speed: float = 1.0
    ) -> None:
        self.sim = sim
        self.rng = random.Random(seed)
        self.rate = max(rate, 0.01)
        self.speed = max(speed, 0.001)
        self.max_calls = max_calls
        self.events = 0
        self._task: asyncio.Task[None] | None = None
        self._children: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        # Calls already in progress (a pair's system that takes the phones back has those of before it went down,
        # whose ends were scheduled by a generator since stopped) end at this traffic's pace: left alone they would
        # count against max_calls for ever, and at max_calls the traffic stops.
        for call in list(self.sim.active_calls):
            self._end(call, "caller", self.rng.uniform(1, 10) / max(self.rate, 0.5))
        self._task = asyncio.create_task(self._run(), name="mtcti3-sim-traffic")

    async def stop(self) -> None:
        tasks = [t for t in [self._task, *self._children] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._children.clear()

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay / self.speed)
            try:
                action()
            except (ValueError, KeyError) as err:  # the call moved on meanwhile
                _LOGGER.debug("traffic: %s", err)

        task = asyncio.create_task(run())
        self._children.add(task)
        task.add_done_callback(self._children.discard)

    async def _run(self) -> None:
        actions: list[tuple[float, Callable[[], None]]] = [
            (0.4, self._queue_call),
            (0.25, self._internal_call),
            (0.15, self._missed_call),
            (0.1, self._outgoing_call),
            (0.1, self._toggle_dnd),
        ]
        weights = [w for w, _ in actions]
        while True:
            await asyncio.sleep(self.rng.expovariate(self.rate) / self.speed)
            _, action = self.rng.choices(actions, weights)[0]
            if action is not self._toggle_dnd and len(self.sim.active_calls) >= self.max_calls:
                continue  # no new call at the limit; the calls in progress all have their end planned
            try:
                action()
                self.events += 1
            except (ValueError, KeyError) as err:
                _LOGGER.debug("traffic: %s", err)
            except Exception:
                _LOGGER.exception("traffic action failed")

    def _caller(self) -> str:
        return "01" + "".join(self.rng.choice("0123456789") for _ in range(9))

    def _users(self) -> list[str]:
        return [
            u.extn
            for u in self.sim.model.users.values()
            if not u.loggedoff and not u.extnfault and not self.sim.model.busy(u)
        ]

    def _end(self, call: Call, by: str, after: float) -> None:
        def end() -> None:
            if not call.ended:
                self.sim.hangup(call, by)

        self._later(after, end)

    def _queue_call(self) -> None:
        queues = [q for q in self.sim.model.queues.values() if q.servicemode == "Active"]
        if not queues:
            return
        queue = self.rng.choice(queues)
        call = self.sim.incoming_call(
            queue.extn,
            self._caller(),
            self.rng.choice(["", "Acme Ltd", "J Bloggs"]),
            did(queue.extn),
            withheld=self.rng.random() < WITHHELD_SHARE,
        )
        if self.rng.random() < 0.2:
            self._end(call, "caller", self.rng.uniform(3, 12))  # abandoned
            return

        patience = self.QUEUE_PATIENCE

        def answer() -> None:
            nonlocal patience
            if call.ended:
                return
            ringing = [k for k in call.callids if k != queue.extn and call.state(k) == "RINGING"]
            if not ringing:
                patience -= 3
                if patience > 0:
                    self._later(3, answer)
                elif queue.extn in call.callids and call.state(queue.extn) in ("QUEUEING", "RINGING"):
                    self.sim.hangup(call, "caller")  # nobody could take it: abandoned
                return
            agent = self.rng.choice(ringing)
            self.sim.answer(call, by=agent)
            self._end(call, self.rng.choice(["caller", agent]), self.rng.uniform(10, 60))

        self._later(self.rng.uniform(2, 10), answer)

    def _internal_call(self) -> None:
        users = self._users()
        if len(users) < 2:
            return
        a, b = self.rng.sample(users, 2)
        call = self.sim.internal_call(a, b)

        def answer() -> None:
            if not call.ended and b in call.callids and call.state(b) == "RINGING":
                self.sim.answer(call, by=b)
                self._end(call, self.rng.choice([a, b]), self.rng.uniform(5, 40))
            elif not call.ended:
                self.sim.hangup(call, a)

        self._later(self.rng.uniform(1, 6), answer)

    def _missed_call(self) -> None:
        users = self._users()
        if users:
            extn = self.rng.choice(users)
            call = self.sim.incoming_call(extn, self._caller(), did=did(extn))
            self._end(call, "caller", self.rng.uniform(3, 10))

    def _outgoing_call(self) -> None:
        users = self._users()
        if not users:
            return
        user = self.rng.choice(users)
        call = self.sim.outgoing_call(user, self._caller())

        def answer() -> None:
            if not call.ended:
                self.sim.answer(call)
                self._end(call, user, self.rng.uniform(5, 30))

        self._later(self.rng.uniform(2, 6), answer)

    def _toggle_dnd(self) -> None:
        """Turn one user's DND on or off, keeping most users and a member of each queue available."""
        users = list(self.sim.model.users.values())
        if not users:
            return
        in_dnd = [u for u in users if u.dnd]
        if in_dnd and len(in_dnd) >= self.DND_SHARE * len(users):
            user = self.rng.choice(in_dnd)
        else:
            user = self.rng.choice(users)
        if not user.dnd and not self._others_available(user.extn):
            return
        self.sim.update_user(user.extn, dnd=not user.dnd)

    def _others_available(self, extn: str) -> bool:
        """Whether every queue ``extn`` is a member of keeps another enabled member out of DND."""
        model = self.sim.model
        for queue in model.queues.values():
            members = [m for m in queue.members if not m.disabled]
            if any(m.extn == extn for m in members):
                others = [model.find_user(m.extn) for m in members if m.extn != extn]
                if not any(u is not None and not u.dnd and not u.loggedoff for u in others):
                    return False
        return True
