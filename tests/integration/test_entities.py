"""Tests of the entities: snapshots, states following the simulator, and commands."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.components.switch import SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.components.text import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.config_entries import RELOAD_AFTER_UPDATE_DELAY, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.ipoffice.const import DOMAIN, PLATFORMS
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
from simulator import Simulator, SimulatorConfig
from simulator.scenario import generate_scenario

from .conftest import entity_id, entry_data, guid_of, settle


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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


async def test_forwarding_shown_and_set(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Forwarding on busy (with its destination), on no answer, to voicemail and of hunt group calls show as IP
    Office has them, follow changes made there, and the switches and the text change them on the IP Office."""
    carol, henry, jack = (guid_of(sim, extn) for extn in ("2003", "2008", "2013"))
    busy = entity_id(hass, "switch", f"{carol}_forward_busy")
    no_answer = entity_id(hass, "switch", f"{carol}_forward_no_answer")
    busy_to = entity_id(hass, "text", f"{carol}_forward_busy_destination")
    to_voicemail = entity_id(hass, "switch", f"{jack}_forward_to_voicemail")
    hunt_group = entity_id(hass, "binary_sensor", f"{henry}_forward_hunt_group")
    assert [hass.states.get(entity).state for entity in (busy, no_answer, busy_to, to_voicemail, hunt_group)] == [
        STATE_ON,
        STATE_ON,
        "2001",
        STATE_ON,
        STATE_ON,
    ]
    assert hass.states.get(entity_id(hass, "binary_sensor", f"{carol}_forward_hunt_group")).state == STATE_OFF

    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: busy}, blocking=True)
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: no_answer}, blocking=True)
    await hass.services.async_call(
        "text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: busy_to, ATTR_VALUE: "2002"}, blocking=True
    )
    await hass.services.async_call("switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: to_voicemail}, blocking=True)
    await settle(hass, sim)
    user = sim.model.user("2003")
    assert (user.fwdb, user.fwdna, user.fwdbnumber) == (False, False, "2002")
    assert sim.model.user("2013").fwdtovm is False
    assert [hass.states.get(entity).state for entity in (busy, no_answer, busy_to, to_voicemail)] == [
        STATE_OFF,
        STATE_OFF,
        "2002",
        STATE_OFF,
    ]
    await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: busy}, blocking=True)
    await settle(hass, sim)
    assert sim.model.user("2003").fwdb

    sim.update_user("2008", fwdhg=False)
    sim.update_user("2003", fwdna=True)
    await settle(hass, sim)
    assert hass.states.get(hunt_group).state == STATE_OFF
    assert hass.states.get(no_answer).state == STATE_ON


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    ("extn", "key", "value"),
    [
        ("2005", "forward_destination", "/intrude/2008"),
        ("2005", "forward_destination", "/page/2008"),
        ("2005", "forward_destination", " /intrude/2008"),
        ("2005", "forward_destination", "2003\n"),
        ("2007", "absence_text", "Back\nsoon"),
        ("2007", "absence_text", "\x1b[2J"),
        ("2007", "absence_text", "Back\x00"),
    ],
)
async def test_text_refuses_hostile_values(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, extn: str, key: str, value: str
) -> None:
    """The texts check a new value with the rule of the action that sets the same thing: nothing is sent, the
    state stays what IP Office reported."""
    text = entity_id(hass, "text", f"{guid_of(sim, extn)}_{key}")
    before = hass.states.get(text).state
    client = init_integration.runtime_data.client
    sent = client.stats.frames_out
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: text, ATTR_VALUE: value}, blocking=True
        )
    assert err.value.translation_key == "invalid_value"
    await settle(hass, sim)
    assert client.stats.frames_out == sent
    assert hass.states.get(text).state == before


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
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


# What a user finds enabled without touching the entity settings (docs/entities.md, "Enabled by default").
ENABLED_BY_DEFAULT = {
    "system": {"connectivity", "active_calls", "parked_calls", "emergency_call"},
    "user": {"phone_state", "do_not_disturb", "call"},
    "queue": {"calls_waiting", "service_mode", "call"},
}


def _keys_by_device(hass: HomeAssistant, entry: MockConfigEntry, *, enabled: bool) -> dict[str, set[str]]:
    """The entity keys of each device of the entry (by its model), the enabled or the disabled ones."""
    devices = {device.id: device for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)}
    found: dict[str, set[str]] = {}
    for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        if (entity.disabled_by is None) != enabled:
            continue
        device = devices[entity.device_id or ""]
        kind = {"IP Office": "system", "User": "user", "Queue": "queue"}[device.model or ""]
        ident = next(iter(device.identifiers))[1]
        found.setdefault(f"{kind} {ident}", set()).add(entity.unique_id.removeprefix(f"{ident}_"))
    return found


async def test_enabled_by_default(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """A small office has every entity enabled but the phone fault; disabled ones exist without a state."""
    enabled = _keys_by_device(hass, init_integration, enabled=True)
    disabled = _keys_by_device(hass, init_integration, enabled=False)
    assert len(enabled) == 1 + len(sim.model.users) + len(sim.model.queues)
    bob = guid_of(sim, "2002")
    assert disabled == {f"user {guid_of(sim, user.extn)}": {"phone_fault"} for user in sim.model.users.values()}
    assert {"phone_state", "other_party_number", "missed_calls", "voicemail_new", "forward_unconditional"} <= enabled[
        f"user {bob}"
    ]
    sales = guid_of(sim, "2501")
    members = {f"member_{member.extn}" for member in sim.model.find_queue("2501").members}
    assert {"calls_waiting", "longest_waiting", "agents_available", "in_service"} | members <= enabled[f"queue {sales}"]
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, init_integration.entry_id):
        if entity.disabled_by is not None:
            assert entity.disabled_by is er.RegistryEntryDisabler.INTEGRATION
            assert hass.states.get(entity.entity_id) is None
        else:
            assert hass.states.get(entity.entity_id) is not None


async def test_user_enables_a_disabled_entity(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """Enabling a disabled entity (entity settings > Enabled) reloads the entry and the entity follows the IP Office."""
    bob = guid_of(sim, "2002")
    voicemail = entity_id(hass, "sensor", f"{bob}_voicemail_new")
    er.async_get(hass).async_update_entity(voicemail, disabled_by=er.RegistryEntryDisabler.USER)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(voicemail) is None
    er.async_get(hass).async_update_entity(voicemail, disabled_by=None)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=RELOAD_AFTER_UPDATE_DELAY + 1))
    await hass.async_block_till_done(wait_background_tasks=True)
    await settle(hass, sim)
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get(voicemail).state == "0"
    sim.set_mailbox("2002", new=2)
    await settle(hass, sim)
    assert hass.states.get(voicemail).state == "2"


async def test_large_site_gets_every_user(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    """800 users and 40 queues: every user and queue gets its core entities enabled, far below Home Assistant's cap;
    the others exist, disabled.

    With every entity enabled (about 20 per user) this site would pass the 10,000 enabled entities Home Assistant
    allows per config entry, and Home Assistant would refuse the entities past the 10,000th.
    """
    simulator = Simulator(
        SimulatorConfig(host="127.0.0.1", port=0, scenario=generate_scenario(users=800, queues=40, seed=1))
    )
    await simulator.start()
    try:
        entry = MockConfigEntry(domain=DOMAIN, title="Large", unique_id="large", data=entry_data(simulator))
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        enabled = _keys_by_device(hass, entry, enabled=True)
        assert len(enabled) == 1 + 800 + 40
        for device, keys in enabled.items():
            kind = device.split()[0]
            # a user without the DND feature has no DND switch; the scenario lets every user change it
            assert keys == ENABLED_BY_DEFAULT[kind], device
        total = sum(len(keys) for keys in enabled.values())
        assert total == 4 + 800 * 3 + 40 * 3
        assert all(
            state.state != STATE_UNAVAILABLE
            for state in hass.states.async_all()
            if state.entity_id.startswith(("sensor.", "switch.", "event.", "select.", "binary_sensor."))
        )
        assert "Reached the maximum" not in caplog.text
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await simulator.stop()
