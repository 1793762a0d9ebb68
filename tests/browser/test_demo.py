"""The one-command demo, as ``scripts/demo`` runs it: ``--check`` works, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient, TLSMode
from demo.run import ROOT, DemoStack, free_port, port_in_use

from .conftest import require


def processes_using(path: Path) -> list[str]:
    """Command lines of the running processes that name ``path`` (the demo's folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(path) in cmdline:
                found.append(f"{proc.name}: {cmdline}")
    return found


def demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "demo.run", *args]


def run_check(folder: Path, *args: str) -> str:
    """Run ``scripts/demo --check`` (with ``args``); it must pass and leave nothing behind. Its output."""
    require(browser=False)
    port = free_port()
    result = subprocess.run(
        demo(*args, "--check", "--port", str(port), "--dir", str(folder)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check: OK" in result.stdout
    assert not port_in_use(port)
    assert not processes_using(folder)
    return result.stdout


@pytest.mark.timeout(180)
def test_demo_check(tmp_path: Path, socket_enabled: None) -> None:
    """``scripts/demo --check``: the integration is set up through its config flow, entities have states."""
    output = run_check(tmp_path)
    assert "trusting the certificate the flow shows" in output


@pytest.mark.timeout(180)
def test_demo_pair_check(tmp_path: Path, socket_enabled: None) -> None:
    """``scripts/demo --pair --check``: both certificates trusted; the primary fails and comes back, users stay."""
    output = run_check(tmp_path, "--pair")
    assert output.count("trusting the certificate the flow shows") == 2
    assert "primary down -> users served by the secondary" in output
    assert "primary back -> users served by the primary again" in output
    assert "check: traffic changes states" in output


@pytest.mark.timeout(180)
def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path, socket_enabled: None) -> None:
    """The demo prints where to log in; Ctrl-C (SIGINT) stops Home Assistant and the simulator, nothing is left."""
    require(browser=False)
    port = free_port()
    with subprocess.Popen(
        demo("--port", str(port), "--dir", str(tmp_path), "--password", "demo-pass-1", "--no-traffic"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (line := process.stdout.readline()):
            lines.append(line)
            if "Ctrl-C stops" in line:
                break
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}" in output, output
        assert "demo-pass-1" in output
        assert port_in_use(port)
        assert processes_using(tmp_path)  # Home Assistant, started on the folder
        sim_port = int(re.search(r"Simulator wss://127\.0\.0\.1:(\d+)/", output)[1])  # type: ignore[index]
        assert port_in_use(sim_port)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output + rest
    assert "demo: stopped" in rest
    assert not port_in_use(port)
    assert not processes_using(tmp_path)
    assert not port_in_use(sim_port)


async def test_demo_simulator_takes_any_secret(tmp_path: Path, socket_enabled: None) -> None:
    """The demo's random service-user password may start with "-" (``secrets.token_urlsafe``): the simulator still
    starts with it and accepts it (it was once read as an option, one demo start in 64 failed)."""
    stack = DemoStack(demo_dir=tmp_path, traffic=False, sim_password="-Looks_like-an-option")
    try:
        info = await stack.start_simulator()
        client = IPOfficeClient(
            "127.0.0.1", stack.sim_username, "-Looks_like-an-option", port=info.port, tls=TLSMode.PINNED,
            fingerprint=info.fingerprint, reconnect=False,
        )  # fmt: skip
        await client.connect()
        assert client.connected
        await client.disconnect()
    finally:
        await stack.stop()
