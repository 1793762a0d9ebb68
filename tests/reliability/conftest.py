"""Fixtures of the reliability tests: a seed that reproduces a run, a simulator, and the integration under test.

Every randomized test takes its seed from ``IPOFFICE_SEED`` (a fresh one otherwise) and prints it, so that a
failure can be replayed exactly: ``IPOFFICE_SEED=1234 scripts/test tests/reliability``.
"""

from __future__ import annotations

import asyncio
import os
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from simulator import Simulator, SimulatorConfig

USERNAME = "ha"
PASSWORD = "secret-pass-R3liab1lity"  # distinctive, so that a grep for it cannot match anything by chance

ClientFactory = Callable[..., Awaitable[IPOfficeClient]]


# CI is a gate, so it replays one seed (a failure there is a regression, not a new draw); developers' runs draw a
# fresh seed each time to explore, and IPOFFICE_SEED replays any run.
CI_SEED = 20261125


def seed_from_env() -> int:
    """The seed of this run: ``IPOFFICE_SEED``, else ``CI_SEED`` under CI, else a fresh random one."""
    value = os.environ.get("IPOFFICE_SEED")
    if value:
        return int(value)
    if os.environ.get("CI"):
        return CI_SEED
    return random.SystemRandom().randrange(1, 2**31)


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The seed of a randomized test, printed and recorded so that a failure names it."""
    value = seed_from_env()
    print(f"\n{request.node.nodeid}: IPOFFICE_SEED={value}")
    request.node.user_properties.append(("IPOFFICE_SEED", value))
    return value


def trust(sim: Simulator) -> ssl.SSLContext:
    """A verifying context that trusts the simulator's self-signed certificate."""
    return ssl.create_default_context(cadata=sim.certificate_pem)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, message: str = "condition") -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.005)


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
    """Build (and by default connect) fast-recovering clients of ``sim``; all are disconnected at teardown."""
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
        client.reconcile_delay = 0.05
        client.backoff_base = 0.02
        client.backoff_cap = 0.2
        client.auth_retry_delay = 0.2
        made.append(client)
        if connect:
            await client.connect()
        return client

    yield factory
    for client in made:
        await client.disconnect()
