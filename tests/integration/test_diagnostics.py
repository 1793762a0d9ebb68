"""Tests of diagnostics: secrets and numbers of the public are redacted."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.ipoffice.const import DOMAIN
from simulator import Simulator

from .conftest import SYSTEM_ID, guid_of, settle

VARYING = props("port", "fingerprint", "started", "state_since", "gcid", "call_id", "created_at", "modified_at")


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry's diagnostics."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert result == snapshot(exclude=VARYING)


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """A user's diagnostics redact the numbers of the public, not extensions; the system gives the entry's."""
    registry = dr.async_get(hass)
    sim.incoming_call(to="2005", caller="01707123456", caller_name="Caller")
    await settle(hass, sim)
    emma = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, "2005")), init_integration.entry_id)
    assert emma is not None
    result = await get_diagnostics_for_device(hass, hass_client, init_integration, emma)
    assert result["model"]["fwdu_number"] == "**REDACTED**"
    assert result["model"]["extn"] == "2005"
    assert "01707123456" not in str(result)
    assert result == snapshot(exclude=VARYING)
    system = registry.async_get_device_by_identifier((DOMAIN, SYSTEM_ID), init_integration.entry_id)
    assert system is not None
    result = await get_diagnostics_for_device(hass, hass_client, init_integration, system)
    assert "connection" in result
