"""Fixtures of the reliability tests: a seed that reproduces a run, a simulator, and the integration under test.

Every randomized test takes its seed from ``IPOFFICE_SEED`` (a fresh one otherwise) and prints it, so that a
failure can be replayed exactly: ``IPOFFICE_SEED=1234 scripts/test tests/reliability``.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.ipoffice.const import DOMAIN
from simulator import Simulator
from tests import simtools
from tests.simtools import ClientFactory, Timings, client_factory, guid_of, ignore_refused_handshakes, running, trust

USERNAME = "ha"
PASSWORD = "secret-pass-R3liab1lity"  # distinctive, so that a grep for it cannot match anything by chance

FAST = Timings(reconcile_delay=0.05, backoff_base=0.02, backoff_cap=0.2, auth_retry_delay=0.2)

__all__ = ["PASSWORD", "USERNAME", "ClientFactory", "guid_of", "make_sim", "seed_from_env", "trust", "wait_for"]


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


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, message: str = "condition") -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until it holds (finer and longer than the client tests: recoveries here are racier)."""
    await simtools.wait_for(predicate, timeout, message, poll=0.005)


def make_sim(**config: Any) -> Simulator:
    """A simulator with the test credentials."""
    return simtools.make_sim(USERNAME, PASSWORD, **config)


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A running simulator of the default office."""
    async with running(make_sim()) as simulator:
        yield simulator


@pytest.fixture
async def office(
    hass: HomeAssistant, enable_custom_integrations: None, socket_enabled: None
) -> AsyncIterator[Simulator]:
    """A simulated IP Office for an integration under test; its entries are unloaded before it stops."""
    ignore_refused_handshakes()  # a dropped connection or a refused certificate cuts handshakes short
    async with running(make_sim()) as simulator:
        yield simulator
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def make_client(sim: Simulator) -> AsyncIterator[ClientFactory]:
    """Build (and by default connect) fast-recovering clients of ``sim``; all are disconnected at teardown."""
    async with client_factory(sim, USERNAME, PASSWORD, FAST) as factory:
        yield factory
