"""The simulator process of the benchmarks: ``python benchmarks/_simproc.py USERS QUEUES``.

Prints one JSON line (port, fingerprint, user and queue extensions), then answers JSON-line commands on stdin:

- ``{"cmd": "cpu"}``: this process's CPU seconds.
- ``{"cmd": "load", "calls": 200, "rate": 2000, "seconds": 5}``: keep ``calls`` trunk calls to as many users
  changing state (ring, answer, hold, unhold, hold, unhold, hang up, ring again, ...) at ``rate`` offered notifies
  per second (0: as fast as the client acks, with at most ``backlog`` unacked), for ``seconds``. Answers the counts,
  the CPU it used, the backlog samples and the send log: [subscribe_id, notify_id, CLOCK_MONOTONIC time] of every
  Notify handed to the websocket writer (the start of the end-to-end latency).
- ``{"cmd": "hangup_all"}``, ``{"cmd": "quiet"}``, ``{"cmd": "drop"}`` (abort every connection), ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import profiled  # noqa: E402

from simulator import Simulator, SimulatorConfig, generate_scenario  # noqa: E402
from simulator.model import Call  # noqa: E402
from simulator.session import Session, Subscription  # noqa: E402

STEPS = ("answer", "hold", "unhold", "hold", "unhold", "hangup", "ring")


class Recorder:
    """Counts what the simulator offers and sends, and logs when each Notify goes out."""

    def __init__(self) -> None:
        self.enqueued = 0
        self.sent = 0
        self.acked = 0
        self.log: list[tuple[int, int, float]] = []
        self.recording = False

    def install(self) -> None:
        recorder = self
        pump, enqueue, ack = Session.pump, Session.enqueue, Session._ack

        def counting_enqueue(self: Session, sub: Subscription, notify: Any, *, replaceable: bool = False) -> None:
            recorder.enqueued += 1
            enqueue(self, sub, notify, replaceable=replaceable)

        def logging_pump(self: Session, sub: Subscription) -> None:
            before = sub.awaiting
            pump(self, sub)
            if sub.awaiting is not None and sub.awaiting != before:
                recorder.sent += 1
                if recorder.recording:
                    recorder.log.append((sub.sid, sub.awaiting, time.perf_counter()))

        def counting_ack(self: Session, message: Any) -> None:
            recorder.acked += 1
            ack(self, message)

        Session.enqueue = counting_enqueue  # type: ignore[method-assign]
        Session.pump = logging_pump  # type: ignore[method-assign]
        Session._ack = counting_ack  # type: ignore[method-assign,assignment]


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def backlog(sim: Simulator) -> int:
    """Notifies waiting in the simulator: queued per subscription plus frames queued to the websocket writers."""
    total = 0
    for session in sim.sessions:
        total += session._out.qsize()
        total += sum(len(sub.pending) for sub in session.subs.values())
    return total


class Load:
    """``calls`` slots, each a trunk call to its own user moving through STEPS."""

    def __init__(self, sim: Simulator, extns: list[str]) -> None:
        self.sim = sim
        self.extns = extns
        self.calls: list[Call | None] = [None] * len(extns)
        self.steps = [0] * len(extns)
        self.next = 0
        self.actions = 0

    def ring_all(self) -> None:
        for index, extn in enumerate(self.extns):
            if self.calls[index] is None:
                self.calls[index] = self.sim.incoming_call(extn, f"0170{index:07d}", "Caller")

    def step(self) -> None:
        index = self.next
        self.next = (index + 1) % len(self.extns)
        extn = self.extns[index]
        step = STEPS[self.steps[index]]
        self.steps[index] = (self.steps[index] + 1) % len(STEPS)
        call = self.calls[index]
        self.actions += 1
        if step == "ring" or call is None:
            self.calls[index] = self.sim.incoming_call(extn, f"0170{index:07d}", "Caller")
            self.steps[index] = 0
        elif step == "answer":
            self.sim.answer(call, by=extn)
        elif step == "hold":
            self.sim.hold(call, by=extn)
        elif step == "unhold":
            self.sim.unhold(call, by=extn)
        else:
            self.sim.hangup(call, by="caller")
            self.calls[index] = None

    def hangup_all(self) -> None:
        for index, call in enumerate(self.calls):
            if call is not None and not call.ended:
                self.sim.hangup(call, by="caller")
            self.calls[index] = None
            self.steps[index] = 0


async def run_load(
    sim: Simulator, recorder: Recorder, load: Load, rate: float, seconds: float, cap: int
) -> dict[str, Any]:
    load.ring_all()
    await sim.wait_quiet(timeout=60)
    start_counts = (recorder.enqueued, recorder.sent, recorder.acked, load.actions)
    recorder.log.clear()
    recorder.recording = True
    samples: list[int] = []
    cpu0 = cpu()
    t0 = time.perf_counter()
    next_sample = t0
    while True:
        now = time.perf_counter()
        elapsed = now - t0
        if elapsed >= seconds:
            break
        if now >= next_sample:
            samples.append(backlog(sim))
            next_sample = now + 0.25
        if rate > 0:
            due = rate * elapsed
            budget = max(1, round(rate * 0.01))  # at most 10 ms of offered load per turn: the writer must run
            while recorder.enqueued - start_counts[0] < due and budget > 0:
                load.step()
                budget -= 1
            await asyncio.sleep(0.002)
        else:
            while recorder.enqueued - recorder.acked < cap:
                load.step()
            await asyncio.sleep(0)
    recorder.recording = False
    t1 = time.perf_counter()
    cpu1 = cpu()
    end_counts = (recorder.enqueued, recorder.sent, recorder.acked, load.actions)
    samples.append(backlog(sim))
    load.hangup_all()
    try:
        await sim.wait_quiet(timeout=60)
        quiet = True
    except TimeoutError:
        quiet = False
    return {
        "seconds": t1 - t0,
        "cpu": cpu1 - cpu0,
        "enqueued": end_counts[0] - start_counts[0],
        "sent": end_counts[1] - start_counts[1],
        "acked": end_counts[2] - start_counts[2],
        "actions": end_counts[3] - start_counts[3],
        "backlog": samples,
        "quiet_after": quiet,
        "log": recorder.log,
    }


async def main() -> None:
    users, queues = int(sys.argv[1]), int(sys.argv[2])
    recorder = Recorder()
    recorder.install()
    sim = Simulator(
        SimulatorConfig(host="127.0.0.1", port=0, scenario=generate_scenario(users=users, queues=queues, seed=1))
    )
    await sim.start()
    user_extns = [user.extn for user in sim.model.users.values()]
    queue_extns = [queue.extn for queue in sim.model.queues.values()]
    # A user that is a queue member would ring for queue calls too; the load uses the users in order.
    out = sys.stdout
    out.write(
        json.dumps({"port": sim.port, "fingerprint": sim.fingerprint, "users": user_extns, "queues": queue_extns})
        + "\n"
    )
    out.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    load: Load | None = None
    try:
        while line := await reader.readline():
            request = json.loads(line)
            cmd = request["cmd"]
            answer: dict[str, Any] = {"ok": True}
            if cmd == "cpu":
                answer["cpu"] = cpu()
            elif cmd == "load":
                calls = int(request.get("calls", 200))
                free = [u.extn for u in sim.model.users.values() if not (u.dnd or u.fwdu or u.loggedoff)]
                load = Load(sim, free[:calls])
                with profiled("BENCH_PROFILE_SIM"):
                    answer.update(
                        await run_load(
                            sim,
                            recorder,
                            load,
                            float(request.get("rate", 0)),
                            float(request.get("seconds", 5)),
                            int(request.get("backlog", 2 * calls)),
                        )
                    )
            elif cmd == "hangup_all":
                if load is not None:
                    load.hangup_all()
            elif cmd == "quiet":
                await sim.wait_quiet(timeout=120)
            elif cmd == "drop":
                sim.faults.drop_all()
            elif cmd == "quit":
                out.write(json.dumps(answer) + "\n")
                out.flush()
                break
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
