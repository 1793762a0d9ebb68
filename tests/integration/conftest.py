"""Fixtures of the integration tests: a simulated IP Office on 127.0.0.1 and a config entry pinned to it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED
from simulator import Simulator, SimulatorConfig

SYSTEM_ID = "ipoffice-test-system"
USERNAME = "ha"
PASSWORD = "secret-pass"


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
async def ignore_refused_handshakes(hass: HomeAssistant) -> None:
    """Ignore the simulator's side of a TLS handshake the client refused (asyncio reports it in debug mode).

    A client that verifies certificates drops the simulator's self-signed one mid-handshake, as it must; asyncio
    then reports "Error on transport creation for incoming connection" for the listening socket.
    """
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def filtered(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "Error on transport creation for incoming connection":
            return
        if handler is not None:
            handler(loop, context)
        else:  # pragma: no cover - the hass fixture always installs one
            loop.default_exception_handler(context)

    loop.set_exception_handler(filtered)


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


def entry_data(sim: Simulator, **changes: Any) -> dict[str, Any]:
    """The data of an entry pinned to the simulator's certificate."""
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.port,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_TLS_MODE: TLS_PINNED,
        CONF_FINGERPRINT: sim.fingerprint,
        **changes,
    }


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


def guid_of(sim: Simulator, extn: str) -> str:
    """The guid (upper-case hex) of a user or queue of the simulator."""
    model = sim.model
    for item in (*model.users.values(), *model.queues.values()):
        if item.extn == extn:
            return item.guid.hex().upper()
    raise KeyError(extn)


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id of an entity of the integration by its unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


async def settle(hass: HomeAssistant, sim: Simulator) -> None:
    """Wait until the simulator sent everything and Home Assistant handled it."""
    await sim.wait_quiet()
    await hass.async_block_till_done()
