"""Start-up and reconnect at scale: config entry setup to every subscription answered and every entity available.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--quick] [--json]`` (both scales, each in a fresh child
process so that its peak RSS is its own), or ``--scale 3000x150``. ``bench_reconnect.py`` runs the reconnect part.

Per scale (the simulator in a subprocess, every user and queue exposed): the time from ``async_add`` of the entry
(set-up included) until the client has every subscription answered with its first notify and every entity of the
integration that is enabled has a state that is not ``unavailable``; the peak RSS of the Home Assistant process;
the memory of the client model per user (tracemalloc, a bare client connected in the child before Home Assistant
starts). The floor, in the same child: ``benchfloor``, a minimal integration whose sensor platform adds as many
entities on as many devices from memory, as many of them disabled by default as the integration's. Then the
reconnect: the simulator aborts the connection, and the time until the client has re-subscribed everything and every
entity is available again, and until the reconcile ran.
"""

# ruff: noqa: B023 - each lambda is awaited within its loop iteration
from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from _common import (
    PASSWORD,
    ROOT,
    USERNAME,
    Report,
    Row,
    SimProcess,
    add_ipoffice_entry,
    home_assistant,
    median,
    parser,
    peak_rss_mb,
    print_report,
)

STARTUP_TARGET = 2.0  # x the floor
MEMORY_TARGET_KB = 20.0
SCALES = ((500, 50), (3000, 150))
QUICK_SCALES = ((60, 6),)


async def model_memory(sim: SimProcess, users: int) -> float:
    """KB per user of a bare client's model once connected (tracemalloc)."""
    from custom_components.ipoffice.mtcti3 import IPOfficeClient, TLSMode

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    client = IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=sim.port, tls=TLSMode.INSECURE, reconnect=False)
    await client.connect()
    await asyncio.sleep(0.2)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    # What the client allocated and still holds (directory, users, queues, subscriptions, calls), by the code that
    # allocated it: the client package; transient protobuf messages and aiohttp buffers are not the model.
    size = sum(
        stat.size_diff for stat in after.compare_to(before, "filename") if "mtcti3" in stat.traceback[0].filename
    )
    await client.disconnect()
    return size / 1024 / users


async def wait_until(check: Any, limit: float) -> float:
    """Poll ``check()`` each loop turn (cheaply: every 5 ms) until true; return when it became true."""
    deadline = time.perf_counter() + limit
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.005)
    return time.perf_counter()


def entity_cap() -> int:
    """Home Assistant's limit of enabled entities per config entry (0 if this release has none)."""
    from homeassistant.helpers import entity_platform

    return int(getattr(entity_platform, "MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY", 0))


class Remaining:
    """The entities not yet seen with an available state; each poll checks only those (tens of thousands)."""

    def __init__(self, hass: Any, entity_ids: list[str]) -> None:
        self._get = hass.states.get
        self._left = list(entity_ids)

    def __call__(self) -> bool:
        get = self._get
        self._left = [i for i in self._left if (state := get(i)) is None or state.state == "unavailable"]
        return not self._left


def enabled_entities(hass: Any, entry_id: str) -> list[str]:
    """Every enabled entity of the entry, from the registry (disabled ones have no state by design)."""
    from homeassistant.helpers import entity_registry as er

    entries = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    return [e.entity_id for e in entries if e.disabled_by is None]


def registered_entities(hass: Any, entry_id: str) -> int:
    """Every entity of the entry in the registry, enabled or disabled."""
    from homeassistant.helpers import entity_registry as er

    return len(er.async_entries_for_config_entry(er.async_get(hass), entry_id))


async def child(users: int, queues: int, repeat: int) -> dict[str, Any]:
    """One scale: start-up, floor, memory, reconnect. Runs in its own process."""
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.helpers import entity_registry as er

    sim = await SimProcess.start(users, queues)
    result: dict[str, Any] = {"users": users, "queues": queues}
    try:
        result["kb_per_user"] = await model_memory(sim, users)
        startups: list[float] = []
        floors: list[float] = []
        reconnects: list[float] = []
        reconciles: list[float] = []
        async with home_assistant(floor_entities=True) as hass:
            for attempt in range(repeat):
                start = time.perf_counter()
                entry = await add_ipoffice_entry(hass, sim)
                client = entry.runtime_data.client
                subs_done = await wait_until(
                    lambda: client.connected and all(s.got_first for s in client._subs.values()), 300
                )
                # Every subscription answered: the integration has handed every user and queue to its platforms.
                # Wait for those adds to finish, then for every enabled entity of the entry to be available. (The
                # entity list is taken only now: taken at async_add, it missed whatever was not registered yet.)
                await hass.async_block_till_done()
                enabled = enabled_entities(hass, entry.entry_id)
                done = await wait_until(Remaining(hass, enabled), 300)
                startups.append(max(done, subs_done) - start)
                devices = {e.device_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)}
                registered = registered_entities(hass, entry.entry_id)
                result["entities"] = len(enabled)
                result["registered"] = registered
                result["entity_devices"] = len(devices)
                result["entity_cap"] = entity_cap()
                result["devices"] = users + queues + 1
                result["subscriptions"] = len(client._subs)

                # Reconnect: abort the connection; time until re-subscribed, entities available, reconcile ran.
                if attempt == 0:
                    client.backoff_base = 0.0  # reconnect at once: the figure is the re-subscription, not the wait
                    lost = asyncio.Event()
                    unsub = client.add_connection_listener(lambda up: None if up else lost.set())
                    t0 = time.perf_counter()
                    await sim.command("drop")
                    await asyncio.wait_for(lost.wait(), 30)
                    back = await wait_until(
                        lambda: client.connected and all(s.got_first for s in client._subs.values()), 300
                    )
                    avail = await wait_until(Remaining(hass, enabled), 300)
                    reconnects.append(max(back, avail) - t0)
                    await wait_until(lambda: not client._tasks, 300)
                    reconciles.append(time.perf_counter() - t0)
                    result["reconcile_delay"] = client.reconcile_delay
                    unsub()
                await hass.config_entries.async_remove(entry.entry_id)
                await hass.async_block_till_done()

                # The floor: the same entities (as many enabled, as many disabled by default) on as many devices.
                hass.data["benchfloor"] = (len(devices), len(enabled), registered - len(enabled))
                floor_entry = ConfigEntry(
                    version=1,
                    minor_version=1,
                    domain="benchfloor",
                    title="floor",
                    data={},
                    options={},
                    source="user",
                    unique_id=f"floor{attempt}",
                    discovery_keys={},  # type: ignore[arg-type]
                    subentries_data=None,
                )
                start = time.perf_counter()
                await hass.config_entries.async_add(floor_entry)
                await hass.async_block_till_done()
                floor_ids = enabled_entities(hass, floor_entry.entry_id)
                result["floor_entities"] = (len(floor_ids), registered_entities(hass, floor_entry.entry_id))
                done = await wait_until(Remaining(hass, floor_ids), 300)
                floors.append(done - start)
                await hass.config_entries.async_remove(floor_entry.entry_id)
                await hass.async_block_till_done()
        result.update(
            startup=median(startups),
            floor=median(floors),
            reconnect=median(reconnects),
            reconcile=median(reconciles),
            rss_mb=peak_rss_mb(),
            sim_cpu=await sim.cpu(),
        )
    finally:
        await sim.stop()
    return result


def run_child(users: int, queues: int, repeat: int) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", f"{users}x{queues}", "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=1800,
    )
    for line in out.stdout.splitlines():
        if line.startswith("CHILD "):
            result: dict[str, Any] = json.loads(line[6:])
            return result
    raise RuntimeError(f"the start-up child failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def report_for(results: list[dict[str, Any]], *, reconnect_only: bool = False) -> Report:
    report = Report("reconnect at scale" if reconnect_only else "start-up at scale")
    for r in results:
        scale = f"{r['users']}u/{r['queues']}q"
        bound = STARTUP_TARGET * r["floor"]
        if not reconnect_only:
            ratio = r["startup"] / r["floor"]
            report.add(
                Row(
                    f"{scale}: setup -> all subscribed & available",
                    r["startup"],
                    "s",
                    floor=r["floor"],
                    ratio=ratio,
                    target=f"<= {STARTUP_TARGET:g}x floor",
                    passed=ratio <= STARTUP_TARGET,
                    note=(
                        f"{r['entities']} enabled of {r.get('registered', '?')} entities on"
                        f" {r.get('entity_devices', '?')} devices (expected"
                        f" {r['devices']}), {r['subscriptions']} subscriptions; floor:"
                        f" {r.get('floor_entities', ['?'])[0]} enabled of {r.get('floor_entities', [0, '?'])[1]}"
                        + (
                            f"; CAPPED: Home Assistant adds at most {r['entity_cap']:,} enabled entities per config"
                            " entry and refused the rest"
                            if r.get("entity_cap") and r["entities"] >= r["entity_cap"]
                            else ""
                        )
                    ),
                )
            )
            report.add(Row(f"{scale}: peak RSS (HA process)", r["rss_mb"], "MB"))
            report.add(
                Row(
                    f"{scale}: client model per user",
                    r["kb_per_user"],
                    "KB",
                    target=f"< {MEMORY_TARGET_KB:g} KB",
                    passed=r["kb_per_user"] < MEMORY_TARGET_KB,
                )
            )
        report.add(
            Row(
                f"{scale}: reconnect -> re-subscribed & available",
                r["reconnect"],
                "s",
                floor=r["floor"],
                ratio=r["reconnect"] / r["floor"],
                target=f"<= {STARTUP_TARGET:g}x floor",
                passed=r["reconnect"] <= bound,
            )
        )
        report.add(
            Row(
                f"{scale}: reconnect -> reconciled",
                r["reconcile"],
                "s",
                note=f"includes the client's fixed reconcile_delay of {r.get('reconcile_delay', 1.0):g} s",
            )
        )
    return report


def main(*, reconnect_only: bool = False) -> None:
    args = parser(__doc__ or "")
    args.add_argument("--scale", help="one scale, USERSxQUEUES (default 500x50 and 3000x150)")
    args.add_argument("--child", help=argparse_hidden())
    ns = args.parse_args()
    repeat = ns.repeat or (1 if ns.quick else 3)
    if ns.child:
        users, queues = (int(x) for x in ns.child.split("x"))
        print("CHILD " + json.dumps(asyncio.run(child(users, queues, repeat))))
        return
    if ns.scale:
        scales: tuple[tuple[int, int], ...] = (tuple(int(x) for x in ns.scale.split("x")),)  # type: ignore[assignment]
    else:
        scales = QUICK_SCALES if ns.quick else SCALES
    results = [run_child(users, queues, repeat) for users, queues in scales]
    report = report_for(results, reconnect_only=reconnect_only)
    report.extra["repeats"] = f"{repeat} per scale (reconnect once per scale), medians"
    report.extra["simulator"] = "subprocess"
    print_report(report, as_json=ns.json)


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
