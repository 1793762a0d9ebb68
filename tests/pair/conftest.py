"""Fixtures of the resilience tests: simulated systems on 127.0.0.1, older releases, pairs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.ipoffice.const import (
    CONF_SECONDARY_FINGERPRINT,
    CONF_SECONDARY_HOST,
    CONF_SECONDARY_PORT,
    CONF_SECONDARY_TLS_MODE,
    DOMAIN,
    TLS_PINNED,
)
from simulator import Simulator, SimulatorConfig
from simulator.pair import SimulatorPair
from tests import simtools
from tests.hatools import PASSWORD, USERNAME, entity_id, entry_data
from tests.simtools import guid_of, ignore_refused_handshakes

__all__ = ["FAST_TIMEOUT", "PASSWORD", "USERNAME", "entity_id", "entry_data", "guid_of", "pair_data", "wait_for"]

OLD_RELEASE = "11.0.4.2"
FAST_TIMEOUT = 1.0  # seconds a test client waits for a RequestResponse (an 11.0.4.2 system never sends one)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load custom_components/ipoffice in every test of this folder; sockets (to 127.0.0.1 only) are allowed."""


@pytest.fixture(autouse=True)
async def refused_handshakes_ignored(hass: HomeAssistant) -> None:
    """Ignore the simulator's side of a TLS handshake the client refused (see simtools.ignore_refused_handshakes)."""
    ignore_refused_handshakes()


async def _unload_all(hass: HomeAssistant) -> None:
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def old_sim(hass: HomeAssistant) -> AsyncGenerator[Simulator]:
    """A simulated IP Office 11.0.4.2: no RequestResponse, no getversioninfo answer."""
    simulator = Simulator(SimulatorConfig(host="127.0.0.1", port=0, release=OLD_RELEASE))
    await simulator.start()
    yield simulator
    await _unload_all(hass)
    await simulator.stop()


@pytest.fixture
async def sim(hass: HomeAssistant) -> AsyncGenerator[Simulator]:
    """A simulated IP Office 11.1 (the default office)."""
    simulator = Simulator(SimulatorConfig(host="127.0.0.1", port=0))
    await simulator.start()
    yield simulator
    await _unload_all(hass)
    await simulator.stop()


@pytest.fixture
async def sims(hass: HomeAssistant) -> AsyncGenerator[SimulatorPair]:
    """A resilient pair on 127.0.0.1 (every entry unloaded before it stops)."""
    async with SimulatorPair(SimulatorConfig(host="127.0.0.1"), SimulatorConfig(host="127.0.0.1")) as pair:
        yield pair
        await _unload_all(hass)


def pair_data(sims: SimulatorPair) -> dict[str, Any]:
    """The data of an entry of the pair, both certificates pinned."""
    return entry_data(
        sims.primary,
        **{
            CONF_SECONDARY_HOST: "127.0.0.1",
            CONF_SECONDARY_PORT: sims.secondary.port,
            CONF_SECONDARY_TLS_MODE: TLS_PINNED,
            CONF_SECONDARY_FINGERPRINT: sims.secondary.fingerprint,
        },
    )


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, message: str = "condition") -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until it holds (pairs fail over in seconds: a longer default than the client tests')."""
    await simtools.wait_for(predicate, timeout, message)
