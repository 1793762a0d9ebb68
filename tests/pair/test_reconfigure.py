"""Reconfigure trusting a renewed certificate: the entry's unique id follows it, the devices keep theirs."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_SYSTEM_ID, DOMAIN
from simulator import Simulator, SimulatorConfig, generate_scenario

from .conftest import PASSWORD, USERNAME, entry_data

OLD_FINGERPRINT = ":".join(["AB"] * 32)


async def test_renewed_certificate_updates_unique_id(hass: HomeAssistant, sim: Simulator) -> None:
    """After trusting the new certificate, adding the same system again is refused as already configured."""
    entry = MockConfigEntry(
        domain=DOMAIN, title="IP Office", unique_id=OLD_FINGERPRINT, data=entry_data(sim, fingerprint=OLD_FINGERPRINT)
    )
    entry.add_to_hass(hass)
    system_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, OLD_FINGERPRINT)}
    )

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "127.0.0.1", "port": sim.port})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.unique_id == sim.fingerprint
    assert entry.data[CONF_FINGERPRINT] == sim.fingerprint
    assert entry.data[CONF_SYSTEM_ID] == OLD_FINGERPRINT
    assert entry.state.value == "loaded"
    # The system device is the same device: its identifier did not follow the certificate.
    assert entry.runtime_data.system_identifier == OLD_FINGERPRINT
    assert entry.runtime_data.system_device_id == system_device.id

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": sim.port, "username": USERNAME, "password": PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_unchanged_certificate_keeps_unique_id(hass: HomeAssistant, sim: Simulator) -> None:
    """Reconfiguring with the same certificate changes nothing about identity."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"host": "127.0.0.1", "port": sim.port})
    assert result["type"] is FlowResultType.ABORT
    await hass.async_block_till_done()
    assert entry.unique_id == sim.fingerprint
    assert CONF_SYSTEM_ID not in entry.data


async def test_reconfigure_to_another_system_is_refused(hass: HomeAssistant, sim: Simulator) -> None:
    """An address that reaches another IP Office (none of the entry's users on it) changes nothing, even when its
    certificate is trusted: else its set-up would remove every user of the entry as stale."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    devices = len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))
    assert devices > 1

    scenario = generate_scenario(users=5, queues=1, name="Another Site")
    async with Simulator(SimulatorConfig(host="127.0.0.1", port=0, scenario=scenario)) as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"host": "127.0.0.1", "port": other.port}
        )
        assert result["type"] is FlowResultType.MENU
        assert result["description_placeholders"]["fingerprint"] == other.fingerprint
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "trust_certificate"}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "wrong_system"
        await hass.async_block_till_done()
    assert dict(entry.data) == entry_data(sim)
    assert entry.unique_id == sim.fingerprint
    assert len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)) == devices
