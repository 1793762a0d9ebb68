"""What the events and entities tell about a call beyond who and how: the number dialled in, a withheld caller, a
diversion, an emergency, a queue's overflow, the conference members, the devices at each end and the UCID."""

from __future__ import annotations

import re

import pytest
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ipoffice.const import EVENT_CALL
from custom_components.ipoffice.logbook import describe_call
from simulator import Simulator

from .conftest import SYSTEM_ID, entity_id, guid_of, settle


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_number_dialled_in_and_withheld_caller(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A trunk call says which of the office's numbers was dialled, on the events and on the phone state; a caller
    that withheld its number shows as withheld, not as an unknown number."""
    isabel = guid_of(sim, "2009")
    phone = entity_id(hass, "sensor", f"{isabel}_phone_state")
    number = entity_id(hass, "sensor", f"{isabel}_other_party_number")
    events = async_capture_events(hass, EVENT_CALL)
    assert hass.states.get(phone).attributes["did"] is None

    call = sim.incoming_call(to="2009", caller="01707123456", did="01707555100")
    await settle(hass, sim)
    (incoming,) = (event.data for event in events if event.data["extension"] == "2009")
    assert incoming["did"] == "01707555100"
    assert incoming["other_party_withheld"] is False
    assert re.fullmatch(r"[0-9A-F]{16}", incoming["ucid"])
    assert hass.states.get(phone).attributes["did"] == "01707555100"
    state = hass.states.get(number)
    assert (state.state, state.attributes["withheld"], state.attributes["did"]) == (
        "01707123456",
        False,
        "01707555100",
    )
    sim.hangup(call, by="caller")
    await settle(hass, sim)

    events.clear()
    call = sim.incoming_call(to="2009", caller="01707123456", did="01707555200", withheld=True)
    await settle(hass, sim)
    (incoming,) = (event.data for event in events if event.data["extension"] == "2009")
    assert incoming["other_party_withheld"] is True
    assert not incoming["other_party_number"]
    assert describe_call(incoming) == "incoming call from a withheld number"
    state = hass.states.get(number)
    assert (state.state, state.attributes["withheld"], state.attributes["did"]) == ("Withheld", True, "01707555200")
    sim.answer(call, by="2009")
    await settle(hass, sim)
    assert hass.states.get(number).state == "Withheld"
    assert events[-1].data["other_party_withheld"] is True
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    assert hass.states.get(phone).attributes["did"] is None


async def test_emergency_call(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """An emergency call turns the system's Emergency call sensor on, naming the extension, and its events say so;
    the sensor turns off when the call ends."""
    emergency = entity_id(hass, "binary_sensor", f"{SYSTEM_ID}_emergency_call")
    assert hass.states.get(emergency).state == STATE_OFF
    events = async_capture_events(hass, EVENT_CALL)
    other = sim.outgoing_call(from_="2002", to="01707123456")
    await settle(hass, sim)
    assert hass.states.get(emergency).state == STATE_OFF
    assert events[-1].data["emergency"] is False

    call = sim.outgoing_call(from_="2003", to="112")
    await settle(hass, sim)
    state = hass.states.get(emergency)
    assert (state.state, state.attributes["extensions"]) == (STATE_ON, ["2003"])
    (outgoing,) = (event.data for event in events if event.data["extension"] == "2003")
    assert (outgoing["type"], outgoing["emergency"]) == ("outgoing", True)
    assert describe_call(outgoing) == "emergency call: outgoing call to 112"
    sim.hangup(call, by="2003")
    await settle(hass, sim)
    assert hass.states.get(emergency).state == STATE_OFF
    assert hass.states.get(emergency).attributes["extensions"] == []
    sim.hangup(other, by="2002")
    await settle(hass, sim)


async def test_emergency_known_once_dialled(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A call that becomes an emergency call only once dialled (first seen at dial tone) turns the sensor on then;
    the sensor reads the calls IP Office has when the entry starts."""
    emergency = entity_id(hass, "binary_sensor", f"{SYSTEM_ID}_emergency_call")
    coordinator = init_integration.runtime_data
    bob = coordinator.client.user_by_extn("2002")
    assert bob is not None
    await coordinator.client.make_call(bob, "")  # dial tone
    await settle(hass, sim)
    assert hass.states.get(emergency).state == STATE_OFF
    (call_id,) = bob.calls
    await coordinator.client.dial_digits(bob, call_id, "999#")
    await settle(hass, sim)
    assert hass.states.get(emergency).state == STATE_ON
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await settle(hass, sim)
    assert hass.states.get(emergency).state == STATE_ON
    assert hass.states.get(emergency).attributes["extensions"] == ["2002"]


async def test_diversion_overflow_and_devices(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A call Frank's forwarding sent to Bob names Frank and why; a Sales call passed to Support names Support on
    its events; an answered call names the devices at each end."""
    events = async_capture_events(hass, EVENT_CALL)
    sim.update_user("2006", fwdu=True, fwdunumber="2002")
    call = sim.internal_call(from_="2001", to="2006")
    await settle(hass, sim)
    (incoming,) = (event.data for event in events if event.data["extension"] == "2002")
    assert (incoming["original_called_number"], incoming["original_called_name"]) == ("2006", "Frank Miller")
    assert incoming["diversion_reason"] == 15
    assert "local_device" not in incoming
    sim.answer(call, by="2002")
    await settle(hass, sim)
    answered = next(e.data for e in events if e.data["extension"] == "2002" and e.data["type"] == "answered")
    assert answered["local_device"] == {"device_class": 1, "device_type": 1, "device_instance": 0, "teleworker": None}
    assert answered["remote_device"] == answered["local_device"]  # Alice's desk phone
    sim.hangup(call, by="2001")
    await settle(hass, sim)

    events.clear()
    coordinator = init_integration.runtime_data
    sales = coordinator.client.queue_by_extn("2501")
    assert sales is not None
    call = sim.incoming_call(to="2501", caller="01707123456", did="01707555300")
    await settle(hass, sim)
    (call_id,) = sales.calls
    await coordinator.client.blind_transfer(sales, call_id, "2502")
    await settle(hass, sim)
    sim.answer(call, by="2003")
    await settle(hass, sim)
    answered = [event.data for event in events if event.data["type"] == "answered"]
    assert {data["extension"] for data in answered} == {"2501", "2003"}
    for data in answered:
        assert (data["overflow_queue_number"], data["overflow_queue_name"], data["did"]) == (
            "2502",
            "Support",
            "01707555300",
        )
    sim.hangup(call, by="caller")
    await settle(hass, sim)


async def test_conference_members(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Once Bob's call is a conference, its events list the other members with their number, state and mute."""
    events = async_capture_events(hass, EVENT_CALL)
    client = init_integration.runtime_data.client
    bob = client.user_by_extn("2002")
    assert bob is not None
    call = sim.incoming_call(to="2002", caller="0123")
    await settle(hass, sim)
    sim.answer(call)
    await settle(hass, sim)
    (call_id,) = bob.calls
    assert events[-1].data["conference_members"] is None
    await client.setup_conference(bob, call_id, "0456")
    await settle(hass, sim)
    await client.complete_conference(bob, call_id)
    await settle(hass, sim)
    resumed = next(e.data for e in events if e.data["type"] == "resumed" and e.data["call_id"] == call_id)
    members = sorted(resumed["conference_members"], key=lambda member: member["number"])
    assert [(m["number"], m["name"], m["state"], m["mute"]) for m in members] == [
        ("0123", None, "connected", False),
        ("0456", None, "connected", False),
    ]
    assert len({member["lref"] for member in members}) == 2
    sim.hangup(call, by="caller")
    await settle(hass, sim)


def test_logbook_words_of_withheld_callers() -> None:
    """A withheld caller is described as one, with its name when IP Office has it."""
    assert describe_call({"type": "missed", "other_party_withheld": True}) == "missed a call from a withheld number"
    assert describe_call({"type": "incoming", "other_party_name": "Ann", "other_party_withheld": True}) == (
        "incoming call from Ann (number withheld)"
    )
