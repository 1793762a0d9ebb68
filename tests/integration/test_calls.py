"""Tests of calls as events: event entities, the ipoffice_call bus event, device triggers and the logbook."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.const import STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import translation
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_get_device_automations,
    async_mock_service,
)

from custom_components.ipoffice.const import DOMAIN, EVENT_CALL
from custom_components.ipoffice.coordinator import call_details, queue_event_type, user_event_type
from custom_components.ipoffice.device_trigger import QUEUE_TRIGGERS, USER_TRIGGERS
from custom_components.ipoffice.logbook import async_describe_events, describe_call
from custom_components.ipoffice.mtcti3 import Call, CallDirection, CallEvent, CallEventType, CallState, Subsystem
from simulator import Simulator

from .conftest import SYSTEM_ID, entity_id, guid_of, settle


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_user_call_events(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """An answered incoming call: event entity, bus events and the missed-call counter."""
    bob = guid_of(sim, "2002")
    event_entity = entity_id(hass, "event", f"{bob}_call")
    missed = entity_id(hass, "sensor", f"{bob}_missed_calls")
    events = async_capture_events(hass, EVENT_CALL)
    assert hass.states.get(event_entity).state == STATE_UNKNOWN

    call = sim.incoming_call(to="2002", caller="01707123456", caller_name="Avaya Test trunk")
    await settle(hass, sim)
    state = hass.states.get(event_entity)
    assert state.attributes["event_type"] == "incoming"
    assert state.attributes["other_party_number"] == "01707123456"
    assert state.attributes["direction"] == "inbound"
    sim.answer(call)
    await settle(hass, sim)
    sim.hold(call, by="2002")
    await settle(hass, sim)
    sim.unhold(call, by="2002")
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    bob_events = [event.data for event in events if event.data["extension"] == "2002"]
    assert [data["type"] for data in bob_events] == ["incoming", "answered", "held", "resumed", "ended"]
    # each moment's state, the one before, and the last live one: an ended call says it ended, and how it was
    assert [(data["state"], data["previous_state"], data["last_state"]) for data in bob_events] == [
        ("ringing", None, "ringing"),
        ("connected", "ringing", "connected"),
        ("onhold", "connected", "onhold"),
        ("connected", "onhold", "connected"),
        ("ended", "connected", "connected"),
    ]
    ended = hass.states.get(event_entity).attributes
    assert (ended["event_type"], ended["state"], ended["previous_state"], ended["last_state"]) == (
        "ended",
        "ended",
        "connected",
        "connected",
    )
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, bob), init_integration.entry_id)
    assert device is not None
    first = bob_events[0]
    assert first["device_id"] == device.id
    assert first["owner"] == "user"
    assert first["name"] == "Bob Jones"
    assert first["other_party_name"] == "Avaya Test trunk"
    assert first["gcid"]
    assert bob_events[-1]["duration"] >= 0
    assert hass.states.get(missed).state == "0"

    call = sim.incoming_call(to="2002", caller="01707999999")
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    missed_call = hass.states.get(event_entity).attributes
    assert (missed_call["event_type"], missed_call["state"], missed_call["last_state"]) == (
        "missed",
        "ended",
        "ringing",
    )
    assert [(e.data["type"], e.data["state"], e.data["previous_state"]) for e in events[-2:]] == [
        ("ended", "ended", "ringing"),
        ("missed", "ended", "ringing"),
    ]
    assert hass.states.get(missed).state == "1"


async def test_outgoing_and_queue_events(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """An outgoing call and a queue call that is answered, then one that is abandoned."""
    events = async_capture_events(hass, EVENT_CALL)
    call = sim.outgoing_call(from_="2003", to="01707123456")
    await settle(hass, sim)
    sim.hangup(call, by="2003")
    await settle(hass, sim)
    assert [e.data["type"] for e in events if e.data["extension"] == "2003"] == ["outgoing", "ended"]

    sales = guid_of(sim, "2501")
    queue_event = entity_id(hass, "event", f"{sales}_call")
    call = sim.incoming_call(to="2501", caller="01707123456")
    await settle(hass, sim)
    assert hass.states.get(queue_event).attributes["event_type"] == "queued"
    sim.answer(call, by="2001")
    await settle(hass, sim)
    sim.hangup(call, by="2001")
    await settle(hass, sim)
    call = sim.incoming_call(to="2501", caller="01707123456")
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    queue_types = [e.data["type"] for e in events if e.data["owner"] == "queue"]
    assert queue_types[0] == "queued"
    assert "answered" in queue_types
    assert queue_types[-2:] == ["ended", "abandoned"]
    abandoned = hass.states.get(queue_event).attributes
    assert (abandoned["event_type"], abandoned["state"], abandoned["previous_state"], abandoned["last_state"]) == (
        "abandoned",
        "ended",
        "ringing",
        "ringing",
    )


def _event(kind: CallEventType, **call: Any) -> CallEvent:
    return CallEvent(kind, Call(call_id=1, owner=Subsystem.USER, owner_guid="G", state=CallState.RINGING, **call), 1.0)


def test_event_type_mapping() -> None:
    """Call events map to the reported moments."""
    assert user_event_type(_event(CallEventType.NEW, direction=CallDirection.UNDEFINED)) == "incoming"
    assert user_event_type(_event(CallEventType.NEW, direction=CallDirection.PICKUP)) == "incoming"
    assert user_event_type(_event(CallEventType.STATE_CHANGED)) is None
    assert queue_event_type(_event(CallEventType.HELD)) is None
    event = CallEvent(
        CallEventType.NEW, Call(call_id=1, owner=Subsystem.QUEUE, owner_guid="G", state=CallState.CONNECTED), 1.0
    )
    assert queue_event_type(event) is None


def test_call_details() -> None:
    """The details carry lower-case names and ISO times (the start formatted once per call, and still right)."""
    call = Call(
        call_id=7,
        owner=Subsystem.USER,
        owner_guid="G",
        state=CallState.CONNECTED,
        direction=CallDirection.INBOUND,
        started=1_700_000_000.25,
    )
    details = call_details(CallEvent(CallEventType.ANSWERED, call, 1_700_000_012.5, previous_state=CallState.RINGING))
    assert details["direction"] == "inbound"
    assert details["state"] == "connected"
    assert details["previous_state"] == "ringing"
    assert details["started"] == "2023-11-14T22:13:20.250000+00:00"
    assert details["timestamp"] == "2023-11-14T22:13:32.500000+00:00"
    assert details["duration"] == 12.2
    later = call_details(CallEvent(CallEventType.HELD, call, 1_700_000_020.0, previous_state=CallState.CONNECTED))
    assert later["started"] == details["started"]
    assert later["previous_state"] == "connected"
    unstarted = Call(call_id=8, owner=Subsystem.USER, owner_guid="G", state=CallState.RINGING)
    assert call_details(CallEvent(CallEventType.NEW, unstarted, 0.0))["started"] is None


async def _sales_call(hass: HomeAssistant, sim: Simulator) -> tuple[list[Event], Any]:
    """A trunk call to the Sales queue (ringing its agents), with the ipoffice_call events from then on."""
    events = async_capture_events(hass, EVENT_CALL)
    call = sim.incoming_call(to="2501", caller="01707123456")
    await settle(hass, sim)
    return events, call


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_queue_call_answered_by_a_colleague(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A Sales call rings Alice, Bob and Carol; Alice answers. Bob and Carol did not miss it (no missed event, their
    missed-call counters stay 0), and every user event names the queue."""
    events, call = await _sales_call(hass, sim)
    sim.answer(call, by="2001")
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    by_user = {
        extn: [event.data["type"] for event in events if event.data["extension"] == extn]
        for extn in ("2001", "2002", "2003")
    }
    assert by_user == {
        "2001": ["incoming", "answered", "ended"],
        "2002": ["incoming", "ended"],
        "2003": ["incoming", "ended"],
    }
    for extn in ("2002", "2003"):
        assert hass.states.get(entity_id(hass, "sensor", f"{guid_of(sim, extn)}_missed_calls")).state == "0"
    user_events = [event.data for event in events if event.data["owner"] == "user"]
    assert {data["queue_name"] for data in user_events} == {"Sales"}


async def test_queue_call_to_voicemail_is_not_abandoned(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A Sales call that voicemail answers, where the caller leaves a message and hangs up, was not abandoned."""
    events, call = await _sales_call(hass, sim)
    sim.to_voicemail(call)
    await settle(hass, sim)
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    sales = [event.data["type"] for event in events if event.data["extension"] == "2501"]
    assert sales[0] == "queued"
    assert sales[-1] == "ended"
    assert "abandoned" not in sales


async def test_device_triggers(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """User and queue devices offer call triggers that fire automations."""
    registry = dr.async_get(hass)
    entry_id = init_integration.entry_id
    bob = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, "2002")), entry_id)
    sales = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, "2501")), entry_id)
    system = registry.async_get_device_by_identifier((DOMAIN, SYSTEM_ID), entry_id)
    assert bob is not None
    assert sales is not None
    assert system is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, bob.id)
    assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == {
        "incoming_call",
        "outgoing_call",
        "call_answered",
        "call_ended",
        "call_missed",
    }
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, sales.id)
    assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == {
        "queue_call_waiting",
        "queue_call_answered",
        "queue_call_abandoned",
    }
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, system.id)
    assert [t for t in triggers if t["domain"] == DOMAIN] == []
    # The triggers belong to the device, not to an entity: the automation editor has no entity name to put in their
    # labels (it showed "Incoming call on <unknown entity>").
    labels = await translation.async_get_translations(hass, "en", "device_automation", [DOMAIN])
    for trigger in (*USER_TRIGGERS, *QUEUE_TRIGGERS):
        label = labels[f"component.{DOMAIN}.device_automation.trigger_type.{trigger}"]
        assert "{" not in label, label

    calls: list[ServiceCall] = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "trigger": {"platform": "device", "domain": DOMAIN, "device_id": bob.id, "type": "incoming_call"},
                    "action": {"service": "test.automation", "data": {"what": "incoming"}},
                },
                {
                    "trigger": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": sales.id,
                        "type": "queue_call_waiting",
                    },
                    "action": {"service": "test.automation", "data": {"what": "waiting"}},
                },
            ]
        },
    )
    sim.incoming_call(to="2002", caller="01707123456")
    sim.incoming_call(to="2501", caller="01707123457")
    await settle(hass, sim)
    assert {call.data["what"] for call in calls} == {"incoming", "waiting"}  # Bob is also a Sales agent


def test_logbook_words() -> None:
    """Calls are described in words."""
    assert describe_call({"type": "incoming", "other_party_number": "123", "other_party_name": "Ann"}) == (
        "incoming call from Ann (123)"
    )
    assert describe_call({"type": "ended", "other_party_number": "123", "duration": 75}) == (
        "call with 123 ended after 1 min 15 s"
    )
    assert describe_call({"type": "missed"}) == "missed a call from an unknown party"
    assert describe_call({"type": "other"}) == "call with an unknown party: other"


def test_logbook_describes_event(hass: HomeAssistant) -> None:
    """The logbook platform registers a description of ipoffice_call."""
    described: dict[str, Any] = {}

    def register(domain: str, event_type: str, describe: Any) -> None:
        described[event_type] = describe

    async_describe_events(hass, register)
    event = Event(EVENT_CALL, {"type": "held", "name": "Bob Jones", "other_party_number": "2003", "duration": 3})
    assert described[EVENT_CALL](event) == {"name": "Bob Jones", "message": "call with 2003 put on hold"}
