"""The command-line probe in-process: call events it streams, pinned certificates, the trace switch."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import TRACE_LOGGER_NAME
from custom_components.ipoffice.mtcti3 import __main__ as probe
from simulator import Simulator
from tests.simtools import SIM_VERSION

from .conftest import PASSWORD, USERNAME, settle, wait_for


def base(sim: Simulator) -> list[str]:
    return ["--host", "127.0.0.1", "--port", str(sim.port), "--user", USERNAME]


class Output:
    """Everything the probe wrote to stdout so far, as JSON records."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        self.records: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        self.records += [json.loads(line) for line in self._capsys.readouterr().out.splitlines()]
        return self.records

    def calls(self, event: str) -> list[dict[str, Any]]:
        return [r for r in self.read() if r["type"] == "call" and r["event"] == event]


async def test_run_streams_call_events_over_a_pinned_certificate(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    args = probe._parser().parse_args([*base(sim), "--fingerprint", sim.fingerprint, "--seconds", "20"])
    out = Output(capsys)
    task = asyncio.create_task(probe.run(args, PASSWORD, None))
    await wait_for(lambda: any(r["type"] == "ready" for r in out.read()), message="probe ready")
    sim.faults.add_unknown_field("PartyInfo", 99, 2)
    call = sim.incoming_call(to="2002", caller="01707999888", did="01707555100")
    await settle(sim)
    sim.hangup(call, by="caller")
    await wait_for(lambda: bool(out.calls("ended")), message="ended event")
    ended = out.calls("ended")[0]
    assert ended["other_party"] == {"number": "01707999888", "name": "", "withheld": False}
    assert (ended["did"], ended["emergency"], len(ended["ucid"])) == ("01707555100", False, 16)
    assert ended["previous_state"] == "RINGING"
    assert ended["reason"] == 16
    assert "reconciled" not in ended
    unknown = [r for r in out.read() if r["type"] == "unknown_field"]
    assert unknown == [{"type": "unknown_field", "message": "PartyInfo", "number": 99, "value": "PartyInfo.99=2"}]
    # a call that ends while the probe is disconnected is reported as reconciled once it is back
    lost = sim.incoming_call(to="2003")
    await settle(sim)
    sim.faults.drop_all()
    await wait_for(
        lambda: any(r.get("type") == "connection" and r["connected"] is False and r["reason"] for r in out.read()),
        message="loss, with its reason",
    )
    sim.hangup(lost, by="caller")
    await wait_for(lambda: any(c.get("reconciled") for c in out.calls("ended")), message="reconciled end")
    os.kill(os.getpid(), signal.SIGTERM)  # the probe's own handler stops it cleanly
    assert await asyncio.wait_for(task, 5) == 0
    assert out.read()[-1]["type"] == "stats"
    assert out.read()[-1]["reconnects"] == 1


async def test_main_with_trace_and_fingerprint(
    sim: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(probe.PASSWORD_ENV, PASSWORD)
    trace = logging.getLogger(TRACE_LOGGER_NAME)
    monkeypatch.setattr(trace, "level", trace.level)  # main() turns the trace on: restore it afterwards
    argv = [*base(sim), "--fingerprint", sim.fingerprint, "--trace", "--seconds", "0.3"]
    assert await asyncio.to_thread(probe.main, argv) == 0
    assert trace.level == logging.DEBUG
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0]["type"] == "system"
    assert records[0]["version"] == SIM_VERSION
    assert any(r["type"] == "queue" for r in records)
    assert records[-1]["type"] == "stats"


async def test_main_refuses_a_wrong_fingerprint(
    sim: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(probe.PASSWORD_ENV, PASSWORD)
    wrong = ":".join(["AB"] * 32)
    argv = [*base(sim), "--fingerprint", wrong, "--seconds", "0.3"]
    assert await asyncio.to_thread(probe.main, argv) == probe.EXIT_FAILURE
    err = capsys.readouterr().err
    assert "does not match --fingerprint" in err
    assert wrong not in err.split("rerun with --fingerprint ")[-1]


async def test_run_names_the_fingerprint_of_an_untrusted_certificate(
    sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    args = probe._parser().parse_args([*base(sim), "--seconds", "0.1"])
    assert await probe.run(args, PASSWORD, None) == probe.EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith("TLS: certificate not trusted; SHA-256 fingerprint ")
    suggested = err.rsplit("--fingerprint ", 1)[1].split()[0]
    assert suggested.replace(":", "").upper() == sim.fingerprint.replace(":", "").upper()


async def test_main_trusts_a_cafile(
    sim: Simulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text(sim.certificate_pem)
    argv = [*base(sim), "--password", PASSWORD, "--cafile", str(cafile), "--seconds", "0.2"]
    assert await asyncio.to_thread(probe.main, argv) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0]["type"] == "system"
    assert any(r["type"] == "ready" and r["users"] > 0 for r in records)
