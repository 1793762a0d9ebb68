"""The protocol trace (SysMonitor's equivalent): every message once, with direction, subscription and timing;
never a password or an Authorization header. In the integration with debug logging, and in the probe's --trace."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ipoffice.const import DOMAIN
from custom_components.ipoffice.mtcti3 import TRACE_LOGGER_NAME
from simulator import Simulator

from .conftest import PASSWORD, USERNAME, entry_data

ROOT = Path(__file__).resolve().parents[2]
NOTIFY_AND_ACK = (("recv", "notify"), ("send", "notifyack"))
LINE = re.compile(r"^t=(\d+\.\d{3}) \+(\d+\.\d{3})s (send|recv) (127\.0\.0\.1:\d+) sub=(\d+) (\w+) \{.*\}$")


def _secrets() -> list[str]:
    return [PASSWORD, "Authorization", base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()]


async def test_trace_with_debug_logging(hass: HomeAssistant, sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    """Debug logging for the integration turns the trace on: each message once, timed, no secrets."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    entry = MockConfigEntry(domain=DOMAIN, unique_id="system", data=entry_data(sim))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    call = sim.incoming_call(to="2001", caller="01707123456")
    await sim.wait_quiet()
    sim.hangup(call, by="caller")
    await sim.wait_quiet()
    await hass.async_block_till_done()

    records = [record for record in caplog.records if record.name == TRACE_LOGGER_NAME]
    lines = [record.getMessage() for record in records]
    assert lines
    times = []
    for line in lines:
        match = LINE.match(line)
        assert match, line
        times.append(float(match[1]))
    assert times == sorted(times)  # t= counts from the first traced message and only grows
    # Every notify of the simulator is traced exactly once, and so is each ack of it.
    notifies = Counter(
        (m[1], m[2]) for line in lines if (m := re.search(r"recv [\d.:]+ sub=(\d+) notify \{.*notify_id: (\d+)", line))
    )
    acks = Counter(
        (m[1], m[2])
        for line in lines
        if (m := re.search(r"send [\d.:]+ sub=(\d+) notifyack \{.*notify_id: (\d+)", line))
    )
    assert notifies
    assert max(notifies.values()) == 1
    assert acks == notifies
    assert any(
        f" send 127.0.0.1:{sim.port} sub=0 generalcmd {{" in line for line in lines
    )  # a message outside any subscription
    assert any("callinfo" in line or "calllost" in line for line in lines)
    for secret in _secrets():
        assert secret not in caplog.text


async def test_probe_trace_on_old_release(old_sim: Simulator) -> None:
    """The probe's --trace prints timed lines; on 11.0.4.2 it reports the version as unknown and ends in time."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "custom_components.ipoffice.mtcti3",
        "--host",
        "127.0.0.1",
        "--port",
        str(old_sim.port),
        "--user",
        USERNAME,
        "--fingerprint",
        old_sim.fingerprint,
        "--timeout",
        "1",
        "--seconds",
        "1",
        "--trace",
        cwd=ROOT,
        env={**os.environ, "IPOFFICE_PASSWORD": PASSWORD},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        stdout, stderr_bytes = await process.communicate()
    stderr = stderr_bytes.decode()
    assert process.returncode == 0, stderr
    lines = [json.loads(raw) for raw in stdout.splitlines()]
    assert lines[0]["type"] == "system"
    assert lines[0]["version"] is None
    traced = [line for line in stderr.splitlines() if TRACE_LOGGER_NAME in line]
    assert traced
    assert all(
        re.search(r": t=\d+\.\d{3} \+\d+\.\d{3}s (send|recv) 127\.0\.0\.1:\d+ sub=\d+ ", line) for line in traced
    )
    assert any("getversioninfo" in line for line in traced)
    assert any(re.search(r" send [\d.:]+ sub=\d+ subscribe \{ requestid: \d+ ", line) for line in traced)
    # 11.0.4.2 answers no request with a RequestResponse (traced as "recv ... response { requestid: N }").
    assert not any(re.search(r" recv [\d.:]+ sub=\d+ response \{", line) for line in traced)
    for secret in _secrets():
        assert secret not in stderr
