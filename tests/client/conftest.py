"""Fixtures of the client tests: a simulator on 127.0.0.1 over real TLS, and clients that clean up after themselves."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from simulator import Simulator, SimulatorConfig

USERNAME = "ha"
PASSWORD = "secret-pass"

ClientFactory = Callable[..., Awaitable[IPOfficeClient]]


def trust(sim: Simulator) -> ssl.SSLContext:
    """A verifying context that trusts the simulator's self-signed certificate."""
    return ssl.create_default_context(cadata=sim.certificate_pem)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0, message: str = "condition") -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.01)


async def settle(sim: Simulator) -> None:
    """Until the simulator sent everything and the client acked (and so handled) it."""
    await sim.wait_quiet()
    await asyncio.sleep(0.02)


def make_sim(**config: Any) -> Simulator:
    """A simulator with the test credentials."""
    return Simulator(SimulatorConfig(username=USERNAME, password=PASSWORD, **config))


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A running simulator of the default office."""
    simulator = make_sim()
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def make_client(sim: Simulator) -> AsyncIterator[ClientFactory]:
    """Build (and by default connect) clients of ``sim``; every one is disconnected at teardown."""
    made: list[IPOfficeClient] = []

    async def factory(*, connect: bool = True, target: Simulator | None = None, **options: Any) -> IPOfficeClient:
        server = target or sim
        options.setdefault("port", server.port)
        options.setdefault("request_timeout", 3.0)
        if "tls" not in options:
            options.setdefault("ssl_context", trust(server))
        username = options.pop("username", USERNAME)
        password = options.pop("password", PASSWORD)
        client = IPOfficeClient("127.0.0.1", username, password, **options)
        client.reconcile_delay = 0.2
        client.backoff_base = 0.05
        client.backoff_cap = 0.5
        client.auth_retry_delay = 0.5
        made.append(client)
        if connect:
            await client.connect()
        return client

    yield factory
    for client in made:
        await client.disconnect()


@pytest.fixture
async def client(make_client: ClientFactory, sim: Simulator) -> IPOfficeClient:
    """A connected client of the default office, settled."""
    result = await make_client()
    await settle(sim)
    return result


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A caller-owned aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session
