"""Shared helpers of the benchmarks: a real Home Assistant in this process, the simulator in a subprocess, tables.

Every benchmark prints its figures beside a floor measured in the same run (the machines are shared and noisy, so
targets are ratios), repeats what it can and reports medians. Nothing here is a test: the scripts exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

USERNAME = "ha"
PASSWORD = "secret-pass"  # noqa: S105 - the simulator's throwaway service user


@dataclass
class Row:
    """One line of a result table: a figure, its floor, their ratio and the target."""

    name: str
    value: float
    unit: str
    floor: float | None = None
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Report:
    """The result of one benchmark."""

    benchmark: str
    rows: list[Row] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> Row:
        """Append a row."""
        self.rows.append(row)
        return row


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(load[0], 2),
    }


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 0.1:
        return f"{value:.3f}"
    return f"{value:.4f}"


def print_report(report: Report, *, as_json: bool) -> None:
    """Print the table (and the JSON when asked)."""
    headers = ("figure", "value", "unit", "floor", "ratio", "target", "result")
    lines = [
        (
            row.name,
            _fmt(row.value),
            row.unit,
            _fmt(row.floor),
            _fmt(row.ratio),
            row.target,
            "" if row.passed is None else ("PASS" if row.passed else "FAIL"),
        )
        for row in report.rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    info = machine()
    print(f"== {report.benchmark}  (Python {info['python']}, {info['cpus']} CPUs, load {info['loadavg_1m']})")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    for row in report.rows:
        if row.note:
            print(f"  note: {row.name}: {row.note}")
    for key, value in report.extra.items():
        if not isinstance(value, (dict, list)):
            print(f"  {key}: {value}")
    if as_json:
        print("JSON " + json.dumps({"benchmark": report.benchmark, "machine": info, **_jsonable(report)}))
    sys.stdout.flush()


def _jsonable(report: Report) -> dict[str, Any]:
    return {"rows": [asdict(row) for row in report.rows], "extra": report.extra}


def parser(description: str) -> argparse.ArgumentParser:
    """The common command line: --quick, --json, --repeat."""
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--quick", action="store_true", help="a fast smoke run (small sizes, one repeat)")
    args.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args.add_argument("--repeat", type=int, default=0, help="repeats (default 5, 1 with --quick)")
    return args


def median(values: Sequence[float]) -> float:
    """The median (0 for no values)."""
    return float(statistics.median(values)) if values else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile by the nearest-rank method (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[index])


def peak_rss_mb() -> float:
    """The peak resident set size of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU seconds of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def profiled(variable: str) -> Iterator[None]:
    """Profile the block with pyinstrument when the environment ``variable`` names a file (text report appended).

    ``BENCH_PROFILE_SIM`` profiles the simulator process's loads, ``BENCH_PROFILE_HA`` the Home Assistant process
    during the latency phase of ``bench_e2e``: a developer's tool, off by default.
    """
    path = os.environ.get(variable)
    if not path:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=False, show_all=False))


# --- the simulator in a subprocess ------------------------------------------------------------------------------


class SimulatorChild:
    """A simulator in a subprocess driven by JSON lines on stdin/stdout: it prints one line of facts when ready,
    then answers each ``{"cmd": ...}`` line with one line, and ends on ``quit``.

    A subprocess keeps the simulator's CPU off the benchmark's event loop and makes its CPU share easy to report.
    """

    stop_timeout = 10.0  # seconds for ``quit`` and for the process to end before it is killed

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        """Wrap a started simulator process and the facts it printed."""
        self.process = process
        self.port: int = info["port"]
        self.fingerprint: str = info["fingerprint"]

    @staticmethod
    async def spawn(*argv: str, limit: int, timeout: float) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:  # noqa: ASYNC109
        """Start ``python argv...`` in the repository and read its first line (its facts)."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            limit=limit,
        )
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("the simulator process did not start")
        return process, json.loads(line)

    async def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its answer."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write((json.dumps({"cmd": cmd, **args}) + "\n").encode())
        await self.process.stdin.drain()
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the simulator process ended during {cmd}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def stop(self) -> None:
        """Stop the simulator process (killed when it does not end in time)."""
        with contextlib.suppress(RuntimeError, ConnectionError):
            await asyncio.wait_for(self.command("quit"), self.stop_timeout)
        try:
            await asyncio.wait_for(self.process.wait(), self.stop_timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class SimProcess(SimulatorChild):
    """``benchmarks/_simproc.py`` in a subprocess: a generated system, load and CPU commands."""

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        """Wrap a started simulator process."""
        super().__init__(process, info)
        self.users: list[str] = info["users"]
        self.queues: list[str] = info["queues"]

    @classmethod
    async def start(cls, users: int, queues: int) -> SimProcess:
        """Start a simulator with a generated system of ``users`` users and ``queues`` queues."""
        script = str(ROOT / "benchmarks" / "_simproc.py")
        return cls(*await cls.spawn(script, str(users), str(queues), limit=64 * 1024 * 1024, timeout=60))

    async def cpu(self) -> float:
        """The simulator process's CPU seconds so far."""
        return float((await self.command("cpu"))["cpu"])


# --- a real Home Assistant in this process ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def home_assistant(*, floor_entities: bool = False) -> AsyncIterator[Any]:
    """A real, started ``HomeAssistant`` (asyncio debug off) in a throwaway config dir with this integration.

    ``floor_entities`` also installs ``benchfloor``, a minimal integration whose sensor platform adds, from memory,
    ``hass.data["benchfloor"] = (devices, enabled, disabled)`` entities (the floor of the start-up benchmark).
    """
    from homeassistant import bootstrap, loader
    from homeassistant.core import HomeAssistant

    logging.basicConfig(level=logging.CRITICAL if not os.environ.get("BENCH_DEBUG") else logging.WARNING)
    logging.getLogger("custom_components").setLevel(logging.WARNING)
    config_dir = Path(tempfile.mkdtemp(prefix="ipoffice-bench-"))
    if floor_entities:  # custom_components is a namespace package: the config dir adds benchfloor to it
        custom = config_dir / "custom_components"
        custom.mkdir()
        _write_floor(custom / "benchfloor")
        sys.path.append(str(config_dir))
    loop = asyncio.get_running_loop()
    loop.set_debug(False)
    hass = HomeAssistant(str(config_dir))
    loader.async_setup(hass)
    try:
        await bootstrap.async_from_config_dict(
            {"homeassistant": {"time_zone": "UTC", "latitude": 51.5, "longitude": 0.0, "elevation": 0}}, hass
        )
        await hass.async_start()
        await hass.async_block_till_done()
        yield hass
    finally:
        with contextlib.suppress(Exception):
            await hass.async_stop(force=True)
        shutil.rmtree(config_dir, ignore_errors=True)


def _write_floor(path: Path) -> None:
    path.mkdir()
    (path / "manifest.json").write_text(
        json.dumps(
            {
                "domain": "benchfloor",
                "name": "Benchmark floor",
                "codeowners": [],
                "config_flow": True,
                "dependencies": [],
                "documentation": "https://example.com",
                "iot_class": "local_push",
                "requirements": [],
                "version": "0.0.1",
            }
        )
    )
    (path / "__init__.py").write_text(
        '"""The start-up floor: entities added from memory."""\n\n'
        "async def async_setup_entry(hass, entry):\n"
        "    await hass.config_entries.async_forward_entry_setups(entry, ['sensor'])\n"
        "    return True\n"
    )
    (path / "config_flow.py").write_text(
        "from homeassistant import config_entries\n\n"
        "class FloorFlow(config_entries.ConfigFlow, domain='benchfloor'):\n"
        "    VERSION = 1\n"
    )
    (path / "sensor.py").write_text(
        '"""Sensors from memory, spread over the devices; the first ones enabled, the rest disabled by default."""\n\n'
        "from homeassistant.components.sensor import SensorEntity\n"
        "from homeassistant.helpers.device_registry import DeviceInfo\n\n"
        "class FloorSensor(SensorEntity):\n"
        "    _attr_should_poll = False\n"
        "    _attr_has_entity_name = True\n\n"
        "    def __init__(self, device, index, enabled):\n"
        "        self._attr_unique_id = f'floor_{device}_{index}'\n"
        "        self._attr_name = f'value {index}'\n"
        "        self._attr_native_value = index\n"
        "        self._attr_entity_registry_enabled_default = enabled\n"
        "        self._attr_device_info = DeviceInfo(\n"
        "            identifiers={('benchfloor', str(device))}, name=f'dev {device}'\n"
        "        )\n\n"
        "async def async_setup_entry(hass, entry, async_add_entities):\n"
        "    devices, enabled, disabled = hass.data['benchfloor']\n"
        "    async_add_entities(FloorSensor(i % devices, i, i < enabled) for i in range(enabled + disabled))\n"
    )


async def add_ipoffice_entry(hass: Any, sim: SimulatorChild) -> Any:
    """Add (not set up) a config entry of the integration pinned to the simulator."""
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME

    from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED

    entry = ConfigEntry(
        version=1,
        minor_version=1,
        domain=DOMAIN,
        title="IP Office benchmark",
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: sim.port,
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_TLS_MODE: TLS_PINNED,
            CONF_FINGERPRINT: sim.fingerprint,
        },
        options={},
        source="user",
        unique_id="ipoffice-benchmark",
        discovery_keys=MappingProxyType({}),
        subentries_data=None,
    )
    await hass.config_entries.async_add(entry)  # sets it up too
    return entry


def now() -> float:
    """The benchmark clock (CLOCK_MONOTONIC: shared with the simulator process)."""
    return time.perf_counter()
