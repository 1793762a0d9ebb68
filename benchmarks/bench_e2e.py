"""End to end: simulator -> client -> Home Assistant with concurrent calls changing state.

Run: ``.venv/bin/python benchmarks/bench_e2e.py [--quick] [--json] [--calls 200] [--seconds 6] [--window 30]``.

The simulator runs in a subprocess (``_simproc.py``; its CPU time is read there and reported as its share), with
a generated system; ``--calls`` trunk calls to as many users ring, are answered, held, resumed and hung up, over
and over. Home Assistant is a real ``HomeAssistant`` in this process (asyncio debug off) with the integration set
up on the simulator. Two phases:

- throughput: the simulator offers notifies as fast as the client acks them (bounded backlog); sustained
  notifies/s as the client handled them. The floor, in the same run and the same Home Assistant, fires the same
  number of bus events and writes the same number of states (``hass.bus.async_fire`` + ``hass.states.async_set``)
  with nothing else: the ratio says what share of Home Assistant's own rate the integration keeps.
- latency at ``--rate`` offered notifies/s (2,000): from the simulator handing a Notify to its websocket writer
  (CLOCK_MONOTONIC, shared by both processes) to the ``ipoffice_call`` event and to the last state written for it;
  p50/p99/max over ``--window`` seconds (30: long enough to hold the collector's full passes at their own rate);
  the simulator's backlog over time shows whether a queue grows. The floor's latency phase is Home Assistant alone
  at the same rate, same window. Each latency window starts after ``gc.collect()``, so that it does not pay for
  the garbage an earlier phase left.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from typing import Any
from unittest.mock import PropertyMock, patch

from _common import (
    Report,
    Row,
    SimProcess,
    add_ipoffice_entry,
    cpu_seconds,
    home_assistant,
    median,
    parser,
    percentile,
    print_report,
    profiled,
)

RATIO_TARGET = 0.5
P99_TARGET_MS = 10.0
RATE_TARGET = 2000.0


class GCPauses:
    """The garbage collector's pauses (``gc.callbacks``) while recording: a tail-latency suspect."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self.longest = (0.0, -1)  # ms, generation
        self.full = 0  # generation-2 (full) collections
        self._start = 0.0
        self.recording = False
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        elif self.recording:
            pause = 1000 * (time.perf_counter() - self._start)
            self.pauses.append(pause)
            self.full += info.get("generation") == 2
            if pause > self.longest[0]:
                self.longest = (pause, int(info.get("generation", -1)))

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


class Probe:
    """Marks which notify the client is handling, and when its event and state writes happen.

    Entities write their states once per loop iteration (``entity._UpdateBatch``): a write in that flush belongs
    to every notify handled in the iteration, not only to the last one, so each notify stays "pending" until a
    handle queued right after its own processing (which runs after the flush) closes the iteration's batch.
    """

    def __init__(self, hass: Any, client: Any) -> None:
        from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
        from homeassistant.core import callback

        from custom_components.ipoffice.const import EVENT_CALL

        self.current: tuple[int, int] = (0, 0)
        self.events: dict[tuple[int, int], float] = {}
        self.writes: dict[tuple[int, int], float] = {}
        self.event_count = 0
        self.write_count = 0
        self.recording = False
        self.pending: list[tuple[int, int]] = []
        original = client._on_notify
        loop = hass.loop

        def close_batch() -> None:
            self.pending = []

        def on_notify(notify: Any) -> None:
            self.current = key = (notify.subscribe_id, notify.notify_id)
            original(notify)
            if not self.pending:
                loop.call_soon(close_batch)
            self.pending.append(key)

        client._on_notify = on_notify
        if client._conn is not None:  # the connection calls the client's on_notify it was given
            client._conn._on_notify = on_notify

        @callback
        def on_event(_event: Any) -> None:
            self.event_count += 1
            if self.recording:
                self.events.setdefault(self.current, time.perf_counter())

        @callback
        def on_write(_event: Any) -> None:
            self.write_count += 1
            if self.recording:
                now = time.perf_counter()
                self.writes[self.current] = now
                for key in self.pending:
                    self.writes[key] = now

        hass.bus.async_listen(EVENT_CALL, on_event)
        hass.bus.async_listen(EVENT_STATE_CHANGED, on_write)

        @callback
        def every(_data: Any) -> bool:
            return True

        hass.bus.async_listen(EVENT_STATE_REPORTED, on_write, event_filter=every)


# What the floor fires and writes per notify: an ipoffice_call event like the integration's, and a sensor state.
FLOOR_EVENT = {
    "type": "answered",
    "device_id": "0123456789abcdef",
    "owner": "user",
    "extension": "10001",
    "name": "Floor User",
    "call_id": 1,
    "direction": "inbound",
    "state": "connected",
}
FLOOR_ATTRIBUTES = {"friendly_name": "Floor", "state_class": "measurement"}


async def floor_rate(
    hass: Any, events: int, writes: int, notifies: int, entities: int, *, contexts: bool = False
) -> tuple[float, float]:
    """Notifies/s Home Assistant alone manages when it fires ``events`` events and writes ``writes`` states.

    ``contexts``: each event and the writes that follow it share a new context (as the integration's reports do);
    else none is given (Home Assistant makes one per event and per write: the floor the issue defines).
    Returns (notifies/s by the wall clock, CPU seconds per notify of this process).
    """
    from homeassistant.core import Context

    from custom_components.ipoffice.const import EVENT_CALL

    data, attributes = FLOOR_EVENT, FLOOR_ATTRIBUTES
    ids = [f"sensor.bench_floor_{index}" for index in range(entities)]
    fire = hass.bus.async_fire
    set_state = hass.states.async_set
    chunk = 200
    start, cpu_start = time.perf_counter(), cpu_seconds()
    done_events = done_writes = 0
    counter = 0
    context = None
    while done_events < events or done_writes < writes:
        for _ in range(chunk):
            if done_events < events:
                if contexts:
                    context = Context()
                fire(EVENT_CALL, data, context=context)
                done_events += 1
            if done_writes < writes:
                counter += 1
                set_state(ids[counter % entities], str(counter), attributes, context=context)
                done_writes += 1
        await asyncio.sleep(0)  # let the listeners and the loop run, as they do for the integration
    await hass.async_block_till_done()
    return notifies / (time.perf_counter() - start), (cpu_seconds() - cpu_start) / max(1, notifies)


async def floor_latency(
    hass: Any, rate: float, seconds: float, events_per: float, writes_per: float, entities: int
) -> tuple[list[float], GCPauses]:
    """Home Assistant alone at the offered rate: per notify, ms from when it was due to its event and writes done.

    Notifies are due at the offered rate and handled as they fall due (the loop wakes every millisecond, so the
    pacing adds at most about 1 ms), with the same events and state writes per notify: the tail Home Assistant has
    without the integration, its own collector pauses included.
    """
    from custom_components.ipoffice.const import EVENT_CALL

    data, attributes = FLOOR_EVENT, FLOOR_ATTRIBUTES
    ids = [f"sensor.bench_floor_{index}" for index in range(entities)]
    latencies: list[float] = []
    pauses = GCPauses()
    pauses.recording = True
    start = time.perf_counter()
    sent = 0
    events_due = writes_due = 0.0
    counter = 0
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate) + 1  # notify k is due at start + k / rate
        while sent < due:
            events_due += events_per
            writes_due += writes_per
            while events_due >= 1:
                hass.bus.async_fire(EVENT_CALL, data)
                events_due -= 1
            while writes_due >= 1:
                counter += 1
                hass.states.async_set(ids[counter % entities], str(counter), attributes)
                writes_due -= 1
            latencies.append(1000 * (time.perf_counter() - (start + sent / rate)))
            sent += 1
        await asyncio.sleep(0.001)
    pauses.close()
    await hass.async_block_till_done()
    return latencies, pauses


async def run(
    quick: bool, repeat: int, calls: int, seconds: float, rate: float, *, window: float = 0.0, freeze: bool = False
) -> Report:
    """The report; ``seconds`` per throughput phase, ``window`` seconds of the latency phases (default ``seconds``)."""
    window = window or seconds
    users = max(500, 2 * calls) if not quick else 60
    report = Report(f"end to end: simulator -> client -> Home Assistant, {calls} concurrent calls, {users} users")
    sim = await SimProcess.start(users, 10)
    try:
        async with home_assistant() as hass:
            entry = await add_ipoffice_entry(hass, sim)
            await hass.async_block_till_done()
            client = entry.runtime_data.client
            if freeze:  # a process-wide setting (Home Assistant's to make, not an integration's): --gc-freeze
                gc.collect()
                gc.freeze()
            probe = Probe(hass, client)
            entities = len(hass.states.async_entity_ids())
            report.extra["states"] = f"{entities} entities with a state in Home Assistant"
            throughput: list[float] = []
            floors: list[float] = []
            ratios: list[float] = []
            shares: list[float] = []
            cpu_costs: list[float] = []
            floor_costs: list[float] = []
            shared_costs: list[float] = []  # the floor with a context per notify: Home Assistant at its best
            for _ in range(repeat):
                n0, e0, w0 = client.stats.notifies, probe.event_count, probe.write_count
                cpu0, sim0 = cpu_seconds(), await sim.cpu()
                answer = await sim.command("load", calls=calls, rate=0, seconds=seconds, backlog=2 * calls)
                cpu1, sim1 = cpu_seconds(), await sim.cpu()
                await hass.async_block_till_done()
                # Count what the client handled in the load window (ring-up and hang-up are outside the window).
                handled = answer["acked"]
                achieved = handled / answer["seconds"]
                total_notifies = client.stats.notifies - n0
                scale = handled / max(1, total_notifies)
                events = round((probe.event_count - e0) * scale)
                writes = round((probe.write_count - w0) * scale)
                floor, floor_cpu = await floor_rate(hass, events, writes, handled, entities) if handled else (0, 0)
                if handled:
                    _, shared_cpu = await floor_rate(hass, events, writes, handled, entities, contexts=True)
                    shared_costs.append(shared_cpu)
                cpu_costs.append((cpu1 - cpu0) / max(1, total_notifies))
                floor_costs.append(floor_cpu)
                throughput.append(achieved)
                floors.append(floor)
                ratios.append(achieved / floor if floor else 0.0)
                shares.append((sim1 - sim0) / max(1e-9, (sim1 - sim0) + (cpu1 - cpu0)))
                report.extra.setdefault(
                    "per notify: events, state writes",
                    f"{events / max(1, handled):.2f}, {writes / max(1, handled):.2f}",
                )
            ratio = median(ratios)
            report.add(
                Row(
                    "throughput (max offered)",
                    median(throughput),
                    "notifies/s",
                    floor=median(floors),
                    ratio=ratio,
                    target=f"ratio >= {RATIO_TARGET}",
                    passed=ratio >= RATIO_TARGET,
                )
            )
            cpu_ratio = median(floor_costs) / median(cpu_costs) if median(cpu_costs) else 0.0
            report.add(
                Row(
                    "Home Assistant process CPU per notify",
                    1e6 * median(cpu_costs),
                    "us",
                    floor=1e6 * median(floor_costs),
                    ratio=cpu_ratio,
                    target=f"ratio >= {RATIO_TARGET}",
                    passed=cpu_ratio >= RATIO_TARGET,
                    note="CPU time, robust on a shared machine: the floor's CPU per notify over the integration's",
                )
            )
            if shared_costs:
                report.add(
                    Row(
                        "floor with a context per notify, CPU per notify",
                        1e6 * median(shared_costs),
                        "us",
                        ratio=median(shared_costs) / median(cpu_costs) if median(cpu_costs) else 0.0,
                        note="Home Assistant alone with one context per notify's event and writes (no target)",
                    )
                )
            report.add(Row("simulator CPU share (throughput)", 100 * median(shares), "%", note="of both processes"))

            # Latency at a fixed offered rate. Each latency window starts after a full collection, so that it does
            # not pay for what an earlier phase left: the floor's phases promote enough garbage that the collector's
            # next full pass (~0.5 s) used to fall into the integration's window.
            gc.collect()
            probe.events.clear()
            probe.writes.clear()
            probe.recording = True
            pauses = GCPauses()
            pauses.recording = True
            cpu0, sim0 = cpu_seconds(), await sim.cpu()
            with profiled("BENCH_PROFILE_HA"):
                answer = await sim.command("load", calls=calls, rate=rate, seconds=window, backlog=2 * calls)
            cpu1, sim1 = cpu_seconds(), await sim.cpu()
            probe.recording = False
            pauses.close()
            await hass.async_block_till_done()
            sent = {(sid, nid): t for sid, nid, t in answer["log"]}
            to_event = [1000 * (t - sent[key]) for key, t in probe.events.items() if key in sent]
            to_write = [
                1000 * (max(t, probe.events.get(key, 0.0)) - sent[key])
                for key, t in probe.writes.items()
                if key in sent
            ]
            achieved = answer["acked"] / answer["seconds"]
            p99 = percentile(to_write, 0.99)
            report.add(
                Row(
                    "sustained at offered rate",
                    achieved,
                    "notifies/s",
                    target=f">= {RATE_TARGET:,.0f}" if not quick else "",
                    passed=achieved >= 0.97 * rate if not quick else None,
                    note=f"offered {rate:,.0f}/s",
                )
            )
            report.add(Row("latency -> state written p50", percentile(to_write, 0.5), "ms"))
            report.add(
                Row(
                    "latency -> state written p99",
                    p99,
                    "ms",
                    target=f"< {P99_TARGET_MS:g} ms",
                    passed=p99 < P99_TARGET_MS,
                )
            )
            report.add(Row("latency -> state written max", max(to_write, default=0.0), "ms"))
            report.add(Row("latency -> ipoffice_call p50", percentile(to_event, 0.5), "ms"))
            report.add(Row("latency -> ipoffice_call p99", percentile(to_event, 0.99), "ms"))
            report.add(Row("latency -> ipoffice_call max", max(to_event, default=0.0), "ms"))
            events_per, writes_per = (float(x) for x in report.extra["per notify: events, state writes"].split(", "))
            gc.collect()
            floor_lat, floor_pauses = await floor_latency(hass, rate, window, events_per, writes_per, entities)
            report.add(
                Row(
                    "floor: Home Assistant alone at that rate, p99",
                    percentile(floor_lat, 0.99),
                    "ms",
                    note=(
                        f"p50 {percentile(floor_lat, 0.5):.2f} ms, max {max(floor_lat, default=0.0):.0f} ms;"
                        f" its longest collector pause {floor_pauses.longest[0]:.0f} ms"
                        f" (generation {floor_pauses.longest[1]}); full collections {floor_pauses.full}"
                    ),
                )
            )
            slow = [p for p in pauses.pauses if p >= 5.0]
            report.add(
                Row(
                    "garbage collector pauses >= 5 ms (latency)",
                    len(slow),
                    "pauses",
                    note=(
                        f"longest {pauses.longest[0]:.1f} ms (generation {pauses.longest[1]}),"
                        f" total {sum(slow):.0f} ms of {len(pauses.pauses)} collections, {pauses.full} of them full"
                    ),
                )
            )
            backlog = answer["backlog"]
            quarter = max(1, len(backlog) // 4)
            first, last = median(backlog[:quarter]), median(backlog[-quarter:])
            bounded = last <= max(2 * calls, 2 * first + 10)
            report.add(
                Row(
                    "simulator backlog: first -> last quarter",
                    last,
                    "notifies",
                    floor=first,
                    target="no growth",
                    passed=bounded,
                    note=f"max {max(backlog)}; drained after the load: {answer['quiet_after']}",
                )
            )
            share = (sim1 - sim0) / max(1e-9, (sim1 - sim0) + (cpu1 - cpu0))
            report.add(Row("simulator CPU share (latency)", 100 * share, "%"))
            report.add(Row("simulator CPU per notify (latency)", 1e6 * answer["cpu"] / max(1, answer["acked"]), "us"))
            report.add(
                Row("Home Assistant process CPU (latency)", 100 * (cpu1 - cpu0) / answer["seconds"], "% of a core")
            )
            report.extra.update(
                {
                    "entities": entities,
                    "latency samples (state, event)": f"{len(to_write)}, {len(to_event)}",
                    "repeats": f"throughput {repeat}x{seconds:g} s, medians; latency 1x{window:g} s (and the floor's)",
                    "simulator": "subprocess, CPU time read there",
                    "gc.freeze() after set-up": "yes (--gc-freeze)" if freeze else "no (Home Assistant's default)",
                }
            )
            await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await sim.stop()
    return report


def main() -> None:
    args = parser(__doc__ or "")
    args.add_argument("--calls", type=int, default=0, help="concurrent calls (default 200, 20 with --quick)")
    args.add_argument(
        "--seconds", type=float, default=0, help="seconds per throughput phase (default 6, 1.5 with --quick)"
    )
    args.add_argument(
        "--window", type=float, default=0, help="seconds of each latency phase (default 30, 1.5 with --quick)"
    )
    args.add_argument("--rate", type=float, default=RATE_TARGET, help="offered notifies/s of the latency phase")
    args.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() once set up: what the collector's full passes cost"
    )
    args.add_argument(
        "--all-entities",
        action="store_true",
        help="enable the entities that are disabled by default too (as before they were; for A/B with old figures)",
    )
    ns = args.parse_args()
    repeat = ns.repeat or (1 if ns.quick else 3)
    calls = ns.calls or (20 if ns.quick else 200)
    seconds = ns.seconds or (1.5 if ns.quick else 6.0)
    window = ns.window or (1.5 if ns.quick else 30.0)
    rate = ns.rate if not ns.quick or ns.rate != RATE_TARGET else 300.0
    with contextlib.ExitStack() as stack:
        if ns.all_entities:
            stack.enter_context(
                patch(
                    "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
                    new_callable=PropertyMock,
                    return_value=True,
                )
            )
        report = asyncio.run(run(ns.quick, repeat, calls, seconds, rate, window=window, freeze=ns.gc_freeze))
    report.extra["entities"] = "all enabled (--all-entities)" if ns.all_entities else "enabled by default only"
    print_report(report, as_json=ns.json)


if __name__ == "__main__":
    main()
