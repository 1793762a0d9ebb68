"""``python -m simulator --pair``: two systems, each with its own certificate, and the pair's admin interface."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.ipoffice.mtcti3 import CannotConnectError, IPOfficeClient, TLSMode

from .conftest import PASSWORD, USERNAME

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def cli() -> AsyncIterator[tuple[dict[str, str], int]]:
    """The pair simulator as a user starts it: its printed lines by label, and its admin port."""
    admin_port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulator", "--pair", "--port", "0", "--admin-port", str(admin_port),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    lines: dict[str, str] = {}
    async with asyncio.timeout(20):
        while (line := (await process.stdout.readline()).decode()) and not line.startswith("Ctrl-C"):
            label, _, value = line.partition(":")
            lines[label.strip()] = value.strip()
    yield lines, admin_port
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 10) == 0


async def _admin(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"http://127.0.0.1:{port}{path}", json=body) as response,
    ):
        return response.status, json.loads(await response.text())


async def test_pair_cli(cli: tuple[dict[str, str], int]) -> None:
    """Both systems are printed and served; the admin takes one down and brings it back on the same address."""
    lines, admin_port = cli
    assert lines["Primary"].startswith("wss://127.0.0.1:")
    assert lines["Secondary"].startswith("wss://127.0.0.1:")
    status, state = await _admin(admin_port, "GET", "/pair")
    assert status == 200
    assert state["primary"]["up"]
    assert state["secondary"]["up"]
    assert state["primary"]["fingerprint"] != state["secondary"]["fingerprint"]
    assert state["primary"]["url"] in lines["Primary"]

    primary_port = int(state["primary"]["url"].split(":")[2].split("/")[0])
    client = IPOfficeClient(
        "127.0.0.1", USERNAME, PASSWORD, port=primary_port, tls=TLSMode.PINNED,
        fingerprint=state["primary"]["fingerprint"], reconnect=False,
    )  # fmt: skip
    await client.connect()
    await client.disconnect()

    assert await _admin(admin_port, "POST", "/pair/primary/down") == (200, {"system": "primary", "up": False})
    with pytest.raises(CannotConnectError):
        await client.connect()
    status, call = await _admin(admin_port, "POST", "/pair/secondary/calls/incoming", {"to": "2501"})
    assert status == 200
    assert "2501" in call["callids"]
    status, call = await _admin(admin_port, "POST", "/pair/calls/incoming", {"to": "2001"})
    assert status == 200
    assert call["callids"]["2001"] > 100_000  # on the secondary: the phones moved with the primary down
    assert (await _admin(admin_port, "POST", "/pair/nowhere/down"))[0] == 404
    assert (await _admin(admin_port, "POST", "/pair/primary/sideways"))[0] == 404

    assert await _admin(admin_port, "POST", "/pair/primary/up") == (200, {"system": "primary", "up": True})
    await client.connect()
    await client.disconnect()
