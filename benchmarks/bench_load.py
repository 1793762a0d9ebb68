"""Sustained load: 200 concurrent calls with churn for minutes, plus 3000 users' config changes.

Run: ``.venv/bin/python benchmarks/bench_load.py [--quick] [--minutes 5] [--calls 200] [--users 3000]
[--rate 300] [--client-only] [--json]``.

The simulator runs in a subprocess (this script with ``--sim-child``, JSON lines on stdin/stdout) with a generated
system of ``--users`` users. ``--calls`` trunk calls to as many users ring, are answered, held, resumed, missed or
hung up (by the caller or the user) and ring again, at ``--rate`` call steps offered per second, for
``--minutes``; meanwhile every one of the ``--users`` users gets config changes on the system side (absence,
mailbox, app presence, DND, forwarding number; the users in calls get no routing changes), spread over the run,
and every tenth of them a round of client commands (app presence, absence, DND) too. The integration runs in a
real ``HomeAssistant`` in this process (``--client-only``: the bare ``IPOfficeClient``).

Figures (the issue's invariants; "target" says what must hold):

- notifies/s the client handled, and acks vs notifies (client counters and the simulator's notify ids);
- the simulator's pending-notify backlog, total and per subscription, sampled every second: max, and the first
  vs last quarter (no growth); the client's queues sampled the same way (tasks, outstanding requests, live calls);
- call events expected (what the simulator was made to do) vs received, per type; every call appearance that
  started produced exactly one ENDED; with Home Assistant, the ``ipoffice_call`` bus events per type too;
- users whose final model differs from the simulator's truth (0 expected).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import SimulatorChild  # noqa: E402 - after the path set-up above

SAMPLE_EVERY = 1.0
STEP_BURST = 50  # call steps at most per loop turn, so that the simulator's loop stays responsive

# --- the simulator side (the child process) -----------------------------------------------------------------------


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


class Churn:
    """``len(extns)`` call slots, each a trunk call to its own user moving through a random life.

    ``expected`` counts what the client must report, per CallEventType value.
    """

    def __init__(self, sim: Any, extns: list[str], rng: random.Random) -> None:
        """Slots for ``extns``."""
        self.sim = sim
        self.extns = extns
        self.rng = rng
        self.calls: list[Any] = [None] * len(extns)
        self.phase = ["idle"] * len(extns)
        self.next = 0
        self.actions = 0
        self.expected: Counter[str] = Counter()

    def _ring(self, index: int) -> None:
        self.calls[index] = self.sim.incoming_call(self.extns[index], f"0170{index:07d}", "Load caller")
        self.phase[index] = "ringing"
        self.expected["new"] += 1

    def _end(self, index: int, *, by_user: bool) -> None:
        ringing = self.phase[index] == "ringing"
        self.sim.hangup(self.calls[index], by=self.extns[index] if by_user else "caller")
        self.expected["ended"] += 1
        if ringing and not by_user:
            self.expected["missed"] += 1
        self.calls[index] = None
        self.phase[index] = "idle"

    def step(self) -> None:
        """Move the next slot one step on."""
        index = self.next
        self.next = (index + 1) % len(self.extns)
        self.actions += 1
        call, phase, roll, extn = self.calls[index], self.phase[index], self.rng.random(), self.extns[index]
        if call is None:
            self._ring(index)
        elif phase == "ringing":
            if roll < 0.15:
                self._end(index, by_user=False)
            else:
                self.sim.answer(call, by=extn)
                self.phase[index] = "connected"
                self.expected["answered"] += 1
        elif phase == "connected":
            if roll < 0.5:
                self.sim.hold(call, by=extn)
                self.phase[index] = "held"
                self.expected["held"] += 1
            else:
                self._end(index, by_user=roll < 0.7)
        else:
            self.sim.unhold(call, by=extn)
            self.phase[index] = "connected"
            self.expected["resumed"] += 1

    def end_all(self) -> None:
        """Hang every call up (resuming held ones first)."""
        for index, call in enumerate(self.calls):
            if call is not None:
                if self.phase[index] == "held":
                    self.sim.unhold(call, by=self.extns[index])
                    self.expected["resumed"] += 1
                self._end(index, by_user=False)


def config_change(sim: Any, user: Any, rng: random.Random, *, routing: bool) -> None:
    """One system-side change of a user's configuration (``routing``: DND and forwarding too)."""
    choice = rng.randrange(5 if routing else 3)
    if choice == 0:
        text = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
        sim.update_user(user.extn, absence=None if rng.random() < 0.3 else (rng.randrange(1, 12), text))
    elif choice == 1:
        sim.update_user(user.extn, mailbox=(rng.randrange(50), rng.randrange(50), rng.randrange(5)))
    elif choice == 2:
        sim.update_user(user.extn, app=f"load {rng.randrange(10**6)}")
    elif choice == 3:
        sim.update_user(user.extn, dnd=not user.dnd)
    else:
        sim.update_user(user.extn, fwdunumber=f"0770{rng.randrange(10**7):07d}")


def truth(user: Any) -> list[Any]:
    """A simulator user's configuration, as the client models it (JSON-able)."""
    absence = [user.absence_msg, user.absence_str] if user.absence_set else None
    mailbox = [user.mailbox_new, user.mailbox_old, user.mailbox_saved]
    return [user.name, user.dnd, absence, mailbox, user.app, user.fwdunumber]


def backlog(sim: Any) -> tuple[int, int, dict[int, int]]:
    """Total, per-subscription max and per-subscription pending notifies (plus the one awaiting its ack)."""
    per_sub: dict[int, int] = {}
    total = 0
    for session in sim.sessions:
        total += session._out.qsize()
        for sid, sub in session.subs.items():
            per_sub[sid] = len(sub.pending) + (sub.awaiting is not None)
    total += sum(per_sub.values())
    return total, max(per_sub.values(), default=0), per_sub


async def run_load(sim: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Calls with churn and config changes for ``seconds``; then hang up, drain and report."""
    rng = random.Random(int(request.get("seed", 1)))
    calls, seconds, rate = int(request["calls"]), float(request["seconds"]), float(request["rate"])
    users = list(sim.model.users.values())
    free = [user for user in users if not (user.dnd or user.fwdu or user.loggedoff)]
    churn = Churn(sim, [user.extn for user in free[:calls]], rng)
    in_calls = set(churn.extns)
    changed = users[: int(request["config_users"])]
    bad_acks0 = sim.bad_acks
    totals: list[int] = []
    per_sub_max: list[int] = []
    peaks: Counter[int] = Counter()
    loop = asyncio.get_running_loop()
    cpu0, start = _cpu(), loop.time()
    next_sample, config_done = start, 0
    while (elapsed := loop.time() - start) < seconds:
        burst = 0
        while churn.actions < rate * elapsed and burst < STEP_BURST:
            churn.step()
            burst += 1
        while config_done < len(changed) * min(1.0, elapsed / (0.9 * seconds)):
            user = changed[config_done]
            config_change(sim, user, rng, routing=user.extn not in in_calls)
            config_done += 1
        if loop.time() >= next_sample:
            total, worst, per_sub = backlog(sim)
            totals.append(total)
            per_sub_max.append(worst)
            for sid, value in per_sub.items():
                peaks[sid] = max(peaks[sid], value)
            next_sample += SAMPLE_EVERY
        await asyncio.sleep(0.002)
    elapsed = loop.time() - start
    cpu = _cpu() - cpu0
    churn.end_all()
    drained = loop.time()
    try:
        await sim.wait_quiet(timeout=120)
        quiet = True
    except TimeoutError:
        quiet = False
    drain_seconds = loop.time() - drained
    final_total, _worst, _per_sub = backlog(sim)
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "actions": churn.actions,
        "config_changes": config_done,
        "expected": dict(churn.expected),
        "sent": sum(sub.next_id - 1 for session in sim.sessions for sub in session.subs.values()),
        "bad_acks": sim.bad_acks - bad_acks0,
        "backlog_total": totals,
        "backlog_per_sub_max": per_sub_max,
        "subscriptions": len(peaks),
        "peak_per_sub": max(peaks.values(), default=0),
        "quiet_after": quiet,
        "drain_seconds": drain_seconds,
        "final_backlog": final_total,
        "active_calls": len(sim.active_calls),
        "in_calls": sorted(in_calls),
    }


async def child(users: int, queues: int, seed: int) -> None:
    """The simulator process: one JSON line of facts, then JSON-line commands."""
    from _common import PASSWORD, USERNAME

    from simulator import Simulator, SimulatorConfig, generate_scenario

    sim = Simulator(
        SimulatorConfig(
            host="127.0.0.1",
            port=0,
            username=USERNAME,
            password=PASSWORD,
            scenario=generate_scenario(users=users, queues=queues, seed=seed),
        )
    )
    await sim.start()
    out = sys.stdout
    facts = {"port": sim.port, "fingerprint": sim.fingerprint, "certificate": sim.certificate_pem}
    out.write(json.dumps(facts) + "\n")
    out.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := await reader.readline():
            request = json.loads(line)
            answer: dict[str, Any] = {"ok": True}
            if request["cmd"] == "load":
                answer.update(await run_load(sim, request))
            elif request["cmd"] == "truth":
                answer["users"] = {user.guid.hex().upper(): truth(user) for user in sim.model.users.values()}
            elif request["cmd"] == "quit":
                out.write(json.dumps(answer) + "\n")
                out.flush()
                break
            out.write(json.dumps(answer) + "\n")
            out.flush()
    finally:
        await sim.stop()


# --- the client side (this process) -------------------------------------------------------------------------------


class SimChild(SimulatorChild):
    """This script's ``--sim-child`` in a subprocess (also answers ``truth``)."""

    stop_timeout = 20.0

    def __init__(self, process: asyncio.subprocess.Process, facts: dict[str, Any]) -> None:
        """Wrap a started child."""
        super().__init__(process, facts)
        self.certificate: str = facts["certificate"]

    @classmethod
    async def start(cls, users: int, queues: int, seed: int) -> SimChild:
        """Start the simulator process."""
        argv = (str(SCRIPT), "--sim-child", str(users), str(queues), str(seed))
        return cls(*await cls.spawn(*argv, limit=256 * 1024 * 1024, timeout=120))


def modelled(client: Any, guid: str) -> list[Any]:
    """The client's model of a user, in the shape of :func:`truth`."""
    user = client.users[guid]
    absence = None if user.absence is None else [int(user.absence.message), user.absence.text]
    mailbox = None if user.mailbox is None else [user.mailbox.new, user.mailbox.old, user.mailbox.saved]
    return [user.name, user.dnd, absence, mailbox, user.app, user.fwdu_number]


def client_queues(client: Any) -> dict[str, int]:
    """Sizes of the client's queues and live collections (and the event loop's tasks)."""
    conn = getattr(client, "_conn", None)
    return {
        "loop tasks": len(asyncio.all_tasks()),
        "client tasks": len(getattr(client, "_tasks", ())),
        "outstanding requests": len(getattr(conn, "_pending", ())) + len(getattr(conn, "_data", ())),
        "live calls in model": sum(len(user.calls) for user in client.users.values()),
    }


def quarters(samples: list[int]) -> tuple[float, float]:
    """Medians of the first and the last quarter of the samples."""
    if not samples:
        return 0.0, 0.0
    quarter = max(1, len(samples) // 4)
    return float(statistics.median(samples[:quarter])), float(statistics.median(samples[-quarter:]))


async def commands(client: Any, guids: list[str], in_calls: set[str], deadline: float) -> int:
    """Client commands on ``guids`` (app presence, absence, DND) until done or ``deadline``; how many were sent."""
    from custom_components.ipoffice.mtcti3 import AbsenceMessage

    sent = 0
    for guid in guids:
        if time.monotonic() > deadline:
            break
        user = client.users[guid]
        await client.set_app_presence(guid, f"cmd {user.extn}")
        await client.set_absence(guid, AbsenceMessage.BACK_SOON, "ok")
        sent += 2
        if user.extn not in in_calls:
            await client.set_dnd(guid, not user.dnd)
            sent += 1
        await asyncio.sleep(0.01)
    return sent


async def run(args: Any) -> Any:
    """The measurement."""
    from _common import PASSWORD, USERNAME, Report, Row, add_ipoffice_entry, home_assistant

    from custom_components.ipoffice.mtcti3 import CallEvent, IPOfficeClient

    seconds = args.minutes * 60
    mode = "client only" if args.client_only else "client + Home Assistant"
    report = Report(
        f"sustained load ({mode}): {args.calls} calls with churn for {seconds:g} s, "
        f"{args.users} users' config changes, offered {args.rate:g} call steps/s"
    )
    sim = await SimChild.start(args.users, 5, args.seed)
    hass_cm: Any = None
    hass: Any = None
    client: Any
    try:
        bus_events: Counter[str] = Counter()
        if args.client_only:
            import ssl

            context = ssl.create_default_context(cadata=sim.certificate)
            client = IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=sim.port, ssl_context=context)
            await client.connect()
        else:
            from homeassistant.core import Event, callback

            from custom_components.ipoffice.const import EVENT_CALL

            hass_cm = home_assistant()
            hass = await hass_cm.__aenter__()
            await add_ipoffice_entry(hass, sim)
            await hass.async_block_till_done()
            client = hass.config_entries.async_entries("ipoffice")[0].runtime_data.client

            @callback
            def on_bus(event: Event[dict[str, Any]]) -> None:
                bus_events[str(event.data.get("type"))] += 1

            hass.bus.async_listen(EVENT_CALL, on_bus)

        received: Counter[str] = Counter()
        per_call: dict[tuple[str, int], Counter[str]] = {}

        def on_call(event: CallEvent) -> None:
            received[event.type.value] += 1
            key = (event.call.owner_guid, event.call.call_id)
            per_call.setdefault(key, Counter())[event.type.value] += 1

        client.add_call_listener(on_call)
        notifies0, acks0 = client.stats.notifies, client.stats.acks
        sizes: dict[str, list[int]] = {}
        stop = asyncio.Event()

        async def sample() -> None:
            while not stop.is_set():
                for name, value in client_queues(client).items():
                    sizes.setdefault(name, []).append(value)
                await asyncio.sleep(SAMPLE_EVERY)

        sampler = asyncio.create_task(sample())
        guids = sorted(client.users)
        commanded = guids[: args.users][::10]
        load = asyncio.create_task(
            sim.command(
                "load",
                calls=args.calls,
                seconds=seconds,
                rate=args.rate,
                config_users=args.users,
                seed=args.seed,
            )
        )
        in_calls_extns: set[str] = set()
        # Client commands run during the load (the call users' DND stays alone: it would change routing).
        free_extns = {u.extn for u in client.users.values() if not (u.dnd or u.fwdu or u.logged_off)}
        in_calls_extns = set(sorted(free_extns, key=int)[: args.calls])
        commanded_count = await commands(client, commanded, in_calls_extns, time.monotonic() + 0.8 * seconds)
        answer = await load
        if hass is not None:
            await hass.async_block_till_done()
        stop.set()
        await sampler
        for name, value in client_queues(client).items():
            sizes[name].append(value)
        truth_now = (await sim.command("truth"))["users"]
        mismatched = [guid for guid, value in truth_now.items() if modelled(client, guid) != value]

        notifies = client.stats.notifies - notifies0
        acks = client.stats.acks - acks0
        expected: dict[str, int] = answer["expected"]
        unended = sum(1 for counts in per_call.values() if counts["ended"] != 1 or counts["new"] != 1)

        report.add(Row("notifies handled", notifies / answer["seconds"], "notifies/s", note=f"{notifies:,} in all"))
        report.add(Row("call steps", answer["actions"] / answer["seconds"], "steps/s", note=f"offered {args.rate:g}/s"))
        report.add(
            Row(
                "acks - notifies (client)",
                acks - notifies,
                "acks",
                target="0",
                passed=acks == notifies,
                note=f"{acks:,} acks",
            )
        )
        report.add(
            Row(
                "notifies sent (simulator) - acked (client), whole connection",
                answer["sent"] - client.stats.acks,
                "notifies",
                target="0",
                passed=answer["sent"] == client.stats.acks and answer["bad_acks"] == 0,
                note=f"{answer['sent']:,} sent; bad acks {answer['bad_acks']}",
            )
        )
        first, last = quarters(answer["backlog_total"])
        report.add(
            Row(
                "simulator backlog total: max",
                max(answer["backlog_total"], default=0),
                "notifies",
                note=f"over {answer['subscriptions']} subscriptions",
            )
        )
        report.add(
            Row(
                "simulator backlog total: last quarter",
                last,
                "notifies",
                floor=first,
                target="no growth",
                passed=last <= 2 * first + 2 * args.calls,
                note="floor = first quarter's median",
            )
        )
        first, last = quarters(answer["backlog_per_sub_max"])
        report.add(
            Row(
                "simulator backlog per subscription: max",
                answer["peak_per_sub"],
                "notifies",
                floor=first,
                target="no growth",
                passed=last <= 2 * first + 20,
                note=f"last quarter median {last:g}",
            )
        )
        report.add(
            Row(
                "simulator drained after the load",
                answer["drain_seconds"],
                "s",
                target="quiet, 0 left",
                passed=answer["quiet_after"] and answer["final_backlog"] == 0,
            )
        )
        for name, values in sizes.items():
            first, last = quarters(values[:-1])
            slack = args.calls if name == "live calls in model" else 20
            report.add(
                Row(
                    f"client {name}: max",
                    max(values),
                    "",
                    floor=first,
                    target="no growth",
                    passed=last <= 2 * first + slack,
                    note=f"last quarter median {last:g}, final {values[-1]}",
                )
            )
        for kind in ("new", "answered", "held", "resumed", "missed", "ended"):
            report.add(
                Row(
                    f"call events {kind}: received",
                    received[kind],
                    "events",
                    floor=expected.get(kind, 0),
                    target="= expected (floor)",
                    passed=received[kind] == expected.get(kind, 0),
                )
            )
        report.add(
            Row(
                "call appearances without exactly one NEW and one ENDED",
                unended,
                "calls",
                target="0",
                passed=unended == 0 and len(per_call) == expected.get("new", 0),
                note=f"{len(per_call):,} appearances",
            )
        )
        if hass is not None:
            bus_map = {"incoming": "new", "answered": "answered", "held": "held", "resumed": "resumed"}
            bus_map |= {"missed": "missed", "ended": "ended"}
            for bus_kind, kind in bus_map.items():
                report.add(
                    Row(
                        f"ipoffice_call {bus_kind}: fired",
                        bus_events[bus_kind],
                        "events",
                        floor=expected.get(kind, 0),
                        target="= expected (floor)",
                        passed=bus_events[bus_kind] == expected.get(kind, 0),
                    )
                )
        report.add(
            Row(
                "users whose model differs from the simulator",
                len(mismatched),
                "users",
                target="0",
                passed=not mismatched,
                note=f"{answer['config_changes']:,} system-side changes, {commanded_count:,} client commands",
            )
        )
        report.extra.update(
            {
                "simulator CPU during the load": f"{100 * answer['cpu'] / answer['seconds']:.0f} % of a core",
                "mismatched users (first 3)": ", ".join(mismatched[:3]) or "none",
                "events received": ", ".join(f"{k} {v}" for k, v in sorted(received.items())),
            }
        )
        if hass is not None:
            for entry in hass.config_entries.async_entries("ipoffice"):
                await hass.config_entries.async_unload(entry.entry_id)
        else:
            await client.disconnect()
    finally:
        if hass_cm is not None:
            await hass_cm.__aexit__(None, None, None)
        await sim.stop()
    return report


def main() -> None:
    """Parse the command line and run."""
    if len(sys.argv) > 1 and sys.argv[1] == "--sim-child":
        asyncio.run(child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
        return
    from _common import parser, print_report

    args = parser(__doc__ or "")
    args.add_argument("--minutes", type=float, default=0, help="length of the load (default 5, 0.25 with --quick)")
    args.add_argument("--calls", type=int, default=200, help="concurrent calls (default 200)")
    args.add_argument("--users", type=int, default=0, help="users, all of them changed (default 3000, 500 quick)")
    args.add_argument("--rate", type=float, default=300.0, help="call steps offered per second (default 300)")
    args.add_argument("--seed", type=int, default=1, help="seed of the system and of the churn")
    args.add_argument("--client-only", action="store_true", help="the bare client, no Home Assistant")
    ns = args.parse_args()
    ns.minutes = ns.minutes or (0.25 if ns.quick else 5.0)
    ns.users = ns.users or (500 if ns.quick else 3000)
    report = asyncio.run(run(ns))
    print_report(report, as_json=ns.json)


if __name__ == "__main__":
    main()
