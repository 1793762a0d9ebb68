"""Fixtures of the resilience tests (issue 9): simulated systems on 127.0.0.1, older releases, pairs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Any

import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED
from simulator import Simulator, SimulatorConfig

USERNAME = "ha"
PASSWORD = "secret-pass"
OLD_RELEASE = "11.0.4.2"
FAST_TIMEOUT = 1.0  # seconds a test client waits for a RequestResponse (an 11.0.4.2 system never sends one)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None, socket_enabled: None) -> None:
    """Load custom_components/ipoffice in every test of this folder; sockets (to 127.0.0.1 only) are allowed."""


@pytest.fixture(autouse=True)
async def ignore_refused_handshakes(hass: HomeAssistant) -> None:
    """Ignore the simulator's side of a TLS handshake the client refused (asyncio reports it in debug mode)."""
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


def guid_of(sim: Simulator, extn: str) -> str:
    """The guid (upper-case hex) of a user or queue of the simulator."""
    for item in (*sim.model.users.values(), *sim.model.queues.values()):
        if item.extn == extn:
            return item.guid.hex().upper()
    raise KeyError(extn)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, message: str = "condition") -> None:  # noqa: ASYNC109
    """Poll ``predicate`` until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.01)
