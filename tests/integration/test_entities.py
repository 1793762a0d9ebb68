"""Tests of the entities: snapshots, states following the simulator, and commands."""

from __future__ import annotations

from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.switch import SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.components.text import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.ipoffice.const import PLATFORMS
from custom_components.ipoffice.entity import async_command
from custom_components.ipoffice.mtcti3 import (
    CommandValidationError,
    FeatureNotAvailableError,
    MTCTI3Error,
    NotConnectedError,
    RequestTimeoutError,
    ResultCode,
    ResultError,
)
from simulator import Simulator

from .conftest import entity_id, guid_of, settle


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", PLATFORMS)
async def test_snapshot(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """Every entity of the default office, with its registry entry and state, platform by platform."""
    with patch("custom_components.ipoffice.PLATFORMS", [platform]):
        config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


async def test_user_states(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """User sensors follow the IP Office."""
    bob = guid_of(sim, "2002")
    phone = entity_id(hass, "sensor", f"{bob}_phone_state")
    logged_in = entity_id(hass, "binary_sensor", f"{bob}_logged_in")
    voicemail = entity_id(hass, "sensor", f"{bob}_voicemail_new")
    number = entity_id(hass, "sensor", f"{bob}_other_party_number")
    name = entity_id(hass, "sensor", f"{bob}_other_party_name")
    active = entity_id(hass, "sensor", f"{bob}_active_calls")
    assert hass.states.get(phone).state == "idle"
    assert hass.states.get(logged_in).state == STATE_ON
    assert hass.states.get(number).state == STATE_UNKNOWN

    sim.set_mailbox("2002", new=4)
    sim.set_phone_state("2002", logged_in=False)
    await settle(hass, sim)
    assert hass.states.get(voicemail).state == "4"
    assert hass.states.get(logged_in).state == STATE_OFF
    assert hass.states.get(phone).state == "logout"

    sim.set_phone_state("2002", logged_in=True)
    call = sim.incoming_call(to="2002", caller="01707123456", caller_name="Avaya Test trunk")
    await settle(hass, sim)
    assert hass.states.get(phone).state == "ringing"
    assert hass.states.get(number).state == "01707123456"
    assert hass.states.get(name).state == "Avaya Test trunk"
    assert hass.states.get(active).state == "1"
    sim.answer(call)
    await settle(hass, sim)
    assert hass.states.get(phone).state == "connected"
    sim.hold(call, by="2002")
    await settle(hass, sim)
    assert hass.states.get(phone).state == "connected"
    sim.hangup(call, by="2002")
    await settle(hass, sim)
    assert hass.states.get(phone).state == "idle"
    assert hass.states.get(active).state == "0"


async def test_queue_states(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Queue sensors follow the IP Office."""
    sales = guid_of(sim, "2501")
    waiting = entity_id(hass, "sensor", f"{sales}_calls_waiting")
    longest = entity_id(hass, "sensor", f"{sales}_longest_waiting")
    agents = entity_id(hass, "sensor", f"{sales}_agents_available")
    system_calls = entity_id(hass, "sensor", "ipoffice-test-system_active_calls")
    assert hass.states.get(waiting).state == "0"
    assert hass.states.get(longest).state == STATE_UNKNOWN
    assert hass.states.get(agents).state == "3"
    call = sim.incoming_call(to="2501", caller="01707123456")
    await settle(hass, sim)
    assert hass.states.get(waiting).state == "1"
    assert hass.states.get(longest).state != STATE_UNKNOWN
    assert int(hass.states.get(system_calls).state) >= 1
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    assert hass.states.get(waiting).state == "0"
    assert hass.states.get(system_calls).state == "0"


async def test_user_switches(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Do not disturb, forwarding and twinning are changed on the IP Office."""
    alice = guid_of(sim, "2001")
    dnd = entity_id(hass, "switch", f"{alice}_do_not_disturb")
    assert hass.states.get(dnd).state == STATE_OFF
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: dnd}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(dnd).state == STATE_ON
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: dnd}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(dnd).state == STATE_OFF

    emma = guid_of(sim, "2005")
    forward = entity_id(hass, "switch", f"{emma}_forward_unconditional")
    assert hass.states.get(forward).state == STATE_ON
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: forward}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(forward).state == STATE_OFF

    isabel = guid_of(sim, "2009")
    twinning = entity_id(hass, "switch", f"{isabel}_mobile_twinning")
    assert hass.states.get(twinning).state == STATE_ON
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: twinning}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(twinning).state == STATE_OFF


async def test_texts(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """The forwarding destination and the absence text are changed on the IP Office."""
    emma = guid_of(sim, "2005")
    destination = entity_id(hass, "text", f"{emma}_forward_destination")
    assert hass.states.get(destination).state == "07700900123"
    await hass.services.async_call(
        "text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: destination, ATTR_VALUE: "2003"}, blocking=True
    )
    await settle(hass, sim)
    assert hass.states.get(destination).state == "2003"

    grace = guid_of(sim, "2007")
    absence = entity_id(hass, "text", f"{grace}_absence_text")
    assert hass.states.get(absence).state == "14:00"
    await hass.services.async_call(
        "text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: absence, ATTR_VALUE: "Back at 3"}, blocking=True
    )
    await settle(hass, sim)
    assert hass.states.get(absence).state == "Back at 3"
    await hass.services.async_call("text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: absence, ATTR_VALUE: ""}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(absence).state == ""


async def test_text_longer_than_its_limit(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A forwarding number IP Office reports beyond the limit for new ones (78) is shown, not an error."""
    emma = guid_of(sim, "2005")
    destination = entity_id(hass, "text", f"{emma}_forward_destination")
    sim.update_user("2005", fwdunumber="5" * 100)
    await settle(hass, sim)
    state = hass.states.get(destination)
    assert state.state == "5" * 100
    assert state.attributes["max"] == 100
    sim.update_user("2005", fwdunumber="2003")
    await settle(hass, sim)
    assert hass.states.get(destination).attributes["max"] == 78


async def test_queue_controls(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Service mode, the in-service switch and members are changed on the IP Office."""
    sales = guid_of(sim, "2501")
    mode = entity_id(hass, "select", f"{sales}_service_mode")
    in_service = entity_id(hass, "switch", f"{sales}_in_service")
    member = entity_id(hass, "switch", f"{sales}_member_2002")
    assert hass.states.get(mode).state == "in_service"
    await hass.services.async_call(
        "select", SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: mode, ATTR_OPTION: "night_service"}, blocking=True
    )
    await settle(hass, sim)
    assert hass.states.get(mode).state == "night_service"
    assert hass.states.get(in_service).state == STATE_OFF
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: in_service}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(mode).state == "in_service"
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: in_service}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(mode).state == "out_of_service"

    assert hass.states.get(member).state == STATE_ON
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: member}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(member).state == STATE_OFF
    assert hass.states.get(entity_id(hass, "sensor", f"{sales}_agents_available")).state == "2"
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: member}, blocking=True)
    await settle(hass, sim)
    assert hass.states.get(member).state == STATE_ON


async def test_queue_members_come_and_go(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A member switch is added for a new member and removed with it."""
    sales = guid_of(sim, "2501")
    client = init_integration.runtime_data.client
    await client.add_queue_member(sales, "2005")
    await settle(hass, sim)
    member = entity_id(hass, "switch", f"{sales}_member_2005")
    assert hass.states.get(member).state == STATE_ON
    await client.remove_queue_member(sales, "2005")
    await settle(hass, sim)
    assert er.async_get(hass).async_get_entity_id("switch", "ipoffice", f"{sales}_member_2005") is None


async def test_command_refused(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """A refused command is a translated Home Assistant error."""
    dnd = entity_id(hass, "switch", f"{guid_of(sim, '2001')}_do_not_disturb")
    sim.faults.fail_next(9)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: dnd}, blocking=True)
    assert err.value.translation_key == "command_failed"
    assert err.value.translation_placeholders == {"error": "Not allowed", "code": "9"}


@pytest.mark.parametrize(
    ("error", "kind", "key"),
    [
        (FeatureNotAvailableError("dnd", "allowed"), ServiceValidationError, "feature_not_available"),
        (CommandValidationError("text", "at most 21 characters"), ServiceValidationError, "invalid_value"),
        (NotConnectedError("down"), HomeAssistantError, "not_connected"),
        (RequestTimeoutError("slow"), HomeAssistantError, "request_timeout"),
        (ResultError(ResultCode.MTCTISESS_NOTFOUND), HomeAssistantError, "command_failed"),
        (MTCTI3Error("odd"), HomeAssistantError, "command_error"),
    ],
)
async def test_command_errors(error: Exception, kind: type[Exception], key: str) -> None:
    """Each client error becomes a translated error."""
    with pytest.raises(kind) as raised:
        await async_command(AsyncMock(side_effect=error)())
    assert raised.value.translation_key == key  # type: ignore[attr-defined]


async def test_unavailable_when_user_gone(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """An entity whose user is no longer subscribed is unavailable."""
    alice = guid_of(sim, "2001")
    phone = entity_id(hass, "sensor", f"{alice}_phone_state")
    client = init_integration.runtime_data.client
    with patch.dict(client.users, clear=False):
        del client.users[alice]
        init_integration.runtime_data._on_connection(False)
        init_integration.runtime_data._on_connection(True)
        await hass.async_block_till_done()
        assert hass.states.get(phone).state == STATE_UNAVAILABLE
