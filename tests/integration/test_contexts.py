"""What the state changes of an IP Office report are logged as caused by (their Home Assistant context)."""

from __future__ import annotations

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Context, Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser, async_capture_events

from custom_components.ipoffice.const import EVENT_CALL
from simulator import Simulator

from .conftest import SYSTEM_ID, entity_id, guid_of, settle


def _changes(events: list[Event], entity: str) -> list[Event]:
    return [event for event in events if event.data["entity_id"] == entity]


async def test_a_call_and_what_it_changed_share_one_context(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """An incoming call: Bob's call event entity, his phone state and the system's active calls change in the
    context of the ipoffice_call event that reported the call (the logbook shows them as caused by it), and
    Alice's call to Carol, reported at the same moment, has a context of its own."""
    bob = guid_of(sim, "2002")
    calls = async_capture_events(hass, EVENT_CALL)
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)

    sim.incoming_call(to="2002", caller="01707123456")
    sim.internal_call("2001", "2003")
    await settle(hass, sim)

    incoming = next(event for event in calls if event.data["extension"] == "2002")
    context = incoming.context
    assert context.origin_event is incoming
    for entity in (
        entity_id(hass, "event", f"{bob}_call"),
        entity_id(hass, "sensor", f"{bob}_phone_state"),
        entity_id(hass, "sensor", f"{SYSTEM_ID}_active_calls"),
    ):
        assert [change.context for change in _changes(changes, entity)][:1] == [context], entity
    alice_outgoing = next(event for event in calls if event.data["extension"] == "2001")
    assert alice_outgoing.context is not context
    assert alice_outgoing.context.origin_event is alice_outgoing


async def test_a_switch_turned_by_an_action_keeps_the_actions_context(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, hass_admin_user: MockUser
) -> None:
    """Bob's DND turned on by a user's action: the change IP Office then reports is the action's (the logbook
    names the user), not a report's, while his phone state and login that the same report changed are the
    report's."""
    bob = guid_of(sim, "2002")
    dnd = entity_id(hass, "switch", f"{bob}_do_not_disturb")
    phone_state = entity_id(hass, "sensor", f"{bob}_phone_state")
    logged_in = entity_id(hass, "binary_sensor", f"{bob}_logged_in")
    changes = async_capture_events(hass, EVENT_STATE_CHANGED)
    action = Context(user_id=hass_admin_user.id)
    # Bob's phone logs off at that moment: changed in the model without a report of its own, so that the one
    # NotifyUser that reports the DND reports it too.
    sim.model.user("2002").loggedoff = True

    await hass.services.async_call("switch", "turn_on", {"entity_id": dnd}, blocking=True, context=action)
    await settle(hass, sim)

    assert hass.states.get(dnd).state == "on"
    assert [change.context for change in _changes(changes, dnd)] == [action]
    assert hass.states.get(phone_state).state == "logout"
    assert hass.states.get(logged_in).state == "off"
    (report,) = [change.context for change in _changes(changes, phone_state)]
    assert [change.context for change in _changes(changes, logged_in)] == [report]  # one report, one context
    assert report.id != action.id
    assert report.user_id is None
    assert report.parent_id is None
