"""A resilient pair in Home Assistant: failover and failback with calls on both systems, actions routed to the
system that holds the call, nothing flickering that the other system can serve, no call event lost or repeated."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice.const import DOMAIN, EVENT_CALL
from custom_components.ipoffice.coordinator import IPOfficeCoordinator
from custom_components.ipoffice.mtcti3.pair import PairClient
from simulator.pair import PRIMARY, SECONDARY, SimulatorPair

from .conftest import entity_id, guid_of, pair_data, wait_for


@pytest.fixture
async def entry(hass: HomeAssistant, sims: SimulatorPair) -> MockConfigEntry:
    """An entry of the pair, set up, with clients that recover in a fraction of a second."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=pair_data(sims))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    pair = entry.runtime_data.pair
    assert isinstance(pair, PairClient)
    for client in (pair.primary, pair.secondary):
        client.backoff_base, client.backoff_cap, client.reconcile_delay = 0.05, 0.2, 0.2
    pair.failback_delay = 0.5
    return entry


class Watch:
    """Every state an entity of the integration took, and every ipoffice_call event."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.states: dict[str, list[str]] = defaultdict(list)
        self.calls: list[dict[str, Any]] = []
        hass.bus.async_listen("state_changed", self._state)
        hass.bus.async_listen(EVENT_CALL, lambda event: self.calls.append(dict(event.data)))

    def _state(self, event: Event[Any]) -> None:
        if (new := event.data["new_state"]) is not None:
            self.states[event.data["entity_id"]].append(new.state)

    def of(self, extension: str, gcid: str) -> list[str]:
        return [e["type"] for e in self.calls if e["extension"] == extension and e["gcid"] == gcid]


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_failover_and_failback(
    hass: HomeAssistant, sims: SimulatorPair, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The primary fails and comes back while calls queue on both systems; logged once when lost, once when back."""
    coordinator: IPOfficeCoordinator = entry.runtime_data
    system = sims.primary.fingerprint
    alice, sales = guid_of(sims.primary, "2001"), guid_of(sims.primary, "2501")
    serving = entity_id(hass, "sensor", f"{system}_serving_system")
    connection = entity_id(hass, "binary_sensor", f"{system}_connectivity")
    primary_up = entity_id(hass, "binary_sensor", f"{system}_primary_connectivity")
    waiting = entity_id(hass, "sensor", f"{sales}_calls_waiting")
    dnd = entity_id(hass, "switch", f"{alice}_do_not_disturb")
    phone = entity_id(hass, "sensor", f"{alice}_phone_state")
    sales_device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, sales), entry.entry_id)
    assert sales_device is not None
    watch = Watch(hass)

    on_primary = sims.queue_call(PRIMARY, "2501")
    on_secondary = sims.queue_call(SECONDARY, "2501", caller="01707999888")
    await sims.wait_quiet()
    await wait_for(lambda: _state(hass, waiting) == "2", message="a queue call on each system waits")
    assert _state(hass, serving) == PRIMARY

    # The primary fails: users are served by the secondary; only what the primary alone held changes.
    await sims.take_down(PRIMARY)
    await wait_for(lambda: _state(hass, serving) == SECONDARY, message="failover")
    assert _state(hass, connection) == "on"
    assert _state(hass, primary_up) == "off"
    assert _state(hass, waiting) == "1"
    assert _state(hass, phone) != STATE_UNAVAILABLE

    # Actions go to the system that holds the call, or (settings) to the serving system.
    secondary_id = on_secondary.callid("2501")
    await hass.services.async_call(
        DOMAIN, "set_priority", {ATTR_DEVICE_ID: sales_device.id, "call_id": secondary_id, "priority": 3}, blocking=True
    )
    assert on_secondary.priority == 3
    await hass.services.async_call("switch", "turn_on", {ATTR_ENTITY_ID: dnd}, blocking=True)
    await sims.wait_quiet()
    await wait_for(lambda: _state(hass, dnd) == "on", message="DND on, on the secondary")
    assert sims.secondary.model.user("2001").dnd
    assert sims.primary.model.user("2001").dnd  # the pair keeps settings the same on both systems

    # The primary is back: users fail back once its calls are reconciled, and its queue call shows again.
    await sims.bring_up(PRIMARY)
    await wait_for(lambda: _state(hass, serving) == PRIMARY, message="failback")
    await wait_for(lambda: _state(hass, waiting) == "2", message="both queue calls again")
    primary_id = on_primary.callid("2501")
    await hass.services.async_call(
        DOMAIN, "drop", {ATTR_DEVICE_ID: sales_device.id, "call_id": primary_id}, blocking=True
    )
    await hass.services.async_call(
        DOMAIN, "drop", {ATTR_DEVICE_ID: sales_device.id, "call_id": secondary_id}, blocking=True
    )
    await sims.wait_quiet()
    await wait_for(lambda: _state(hass, waiting) == "0", message="both queue calls dropped")
    assert on_primary.ended
    assert on_secondary.ended

    # Nothing the secondary could serve flickered: no user entity went unavailable, DND never went back off.
    for entity, states in watch.states.items():
        if entity not in (primary_up, waiting, serving) and not entity.startswith("event."):
            assert STATE_UNAVAILABLE not in states, (entity, states)
    assert watch.states[dnd] == ["on"]
    assert watch.states[connection] == []
    # Every queue call was reported once per time it could be seen: the secondary's once, the primary's twice
    # (it could not be seen while the primary was down).
    assert watch.of("2501", on_secondary.gcid) == ["queued", "ended"]
    assert watch.of("2501", on_primary.gcid) == ["queued", "ended", "queued", "ended"]
    assert coordinator.active_calls == 0
    logged = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.ipoffice") and record.levelno >= logging.INFO
    ]
    primary = f"IP Office primary {sims.primary.config.host}"
    assert sum(message.startswith(f"Connection to {primary} lost (") for message in logged) == 1, logged
    assert sum(message == f"Connection to {primary} restored" for message in logged) == 1, logged
    assert not [message for message in logged if "secondary 127" in message or message.startswith("Reconnect")]


async def test_both_down_then_secondary_serves(
    hass: HomeAssistant, sims: SimulatorPair, entry: MockConfigEntry
) -> None:
    """With both systems down the entities are unavailable; the first system back serves them."""
    system = sims.primary.fingerprint
    alice = guid_of(sims.primary, "2001")
    phone = entity_id(hass, "sensor", f"{alice}_phone_state")
    connection = entity_id(hass, "binary_sensor", f"{system}_connectivity")
    serving = entity_id(hass, "sensor", f"{system}_serving_system")
    await sims.take_down(SECONDARY)
    secondary_up = entity_id(hass, "binary_sensor", f"{system}_secondary_connectivity")
    await wait_for(lambda: _state(hass, secondary_up) == "off", message="secondary down")
    assert _state(hass, phone) != STATE_UNAVAILABLE
    await sims.take_down(PRIMARY)
    await wait_for(lambda: _state(hass, phone) == STATE_UNAVAILABLE, message="both down")
    assert _state(hass, connection) == "off"

    await sims.bring_up(SECONDARY)
    await wait_for(lambda: _state(hass, phone) != STATE_UNAVAILABLE, message="the secondary serves")
    assert _state(hass, serving) == SECONDARY
    assert _state(hass, connection) == "on"

    # A user's call on the secondary while the primary is down is reported once.
    watch = Watch(hass)
    call = sims.user_call("2001")
    await sims.wait_quiet()
    await wait_for(lambda: watch.of("2001", call.gcid) == ["incoming"], message="incoming on the secondary")
    await sims.bring_up(PRIMARY)
    await wait_for(lambda: _state(hass, serving) == PRIMARY, message="failback")
    sims.secondary.hangup(call, by="caller")
    await sims.wait_quiet()
    await hass.async_block_till_done()
    # The call was on the secondary only: it ended when users moved to the primary, and its hang-up on the
    # secondary is not reported twice.
    assert watch.of("2001", call.gcid).count("incoming") == 1
    assert watch.of("2001", call.gcid).count("ended") == 1


async def test_secondary_problems_are_its_own_repairs(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """A secondary that refuses is a repair issue naming the secondary; the primary serves meanwhile."""
    sims.secondary.config.max_connections = 0
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=pair_data(sims))
    entry.add_to_hass(hass)
    with patch("custom_components.ipoffice.mtcti3.pair.RETRY_CAP", 0.2):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        registry = ir.async_get(hass)
        issue = registry.async_get_issue(DOMAIN, "too_many_connections_secondary")
        assert issue is not None
        assert issue.translation_key == "too_many_connections"
        assert registry.async_get_issue(DOMAIN, "too_many_connections") is None
        system = sims.primary.fingerprint
        assert _state(hass, entity_id(hass, "sensor", f"{system}_serving_system")) == PRIMARY
        assert _state(hass, entity_id(hass, "binary_sensor", f"{system}_secondary_connectivity")) == "off"

        sims.secondary.config.max_connections = 10
        secondary_up = entity_id(hass, "binary_sensor", f"{system}_secondary_connectivity")
        await wait_for(lambda: _state(hass, secondary_up) == "on", message="the secondary connects")
        assert registry.async_get_issue(DOMAIN, "too_many_connections_secondary") is None

        # The secondary stops accepting the service user: the password is asked for again.
        sims.secondary.config.password = "changed-on-the-secondary"
        await sims.take_down(SECONDARY)
        await sims.bring_up(SECONDARY)
        await wait_for(
            lambda: any(entry.async_get_active_flows(hass, {SOURCE_REAUTH})), message="reauth for the secondary"
        )
        assert _state(hass, entity_id(hass, "sensor", f"{system}_serving_system")) == PRIMARY


async def test_pair_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, sims: SimulatorPair, entry: MockConfigEntry
) -> None:
    """Diagnostics say which system serves and how each connection is; the password stays out."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"
    assert diagnostics["connection"] == {
        "state": "connected",
        "connected": True,
        "secondary_state": "connected",
        "secondary_version": entry.runtime_data.client_of(SECONDARY).system.version,
        "serving": PRIMARY,
    }
    assert "11.1.0.0" in diagnostics["connection"]["secondary_version"]
    assert diagnostics["unknown_fields"] == {}
    # a field neither system's schema knows: each system's notify is counted, one repair issue for the entry
    for system in (PRIMARY, SECONDARY):
        sims.system(system).faults.add_unknown_field("NotifyUser", 91)
    sims.primary.update_user("2001", dnd=True)  # (replicated to the secondary)
    coordinator = entry.runtime_data
    await wait_for(
        lambda: all(coordinator.client_of(system).unknown_fields for system in (PRIMARY, SECONDARY)),
        message="a notify with the unknown field from each system",
    )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["unknown_fields"] == {"NotifyUser": {"91": 2}}
    assert [issue_id for (domain, issue_id) in ir.async_get(hass).issues if domain == DOMAIN] == [
        f"unknown_fields_{entry.entry_id}"
    ]
    await sims.take_down(PRIMARY)
    await wait_for(lambda: entry.runtime_data.serving_system == SECONDARY, message="failover")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["connection"]["serving"] == SECONDARY
    assert diagnostics["connection"]["state"] != "connected"
    assert diagnostics["connection"]["connected"] is True
