"""The command-line probe, end to end as a subprocess and in-process (for coverage)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import AuthenticationError, CannotConnectError, ProtocolError
from custom_components.ipoffice.mtcti3 import __main__ as probe
from custom_components.ipoffice.mtcti3.errors import (
    FingerprintMismatchError,
    RequestTimeoutError,
    ResultError,
    ServiceRefusedError,
    TLSError,
    TooManyConnectionsError,
)
from simulator import Simulator
from tests.simtools import SIM_VERSION

from .conftest import PASSWORD, USERNAME, settle, trust

ROOT = Path(__file__).resolve().parents[2]


async def run_probe(
    *args: str, env: dict[str, str] | None = None, stop_after_ready: bool = False
) -> tuple[int, list[dict[str, Any]], str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "custom_components.ipoffice.mtcti3",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    lines: list[dict[str, Any]] = []
    async with asyncio.timeout(30):
        while raw := await process.stdout.readline():
            lines.append(json.loads(raw))
            if stop_after_ready and lines[-1]["type"] == "ready":
                process.send_signal(signal.SIGTERM)
        stderr = (await process.stderr.read()).decode()
        code = await process.wait()
    return code, lines, stderr


def base(sim: Simulator) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(sim.port), "--user", USERNAME]


async def test_probe_end_to_end(sim: Simulator) -> None:
    async def make_calls() -> None:
        while sim.connection_count == 0:  # noqa: ASYNC110 - polling the simulator
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        sim.faults.add_unknown_field("CallInfo", 90, 5)
        call = sim.incoming_call(to="2002")
        await settle(sim)
        sim.hangup(call, by="caller")

    caller = asyncio.create_task(make_calls())
    code, lines, stderr = await run_probe(
        *base(sim), "--fingerprint", sim.fingerprint, "--seconds", "2", "--trace", env={"IPOFFICE_PASSWORD": PASSWORD}
    )
    await caller
    assert code == 0, stderr
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "system"
    assert lines[0]["version"] == SIM_VERSION
    assert kinds.count("user") == 12
    assert kinds.count("queue") == 3
    events = [line["event"] for line in lines if line["type"] == "call"]
    assert events[:1] == ["new"]
    assert "ended" in events
    assert "missed" in events
    assert kinds[-1] == "stats"
    # a newer release's field: printed once, counted in the stats, and in the trace after each message that has it
    assert [line for line in lines if line["type"] == "unknown_field"] == [
        {"type": "unknown_field", "message": "CallInfo", "number": 90, "value": "CallInfo.90=5"}
    ]
    traced = stderr.count("unknown fields: CallInfo.90=5")
    assert traced >= 1
    assert lines[-1]["unknown_fields"] == {"CallInfo": {"90": traced}}
    assert "recv 127.0.0.1:" in stderr
    assert " sub=" in stderr
    assert PASSWORD not in stderr


async def test_probe_sigterm_and_noframing(sim: Simulator, tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text(sim.certificate_pem)
    code, lines, stderr = await run_probe(
        *base(sim), "--password", PASSWORD, "--cafile", str(cafile), "--noframing", stop_after_ready=True
    )
    assert code == 0, stderr
    assert any(line["type"] == "ready" for line in lines)


async def test_probe_failures(sim: Simulator) -> None:
    code, _lines, stderr = await run_probe(*base(sim), "--password", "nope", "--insecure")
    assert code == 1
    assert stderr.strip() == "authentication failed: the service user name or password was refused (HTTP 401)"
    code, _lines, stderr = await run_probe(*base(sim), "--password", PASSWORD)
    assert code == 1
    assert stderr.strip() == (
        f"TLS: certificate not trusted; SHA-256 fingerprint {sim.fingerprint}; "
        f"rerun with --fingerprint {sim.fingerprint} to trust it"
    )


def test_main_argument_errors(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IPOFFICE_PASSWORD", raising=False)
    assert probe.main(["--host", "h", "--user", "u"]) == 1
    assert "no password" in capsys.readouterr().err
    assert probe.main(["--host", "h", "--user", "u", "--password", "p", "--fingerprint", "zz"]) == 1
    assert "--fingerprint" in capsys.readouterr().err
    assert probe.main(["--host", "h", "--user", "u", "--password", "p", "--cafile", "/nonexistent.pem"]) == 1
    assert "--cafile" in capsys.readouterr().err


async def test_run_in_process(sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    args = probe._parser().parse_args([*base(sim), "--seconds", "0.2", "--timeout", "2"])
    assert await probe.run(args, PASSWORD, trust(sim)) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["type"] == "system"
    assert any(line["type"] == "user" and line["extn"] == "2007" and line["absence"] for line in out)
    args = probe._parser().parse_args([*base(sim), "--insecure", "--seconds", "0.1"])
    assert await probe.run(args, "bad", None) == 1
    assert "authentication failed" in capsys.readouterr().err


def test_describe_error() -> None:
    assert "does not match" in probe.describe_error(FingerprintMismatchError("x", fingerprint="AB"))
    assert probe.describe_error(TLSError("handshake failed")).startswith("TLS: ")
    assert "HTTP 401" in probe.describe_error(AuthenticationError("x"))
    assert "HTTP 503" in probe.describe_error(TooManyConnectionsError("x"))
    assert "HTTP 403" in probe.describe_error(ServiceRefusedError("x"))
    assert probe.describe_error(CannotConnectError("refused")) == "cannot connect: refused"
    assert probe.describe_error(ProtocolError("p")).startswith("protocol error")
    assert probe.describe_error(RequestTimeoutError("t")).startswith("timed out")
    assert probe.describe_error(ResultError(5)).startswith("IP Office refused")
    assert probe.describe_error(ValueError("v")) == "error: v"
