"""The integration on what differs in the Home Assistant releases it supports before the one the tests pin.

The demo's check runs on the oldest supported release in CI (demo/releases.py); these tests run the integration's
code for those releases on the pinned one, so the suite covers it too.
"""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ipoffice import coordinator
from custom_components.ipoffice.const import DOMAIN, EVENT_CALL
from simulator import Simulator

from .conftest import SYSTEM_ID, guid_of, settle


async def test_devices_before_2026_8(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 2026.8 a device named its hub by the hub's identifier and was found by its identifier alone: the users'
    devices still hang under the system's, and each call event still names its user's device."""
    monkeypatch.setattr(coordinator, "DEVICES_OF_ONE_ENTRY", False)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    registry = dr.async_get(hass)
    system = registry.async_get_device_by_identifier((DOMAIN, SYSTEM_ID), config_entry.entry_id)
    bob = guid_of(sim, "2002")
    device = registry.async_get_device_by_identifier((DOMAIN, bob), config_entry.entry_id)
    assert system is not None
    assert device is not None
    assert device.via_device_id == system.id

    events = async_capture_events(hass, EVENT_CALL)
    call = sim.incoming_call(to="2002", caller="01707123456")
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    named = [event.data["device_id"] for event in events if event.data["extension"] == "2002"]
    assert named
    assert set(named) == {device.id}
