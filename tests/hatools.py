"""Helpers shared by the tests that run the integration in Home Assistant (tests/integration, tests/pair)."""

from __future__ import annotations

from typing import Any

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED
from simulator import Simulator

USERNAME = "ha"
PASSWORD = "secret-pass"


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


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id of an entity of the integration by its unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found
