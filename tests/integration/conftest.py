"""Fixtures of the integration tests: a simulated IP Office on 127.0.0.1 and a config entry pinned to it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ipoffice.const import DOMAIN
from simulator import Simulator, SimulatorConfig
from tests.hatools import PASSWORD, USERNAME, entity_id, entry_data
from tests.simtools import guid_of, ignore_refused_handshakes

__all__ = ["PASSWORD", "SYSTEM_ID", "USERNAME", "entity_id", "entry_data", "guid_of", "settle"]

SYSTEM_ID = "ipoffice-test-system"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load custom_components/ipoffice in every test of this folder; sockets (to 127.0.0.1 only) are allowed."""


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format, in tests/integration/snapshots/."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create the entities that are disabled by default too."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture(autouse=True)
async def refused_handshakes_ignored(hass: HomeAssistant) -> None:
    """Ignore the simulator's side of a TLS handshake the client refused (see simtools.ignore_refused_handshakes)."""
    ignore_refused_handshakes()


@pytest.fixture
async def sim(hass: HomeAssistant) -> AsyncGenerator[Simulator]:
    """A simulated IP Office with the default office scenario (entries are unloaded before it stops)."""
    simulator = Simulator(SimulatorConfig(host="127.0.0.1", port=0))
    await simulator.start()
    yield simulator
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await simulator.stop()


@pytest.fixture
def options() -> dict[str, Any]:
    """The options of the entry (all users and queues)."""
    return {}


@pytest.fixture
def config_entry(sim: Simulator, options: dict[str, Any]) -> MockConfigEntry:
    """An entry for the simulator (the unique id is fixed so that snapshots do not depend on the certificate)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="IP Office 127.0.0.1",
        unique_id=SYSTEM_ID,
        data=entry_data(sim),
        options=options,
    )


@pytest.fixture
async def init_integration(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry, set up."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


async def settle(hass: HomeAssistant, sim: Simulator) -> None:
    """Wait until the simulator sent everything and Home Assistant handled it."""
    await sim.wait_quiet()
    await hass.async_block_till_done()
