"""The probe against a hostile peer and hostile local input: no forged line, no raw control character, a
prompt clean exit on Ctrl-C or SIGTERM while connecting, one error line for input it cannot use, and why its
reconnects fail."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import ResultCode
from custom_components.ipoffice.mtcti3 import __main__ as probe
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator
from tests.hostile import Peer, hostile_server, subscribe_kind

from .conftest import PASSWORD, USERNAME, trust, wait_for
from .test_hostile_peer import HOSTILE, assert_safe
from .test_probe import ROOT, base, run_probe


async def test_peer_text_cannot_forge_a_line_or_reach_the_terminal(sim: Simulator) -> None:
    """IP Office refuses Lines with a hostile text: one error line, escaped; no forged JSON; the trace escaped."""
    sim.faults.fail_next(ResultCode.MTCTISESS_NOTALLOWED, "lines", additional=HOSTILE)
    code, lines, stderr = await run_probe(*base(sim), "--password", PASSWORD, "--insecure", "--trace")
    assert code == probe.EXIT_FAILURE
    assert_safe(stderr)
    error = stderr.splitlines()[-1]
    assert error.startswith("IP Office refused a request: Not allowed (MTCTISESS_NOTALLOWED, 9): x\\x1b[2J")
    assert '\\x0a{"type":"ready"' in error
    assert not any(line.lstrip().startswith("{") for line in stderr.splitlines())
    assert [line["type"] for line in lines] == ["stats"]  # stdout: JSON lines of the probe only


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_while_connecting_exits_promptly_and_cleanly(socket_enabled: None, signum: int) -> None:
    """A peer that never answers Lines, and a --timeout of an hour: Ctrl-C (SIGINT) or SIGTERM ends the probe."""
    answered = asyncio.Event()

    async def silent(_peer: Peer, message: pb.Message) -> None:
        if subscribe_kind(message) == "lines":
            answered.set()  # and never answered

    async with hostile_server(silent) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "custom_components.ipoffice.mtcti3",
            *("--host", "127.0.0.1", "--port", str(server.port), "--user", USERNAME, "--insecure"),
            *("--timeout", "3600"),
            cwd=ROOT,
            env={**os.environ, "IPOFFICE_PASSWORD": PASSWORD},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(20):
                await answered.wait()
            process.send_signal(signum)
            async with asyncio.timeout(5):
                stdout, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    assert [json.loads(line)["type"] for line in stdout.splitlines()] == ["stats"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--user", "ha:service"),
        ("--password", b"pw\xff"),  # not UTF-8: Python reads it as "pw\udcff", which Basic authentication cannot send
        ("--password", "pw€"),
        ("--host", "127.0.0.1/x"),  # it used to connect to port 443 of 127.0.0.1, whatever --port said
        ("--port", "70000"),
    ],
)
async def test_local_input_it_cannot_use_gives_one_error_line(sim: Simulator, option: str, value: str | bytes) -> None:
    args: dict[str, Any] = {"--host": "127.0.0.1", "--port": str(sim.port), "--user": USERNAME, "--password": PASSWORD}
    args[option] = value
    argv = [item for pair in args.items() for item in pair]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "custom_components.ipoffice.mtcti3",
        *argv,
        "--insecure",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        stdout, stderr = await process.communicate()
    assert process.returncode == probe.EXIT_FAILURE
    text = stderr.decode()
    assert "Traceback" not in text
    assert text.count("\n") == 1
    assert text.startswith(f"error: {option}: ")
    assert b"pw" not in stderr  # (no password in the error)
    assert sim.connection_count == 0
    assert [json.loads(line)["type"] for line in stdout.splitlines()] == []


async def test_the_probe_says_why_its_reconnects_fail(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    args = probe._parser().parse_args([*base(sim), "--seconds", "20", "--timeout", "2"])
    task = asyncio.create_task(probe.run(args, PASSWORD, trust(sim)))
    records: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        records.extend(json.loads(line) for line in capsys.readouterr().out.splitlines())
        return records

    await wait_for(lambda: any(r["type"] == "ready" for r in read()), message="probe ready")
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await wait_for(lambda: any(r["type"] == "reconnect_failed" for r in read()), timeout=10, message="a failure")
    lost = next(r for r in records if r["type"] == "connection")
    assert lost["connected"] is False
    assert lost["reason"]
    failed = next(r for r in records if r["type"] == "reconnect_failed")
    assert failed["error"] == "authentication failed: the service user name or password was refused (HTTP 401)"
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(task, 5) == 0
