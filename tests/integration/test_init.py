"""Tests of setting up and unloading, setup errors, repairs, availability and dynamic devices."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from collections.abc import Callable

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ipoffice import async_remove_config_entry_device
from custom_components.ipoffice.const import DOMAIN
from simulator import Simulator, SimulatorConfig

from .conftest import PASSWORD, SYSTEM_ID, entity_id, entry_data, guid_of, settle

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


async def _wait_for(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the condition is the client's state, no event to wait on
            await asyncio.sleep(0.02)


async def test_setup_and_unload(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """The entry connects, creates the system device and disconnects on unload."""
    entry = config_entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    assert sim.connection_count == 1
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, SYSTEM_ID), config_entry.entry_id)
    assert device is not None
    assert device.sw_version is not None
    assert device.model == "IP Office"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    await _wait_for(lambda: sim.connection_count == 0)


async def test_auth_failure_starts_reauth(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """A refused service user starts reauthentication."""
    sim.faults.refuse_auth = True
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_service_refused(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """A system without licences is retried and raises a repair issue, removed once it works."""
    sim.faults.refuse_service = True
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert ir.async_get(hass).async_get_issue(DOMAIN, "service_refused") is not None
    sim.faults.refuse_service = False
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "service_refused") is None


async def test_too_many_connections(hass: HomeAssistant) -> None:
    """A system with all its connections taken is retried and raises a repair issue."""
    async with Simulator(SimulatorConfig(max_connections=0)) as sim:
        entry = MockConfigEntry(domain=DOMAIN, unique_id=SYSTEM_ID, data=entry_data(sim))
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert ir.async_get(hass).async_get_issue(DOMAIN, "too_many_connections") is not None
        await hass.config_entries.async_unload(entry.entry_id)


async def test_certificate_changed(hass: HomeAssistant, sim: Simulator) -> None:
    """Another certificate than the pinned one stops the entry and raises a repair issue."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=SYSTEM_ID, data=entry_data(sim, fingerprint=OTHER_FINGERPRINT))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert ir.async_get(hass).async_get_issue(DOMAIN, "certificate_changed") is not None


async def test_cannot_connect(hass: HomeAssistant, sim: Simulator) -> None:
    """An unreachable system is retried."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=SYSTEM_ID, data=entry_data(sim, port=1))
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_unavailable_and_recovery(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything is unavailable while the connection is down; logged once when lost and once when back."""
    coordinator = init_integration.runtime_data
    coordinator.client.backoff_base = 0.05
    coordinator.client.auth_retry_delay = 0.05
    connectivity = entity_id(hass, "binary_sensor", f"{SYSTEM_ID}_connectivity")
    phone = entity_id(hass, "sensor", f"{guid_of(sim, '2001')}_phone_state")
    assert hass.states.get(connectivity).state == STATE_ON
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await _wait_for(lambda: not coordinator.connected)
    await hass.async_block_till_done()
    assert hass.states.get(connectivity).state == STATE_OFF
    assert hass.states.get(phone).state == STATE_UNAVAILABLE
    await asyncio.sleep(0.3)  # a few refused reconnects
    sim.faults.refuse_auth = False
    await _wait_for(lambda: coordinator.connected)
    await hass.async_block_till_done()
    assert hass.states.get(connectivity).state == STATE_ON
    assert hass.states.get(phone).state == "idle"
    # Home Assistant's rule: logged once at info when lost, once when back; the retries only at debug (the client's
    # logger is a child of the integration's: its records count too)
    logged = [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.ipoffice") and record.levelno >= logging.INFO
    ]
    lost = [record for record in logged if "lost" in record.getMessage()]
    assert len(lost) == 1
    assert lost[0].levelno == logging.INFO
    assert coordinator.client.loss_reason
    assert f"({coordinator.client.loss_reason})" in lost[0].getMessage()  # says why
    assert sum("restored" in record.getMessage() for record in logged) == 1
    assert not [record.getMessage() for record in logged if record.getMessage().startswith("Reconnect")]
    # the one warning: a person must give the new password (the reconnects were refused meanwhile)
    assert [record.getMessage() for record in logged if record.levelno >= logging.WARNING] == [
        "IP Office 127.0.0.1 refused the service user's password; asking for it again"
    ]


def _reauth_flows(hass: HomeAssistant) -> list[str]:
    return [
        flow["flow_id"]
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == "reauth"
    ]


async def test_password_changed_while_connected_starts_reauth(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The service user's password changes on the IP Office while connected: the refused reconnect asks for the new
    password at once (not at the next restart), the client slows down instead of hammering the IP Office with the old
    one, and the new password entered in the reauth flow brings the entities back."""
    entry = init_integration
    client = entry.runtime_data.client
    client.backoff_base = 0.01
    client.auth_retry_delay = 0.5
    phone = entity_id(hass, "sensor", f"{guid_of(sim, '2001')}_phone_state")
    new_password = "changed-" + PASSWORD
    sim.config.password = new_password
    sim.faults.drop_all()
    await _wait_for(lambda: bool(_reauth_flows(hass)))
    await hass.async_block_till_done()
    assert hass.states.get(phone).state == STATE_UNAVAILABLE
    await asyncio.sleep(0.3)
    refused = [r.getMessage() for r in caplog.records if "authentication failed" in r.getMessage()]
    assert len(refused) == 1, refused  # one attempt with the old password, then the slow retry
    assert "next attempt in 0.5 s" in refused[0]
    (flow_id,) = _reauth_flows(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_USERNAME: entry.data[CONF_USERNAME], CONF_PASSWORD: new_password}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_PASSWORD] == new_password
    assert entry.runtime_data.client is not client
    await _wait_for(lambda: entry.runtime_data.connected)
    await hass.async_block_till_done()
    assert hass.states.get(phone).state == "idle"
    assert not _reauth_flows(hass)


async def test_password_restored_ends_the_reauth_flow(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """The IP Office accepts the stored password again before anyone answered the reauth flow: the client reconnects
    on its own and the flow, now pointless, is gone."""
    coordinator = init_integration.runtime_data
    coordinator.client.backoff_base = 0.01
    coordinator.client.auth_retry_delay = 0.1
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await _wait_for(lambda: bool(_reauth_flows(hass)))
    sim.faults.refuse_auth = False
    await _wait_for(lambda: coordinator.connected)
    await hass.async_block_till_done()
    assert not _reauth_flows(hass)
    assert init_integration.state is ConfigEntryState.LOADED


@pytest.mark.parametrize("fault", ["refuse_service", "no_connection_left"])
async def test_refused_reconnect_raises_repair_issue(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, fault: str
) -> None:
    """A reconnect refused for want of licences or of free connections raises the repair issue while the client
    retries; it stays across the retries and goes once the connection is back."""
    coordinator = init_integration.runtime_data
    coordinator.client.backoff_base = 0.01
    coordinator.client.backoff_cap = 0.05
    issue_id = "service_refused" if fault == "refuse_service" else "too_many_connections"
    issues = ir.async_get(hass)
    if fault == "refuse_service":
        sim.faults.refuse_service = True
    else:
        sim.config.max_connections = 0
    sim.faults.drop_all()
    await _wait_for(lambda: issues.async_get_issue(DOMAIN, issue_id) is not None)
    attempts = coordinator.client.stats.reconnects
    await asyncio.sleep(0.3)  # more refused attempts: the issue stays
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert not coordinator.connected
    assert coordinator.client.stats.reconnects == attempts
    sim.faults.refuse_service = False
    sim.config.max_connections = 10
    await _wait_for(lambda: coordinator.connected)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    assert not _reauth_flows(hass)


async def test_dynamic_devices(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Users added on the IP Office appear, renamed ones are renamed, removed ones disappear."""
    config_entry = init_integration
    registry = dr.async_get(hass)
    guid = sim.add_user(extn="2020", name="New User")
    await settle(hass, sim)
    await _wait_for(lambda: registry.async_get_device_by_identifier((DOMAIN, guid), config_entry.entry_id) is not None)
    await hass.async_block_till_done()
    phone_state = entity_id(hass, "sensor", f"{guid}_phone_state")
    assert hass.states.get(phone_state).state == "idle"

    sim.change_user("2020", name="Renamed User")
    await settle(hass, sim)
    device = registry.async_get_device_by_identifier((DOMAIN, guid), config_entry.entry_id)
    assert device is not None
    assert device.name == "Renamed User"

    sim.remove_user("2020")
    await settle(hass, sim)
    # The entity id was made from the first name and stays (entity ids do not follow a device's rename).
    assert er.async_get(hass).async_get(phone_state) is None
    assert hass.states.get(phone_state) is None
    assert registry.async_get_device_by_identifier((DOMAIN, guid), config_entry.entry_id) is None


async def test_unexposed_new_user(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """A new user is not exposed when the entry lists its users."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"users": [guid_of(sim, "2001")]})
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    guid = sim.add_user(extn="2020", name="New User")
    await settle(hass, sim)
    assert dr.async_get(hass).async_get_device_by_identifier((DOMAIN, guid), config_entry.entry_id) is None


async def test_stale_devices(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """Devices of users that are gone are removed at setup; only those can be removed by hand."""
    config_entry.add_to_hass(hass)
    registry = dr.async_get(hass)
    stale = registry.async_get_or_create(config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "0" * 32)})
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(stale.id) is None

    alice = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, "2001")), config_entry.entry_id)
    system = registry.async_get_device_by_identifier((DOMAIN, SYSTEM_ID), config_entry.entry_id)
    assert alice is not None
    assert system is not None
    assert not await async_remove_config_entry_device(hass, config_entry, alice)
    assert not await async_remove_config_entry_device(hass, config_entry, system)
    gone = registry.async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, "1" * 32), ("other", "x")}
    )
    assert await async_remove_config_entry_device(hass, config_entry, gone)


async def test_unloaded_entry_leaves_nothing_alive(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """An unloaded entry's coordinator (and the client and model it holds) is freed: reloading an entry, as the
    options flow does, does not keep the old one in memory."""
    coordinator = weakref.ref(init_integration.runtime_data)
    await settle(hass, sim)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    gc.collect()
    assert coordinator() is None


async def test_lines_beyond_the_limit_raise_a_repair_issue(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines lists more users than the client accepts (the limit lowered to 5 for the default office's 12): the entry
    loads with the first ones and a repair issue says what was refused; it goes once the list fits."""
    from custom_components.ipoffice.mtcti3 import client as mtcti3_client

    monkeypatch.setattr(mtcti3_client, "MAX_USERS", 5)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert len(config_entry.runtime_data.client.users) == 5
    assert ir.async_get(hass).async_get_issue(DOMAIN, "too_many_lines") is not None
    monkeypatch.setattr(mtcti3_client, "MAX_USERS", 20_000)
    await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, "too_many_lines") is None
