"""Tests of the actions: each one's effect as the simulated IP Office reports it back, over real sockets."""

from __future__ import annotations

import logging
from typing import Any

import probatio as vol
import pytest
from homeassistant.core import Context, HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_device
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice.const import DOMAIN, EVENT_CALL
from custom_components.ipoffice.mtcti3 import AbsenceMessage, Call, CallState, IPOfficeClient, ServiceMode
from simulator import Simulator

from .conftest import entity_id, guid_of, settle

BOB = "2002"
CAROL = "2003"
KAREN = "2011"  # logged out
SALES = "2501"


def client_of(entry: MockConfigEntry) -> IPOfficeClient:
    """The client of the entry (its models are what the notifies said)."""
    client: IPOfficeClient = entry.runtime_data.client
    return client


def device_of(hass: HomeAssistant, sim: Simulator, extn: str) -> str:
    """The device id of a user or queue."""
    entry_id = hass.config_entries.async_entries(DOMAIN)[0].entry_id
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, guid_of(sim, extn)), entry_id)
    assert device is not None
    return device.id


def calls_of(entry: MockConfigEntry, sim: Simulator, extn: str) -> list[Call]:
    """The calls of a user or queue, as the integration knows them."""
    client = client_of(entry)
    guid = guid_of(sim, extn)
    owner = client.users.get(guid) or client.queues[guid]
    return list(owner.calls.values())


def only_call(entry: MockConfigEntry, sim: Simulator, extn: str) -> Call:
    """The one call of a user or queue."""
    calls = calls_of(entry, sim, extn)
    assert len(calls) == 1, calls
    return calls[0]


async def act(
    hass: HomeAssistant, sim: Simulator, action: str, extn: str | None = None, **data: Any
) -> ServiceResponse:
    """Run an action on a user or queue (by its device) and wait for the notifies it causes."""
    if extn is not None:
        data["device_id"] = device_of(hass, sim, extn)
    response = await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=action in ("make_call", "unpark")
    )
    await settle(hass, sim)
    return response


async def refused(hass: HomeAssistant, sim: Simulator, key: str, action: str, extn: str | None, **data: Any) -> str:
    """Run an action that must be refused with the translated ServiceValidationError ``key``; its message."""
    with pytest.raises(ServiceValidationError) as err:
        await act(hass, sim, action, extn, **data)
    assert err.value.translation_key == key
    return str(err.value)


async def incoming(hass: HomeAssistant, sim: Simulator, to: str = BOB, *, answer: bool = False) -> Any:
    """A trunk call to ``to`` (answered by it when ``answer``)."""
    call = sim.incoming_call(to=to, caller="01707123456", caller_name="Avaya Test trunk")
    await settle(hass, sim)
    if answer:
        await act(hass, sim, "answer", to)
    return call


async def test_answer_hold_unhold_drop(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """The unambiguous call is picked: the ringing one to answer, the connected one to hold, the held one after."""
    await incoming(hass, sim)
    assert only_call(init_integration, sim, BOB).state is CallState.RINGING
    await act(hass, sim, "answer", BOB, device="deskphoneany")
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED
    await act(hass, sim, "hold", BOB)
    assert only_call(init_integration, sim, BOB).state is CallState.ONHOLD
    await act(hass, sim, "unhold", BOB)
    call = only_call(init_integration, sim, BOB)
    assert call.state is CallState.CONNECTED
    await act(hass, sim, "drop", BOB, call_id=call.call_id)
    assert calls_of(init_integration, sim, BOB) == []


async def test_call_settings(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Tag, account and auth codes, DTMF, recording and privacy on a connected call (targeted by an entity)."""
    await incoming(hass, sim, answer=True)
    phone = entity_id(hass, "sensor", f"{guid_of(sim, BOB)}_phone_state")
    call_id = only_call(init_integration, sim, BOB).call_id
    await act(hass, sim, "set_tag", entity_id=phone, call_id=call_id, tag="VIP customer")
    await act(hass, sim, "set_account_code", BOB, code="1000")
    await act(hass, sim, "set_auth_code", BOB, code="4321")
    await act(hass, sim, "send_dtmf", BOB, digits="12*#")
    await act(hass, sim, "start_recording", BOB)
    await act(hass, sim, "pause_recording", BOB)
    await act(hass, sim, "privacy_on", BOB)
    call = only_call(init_integration, sim, BOB)
    assert (call.tag, call.account_code) == ("VIP customer", "1000")
    assert (call.recording, call.recording_paused, call.privacy) == (True, True, True)
    await act(hass, sim, "resume_recording", BOB)
    await act(hass, sim, "stop_recording", BOB)
    await act(hass, sim, "privacy_off", BOB)
    await act(hass, sim, "set_tag", BOB)
    call = only_call(init_integration, sim, BOB)
    assert (call.tag, call.recording, call.recording_paused, call.privacy) == ("", False, False, False)


async def test_blind_transfer_forms(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """A plain transfer, a voicemail callflow and a MeetMe conference with a PIN ("/type/destination")."""
    first = await incoming(hass, sim, answer=True)
    await act(hass, sim, "blind_transfer", BOB, target=CAROL)
    assert calls_of(init_integration, sim, BOB) == []
    assert only_call(init_integration, sim, CAROL).state is CallState.RINGING

    sim_call = await incoming(hass, sim, answer=True)
    await act(hass, sim, "blind_transfer", BOB, target="Callflow", transfer_type="voicemail")
    assert calls_of(init_integration, sim, BOB) == []
    assert (sim_call.b.kind, sim_call.b.number) == ("vm", "Callflow")

    sim.hangup(first, by="caller")
    sim_call = await incoming(hass, sim, to=CAROL, answer=True)
    await act(hass, sim, "blind_transfer", CAROL, target="2005", transfer_type="meetme", pin="1234")
    assert calls_of(init_integration, sim, CAROL) == []
    assert (sim_call.b.kind, sim_call.b.number) == ("conf", "2005")


async def test_transfer_validation(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """The schema checks the target; the client re-checks the composed "/type/destination;PIN" form."""
    await incoming(hass, sim, answer=True)
    with pytest.raises(vol.Invalid, match="1 to 78 characters"):  # before anything is sent
        await act(hass, sim, "blind_transfer", BOB, target="1" * 79)
    await refused(hass, sim, "pin_needs_meetme", "blind_transfer", BOB, target=CAROL, pin="1234")
    message = await refused(
        hass, sim, "invalid_value", "blind_transfer", BOB, target="2" * 70, transfer_type="meetme", pin="1234"
    )
    assert "78" in message
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED


async def test_redirect_park_unpark(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """A ringing call redirected, parked, then unparked to another user, who gets the reference id."""
    await incoming(hass, sim)
    await act(hass, sim, "redirect", BOB, target=CAROL)
    assert calls_of(init_integration, sim, BOB) == []
    await act(hass, sim, "answer", CAROL)
    await act(hass, sim, "park", CAROL, slot="7")
    assert calls_of(init_integration, sim, CAROL) == []
    assert "7" in client_of(init_integration).parked_calls
    response = await act(hass, sim, "unpark", BOB, slot="7")
    assert response is not None
    call = only_call(init_integration, sim, BOB)
    assert call.reference_id == response["reference_id"] > 0


async def test_consulted_transfer(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Set up a transfer to Carol, she answers, complete it: the caller talks to Carol, Bob is free. For Carol the
    call goes on, with another party (no end, no new incoming call while she talks); for Bob it is transferred."""
    await incoming(hass, sim, answer=True)
    await act(hass, sim, "setup_transfer", BOB, target=CAROL)
    states = sorted(c.state.name for c in calls_of(init_integration, sim, BOB))
    assert states == ["ONHOLDPENDTRANSFER", "RINGBACK"]
    await act(hass, sim, "answer", CAROL)
    events = async_capture_events(hass, EVENT_CALL)
    # the other call must be one of Bob's (call ids are per user): a clear refusal, nothing sent
    await refused(hass, sim, "call_not_found", "complete_transfer", BOB, other_call_id=999)
    assert len(calls_of(init_integration, sim, BOB)) == 2
    await act(hass, sim, "complete_transfer", BOB)
    assert calls_of(init_integration, sim, BOB) == []
    # Carol talks to the caller now: her call goes on, its other party changed
    assert [event.data["type"] for event in events if event.data["extension"] == CAROL] == ["transferred"]
    assert "transferred" in [event.data["type"] for event in events if event.data["extension"] == BOB]
    call = only_call(init_integration, sim, CAROL)
    assert call.state is CallState.CONNECTED
    assert call.other_party is not None
    assert call.other_party.number == "01707123456"


async def test_conference(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Conference the caller and Carol, mute members, invite David, then force-clear it all."""
    await incoming(hass, sim, answer=True)
    await act(hass, sim, "setup_conference", BOB, target=CAROL)
    await act(hass, sim, "answer", CAROL)
    await refused(hass, sim, "call_not_found", "complete_conference", BOB, other_call_ids=[999])
    await act(hass, sim, "complete_conference", BOB)
    call = only_call(init_integration, sim, BOB)
    assert {m.party.number for m in call.conference_members} == {"01707123456", CAROL}
    await act(hass, sim, "conference_member", BOB, member=CAROL, operation="mute")
    carol = next(m for m in only_call(init_integration, sim, BOB).conference_members if m.party.number == CAROL)
    assert carol.mute
    await refused(hass, sim, "conference_member_not_found", "conference_member", BOB, member="9", operation="drop")
    await act(hass, sim, "mute", BOB)
    assert only_call(init_integration, sim, BOB).mute
    await act(hass, sim, "unmute", BOB)
    await act(hass, sim, "add_to_conference", BOB, target="2004")
    assert len(only_call(init_integration, sim, BOB).conference_members) == 3
    await act(hass, sim, "conference_member", BOB, member=str(carol.lref), operation="drop")
    assert calls_of(init_integration, sim, CAROL) == []
    await act(hass, sim, "force_clear", BOB)
    assert calls_of(init_integration, sim, BOB) == []
    assert sim.active_calls == []


async def test_make_call(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """make_call returns the reference id the new call carries; IP Office's refusal comes back by its meaning."""
    response = await act(
        hass, sim, "make_call", BOB, target=CAROL, account_code="1000", tag="callback", withhold_cli=True
    )
    assert response is not None
    call = only_call(init_integration, sim, BOB)
    assert call.reference_id == response["reference_id"]
    assert call.tag == "callback"
    assert only_call(init_integration, sim, CAROL).state is CallState.RINGING
    await act(hass, sim, "drop", BOB)
    response = await act(hass, sim, "make_call", BOB, target="2005", call_type="meetme")
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED
    await act(hass, sim, "drop", BOB)

    with pytest.raises(HomeAssistantError) as err:
        await act(hass, sim, "make_call", BOB, target=CAROL, account_code="5555")
    assert err.value.translation_key == "action_failed"
    assert err.value.translation_placeholders == {
        "action": "make_call",
        "error": "The account code entered is not valid",
        "name": "MTCTISESS_CALLCONTROL_BADACCT",
    }
    assert "The account code entered is not valid" in str(err.value)


async def test_dial_and_push_to_mobile(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Overlap dialling from dial tone; a call pushed to the mobile twin of a user who has one."""
    await act(hass, sim, "make_call", BOB, target="")
    assert only_call(init_integration, sim, BOB).state is CallState.DIALTONE
    await act(hass, sim, "dial", BOB, digits=CAROL)
    assert only_call(init_integration, sim, CAROL).state is CallState.RINGING
    await act(hass, sim, "drop", BOB)
    await act(hass, sim, "set_mobile_twinning", BOB, enabled=True)
    await incoming(hass, sim, answer=True)
    await act(hass, sim, "push_to_mobile", BOB)
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED
    await incoming(hass, sim, to=CAROL, answer=True)
    message = await refused(hass, sim, "action_not_available", "push_to_mobile", CAROL)
    assert "connected" in message


async def test_queue_call_actions(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Priority and finish on a queue's waiting call."""
    await incoming(hass, sim, to=SALES)
    await act(hass, sim, "set_priority", SALES, priority="3")
    assert only_call(init_integration, sim, SALES).queue_priority == 3
    await refused(hass, sim, "not_a_queue", "set_priority", BOB, priority=1)
    await act(hass, sim, "finish", SALES, immediately=True)
    assert calls_of(init_integration, sim, SALES) == []


async def test_user_settings(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """DND, forwarding, absence, twinning, hot desk and voicemail counts, as the user's notifies report them."""
    user = client_of(init_integration).users[guid_of(sim, BOB)]
    await act(hass, sim, "set_do_not_disturb", BOB, enabled=True)
    await act(hass, sim, "set_forward_unconditional", BOB, enabled=True, destination="07700900123")
    await act(hass, sim, "set_forward_busy", BOB, enabled=True, destination="2003")
    await act(hass, sim, "set_forward_no_answer", BOB, enabled=True)
    await act(hass, sim, "set_absence", BOB, message="at_lunch_until", text="14:00")
    await act(hass, sim, "set_mobile_twinning", BOB, enabled=True)
    await act(hass, sim, "hot_desk_login", BOB, extension="2011")
    await act(hass, sim, "set_voicemail_counts", BOB, new=2, old=1)
    assert (user.dnd, user.fwdu, user.fwdu_number, user.fwdb, user.fwdb_number, user.fwdna) == (
        True,
        True,
        "07700900123",
        True,
        "2003",
        True,
    )
    assert user.absence is not None
    assert (user.absence.message, user.absence.text) == (AbsenceMessage.AT_LUNCH_UNTIL, "14:00")
    assert (user.ec500, user.logged_in_extn) == (True, "2011")
    assert user.mailbox is not None
    assert (user.mailbox.new, user.mailbox.old, user.mailbox.saved) == (2, 1, 0)
    await act(hass, sim, "set_do_not_disturb", BOB, enabled=False)
    await act(hass, sim, "set_forward_unconditional", BOB, enabled=False, to_voicemail=True)
    await act(hass, sim, "clear_absence", BOB)
    await act(hass, sim, "send_short_code", BOB, code=18)  # voicemail off
    assert (user.dnd, user.fwdu, user.fwd_to_voicemail, user.absence, user.voicemail) == (
        False,
        False,
        True,
        None,
        False,
    )


async def test_queue_settings(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Service mode, voicemail and members of a queue."""
    queue = client_of(init_integration).queues[guid_of(sim, SALES)]
    await act(hass, sim, "set_queue_service_mode", SALES, mode="night_service")
    await act(hass, sim, "set_queue_voicemail", SALES, enabled=False)
    await act(hass, sim, "add_queue_member", SALES, extension="2004", enabled=False)
    assert (queue.service_mode, queue.voicemail) == (ServiceMode.NIGHT_SERVICE, False)
    assert {m.extn: m.disabled for m in queue.members}["2004"] is True
    await act(hass, sim, "set_queue_member_enabled", SALES, extension="2004", enabled=True)
    assert {m.extn: m.disabled for m in queue.members}["2004"] is False
    await act(hass, sim, "remove_queue_member", SALES, extension="2004")
    assert "2004" not in {m.extn for m in queue.members}
    await refused(hass, sim, "not_a_member", "remove_queue_member", SALES, extension="2004")
    await refused(hass, sim, "unknown_extension", "add_queue_member", SALES, extension="7777")
    await refused(hass, sim, "not_a_user", "set_do_not_disturb", SALES, enabled=True)


async def test_call_selection_refusals(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """No call, two calls, an unknown call id, an action the call does not offer now: refused, nothing sent."""
    client = client_of(init_integration)

    async def refused_unsent(key: str, action: str, **data: Any) -> str:
        sent = client.stats.frames_out
        message = await refused(hass, sim, key, action, BOB, **data)
        assert client.stats.frames_out == sent, f"{key}: a frame was sent"
        return message

    message = await refused_unsent("no_call", "answer")
    assert "answer" in message
    await refused_unsent("call_not_found", "drop", call_id=424242)
    await incoming(hass, sim)
    sim.incoming_call(to=BOB, caller="01707999999")
    await settle(hass, sim)
    await refused_unsent("ambiguous_call", "answer")
    call_id = min(c.call_id for c in calls_of(init_integration, sim, BOB))
    message = await refused_unsent("action_not_available", "hold", call_id=call_id)
    assert "ringing" in message
    assert {c.state for c in calls_of(init_integration, sim, BOB)} == {CallState.RINGING}
    await act(hass, sim, "answer", BOB, call_id=call_id)
    await act(hass, sim, "hold", BOB)  # the connected one, though two calls
    states = {c.call_id: c.state for c in calls_of(init_integration, sim, BOB)}
    assert states.pop(call_id) is CallState.ONHOLD
    assert list(states.values()) == [CallState.RINGING]


async def test_target_refusals(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Only users and queues of a loaded entry of ours are acted on."""
    await refused(hass, sim, "unknown_device", "set_do_not_disturb", None, device_id="nope", enabled=True)
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    registry = dr.async_get(hass)
    foreign = registry.async_get_or_create(config_entry_id=other.entry_id, identifiers={("other", "x")}, name="Foo")
    await refused(hass, sim, "not_our_device", "set_do_not_disturb", None, device_id=foreign.id, enabled=True)
    hass.states.async_set("light.kitchen", "on")
    await refused(hass, sim, "not_our_entity", "set_do_not_disturb", None, entity_id="light.kitchen", enabled=True)
    phone = entity_id(hass, "sensor", f"{guid_of(sim, BOB)}_phone_state")
    await refused(hass, sim, "target_mismatch", "set_do_not_disturb", CAROL, entity_id=phone, enabled=True)
    await refused(
        hass, sim, "not_a_user_or_queue", "drop", None, device_id=init_integration.runtime_data.system_device_id
    )
    odd = registry.async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={("other", "y")}, name="Odd device"
    )
    await refused(hass, sim, "not_a_user", "set_do_not_disturb", None, device_id=odd.id, enabled=True)
    with pytest.raises(Exception, match="device_id"):
        await act(hass, sim, "set_do_not_disturb", None, enabled=True)
    bob = device_of(hass, sim, BOB)
    await hass.config_entries.async_unload(init_integration.entry_id)
    await refused(hass, sim, "entry_not_loaded", "set_do_not_disturb", None, device_id=bob, enabled=True)


async def test_unexposed_user_refused(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """A device that names a user the entry does not expose is refused, even if it was made by hand."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(config_entry, options={"users": [guid_of(sim, BOB)], "queues": []})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=config_entry.entry_id, identifiers={(DOMAIN, guid_of(sim, CAROL))}, name="Carol"
    )
    await refused(hass, sim, "not_a_user", "set_do_not_disturb", None, device_id=device.id, enabled=True)
    assert client_of(config_entry).users.keys() == {guid_of(sim, BOB)}


async def test_acts_only_on_exposed_phones(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """With Bob and Sales exposed, nothing reaches Carol's phone but ringing it: no listening in, no pickup, no
    answering on her handset, no hot-desking onto her extension, no change of her queue membership."""
    config_entry.add_to_hass(hass)
    options = {"users": [guid_of(sim, BOB)], "queues": [guid_of(sim, SALES)]}
    hass.config_entries.async_update_entry(config_entry, options=options)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    for call_type in ("intrude", "pickup", "force_feed", "page"):
        message = await refused(hass, sim, "target_not_exposed", "make_call", BOB, target=CAROL, call_type=call_type)
        assert CAROL in message
        assert call_type in message
    with pytest.raises(vol.Invalid, match="/type/destination"):  # the raw form
        await act(hass, sim, "make_call", BOB, target=f"/106/{CAROL}")
    assert sim.active_calls == []
    await act(hass, sim, "make_call", BOB, target=CAROL)  # ringing her is what any phone can do
    assert only_call(config_entry, sim, BOB).state is CallState.RINGBACK
    sim.hangup(sim.active_calls[0], by=BOB)
    await settle(hass, sim)

    await incoming(hass, sim, answer=True)
    for transfer_type in ("whisper", "intrude", "inclusion", "force_answer", "page"):
        await refused(hass, sim, "target_not_exposed", "blind_transfer", BOB, target=CAROL, transfer_type=transfer_type)
    with pytest.raises(vol.Invalid, match="/type/destination"):
        await act(hass, sim, "blind_transfer", BOB, target=f"/7/{CAROL}")
    assert only_call(config_entry, sim, BOB).state is CallState.CONNECTED

    await refused(hass, sim, "extension_not_exposed", "hot_desk_login", BOB, extension=CAROL)
    assert sim.model.user(CAROL).loggedoff is False

    await refused(hass, sim, "member_not_exposed", "set_queue_member_enabled", SALES, extension=CAROL, enabled=False)
    await refused(hass, sim, "member_not_exposed", "remove_queue_member", SALES, extension=CAROL)
    await refused(hass, sim, "member_not_exposed", "add_queue_member", SALES, extension="2005")
    carol_switch = entity_id(hass, "switch", f"{guid_of(sim, SALES)}_member_{CAROL}")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call("switch", "turn_off", {"entity_id": carol_switch}, blocking=True)
    assert err.value.translation_key == "member_not_exposed"
    sales = sim.model.queue(SALES)
    assert [(m.extn, m.disabled) for m in sales.members] == [
        ("2001", False),
        (BOB, False),
        (CAROL, False),
        ("2008", True),
    ]
    await act(hass, sim, "set_queue_member_enabled", SALES, extension=BOB, enabled=False)  # an exposed agent
    assert next(m for m in sim.model.queue(SALES).members if m.extn == BOB).disabled


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("park", {"slot": "1234567890"}),
        ("park", {"slot": "1a"}),
        ("send_dtmf", {"digits": "12a"}),
        ("send_dtmf", {"digits": "1" * 33}),
        ("set_tag", {"tag": "t" * 128}),
        ("set_account_code", {"code": "1" * 16}),
        ("set_priority", {"priority": 4}),
        ("make_call", {"target": "1" * 79}),
        ("set_absence", {"message": "at_lunch_until", "text": "x" * 22}),
        ("hot_desk_login", {"extension": "20a"}),
        ("drop", {"call_id": 0}),
    ],
)
async def test_schema_refusals(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, action: str, data: dict[str, Any]
) -> None:
    """Lengths and character sets of the spec are checked before anything is sent."""
    with pytest.raises(Exception, match=r"must be|length|value|not a valid|range|allowed"):
        await act(hass, sim, action, BOB, **data)


async def test_hot_desk_login_with_a_login_code(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Karen, whose login code IP Office asks for, is logged in with it and refused without; as a teleworker her
    calls ring her teleworker number. The code is in no log line of the integration (its trace included), error or
    diagnostics. (Home Assistant itself logs the data of an action it refuses, at debug level.)"""
    code = "80917266"
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    sim.model.user(KAREN).login_code = code
    karen = client_of(init_integration).users[guid_of(sim, KAREN)]
    with pytest.raises(HomeAssistantError) as err:
        await act(hass, sim, "hot_desk_login", KAREN, extension=KAREN, password="1234")
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["name"] == "MTCTISESS_NOTALLOWED"
    assert karen.logged_off
    with pytest.raises(vol.Invalid) as invalid:
        await act(hass, sim, "hot_desk_login", KAREN, extension=KAREN, password=f"{code}x")
    assert code not in str(invalid.value)
    with pytest.raises(ServiceValidationError) as refused_err:
        await act(hass, sim, "hot_desk_login", KAREN, extension=KAREN, hold_line_open=True)
    assert refused_err.value.translation_placeholders == {
        "field": "teleworker_number",
        "limit": "given with hold_line_open or test_connection",
    }
    await act(
        hass,
        sim,
        "hot_desk_login",
        KAREN,
        extension=KAREN,
        password=code,
        teleworker_number="07700900222",
        hold_line_open=True,
    )
    assert (karen.logged_off, karen.logged_in_extn) == (False, KAREN)
    assert sim.model.user(KAREN).teleworker == "07700900222"
    device = dr.async_get(hass).async_get(device_of(hass, sim, KAREN))
    assert device is not None
    diagnostics = await get_diagnostics_for_device(hass, hass_client, init_integration, device)
    assert code not in str(diagnostics)
    ours = [record for record in caplog.records if record.name.startswith("custom_components.ipoffice")]
    assert any('password: "***"' in record.getMessage() for record in ours)
    assert not any(code in record.getMessage() for record in ours)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("hot_desk_login", {"extension": "2008\n"}),  # a trailing newline passed "^[0-9]{1,31}$"
        ("hot_desk_login", {"extension": " 2008"}),
        ("blind_transfer", {"target": "2005", "transfer_type": "meetme", "pin": "1234\n"}),
        ("make_call", {"target": " /intrude/2008"}),  # the raw form behind a blank
        ("make_call", {"target": "\n/106/2008"}),
        ("make_call", {"target": "20\n03"}),
        ("make_call", {"target": "2003\x00;x"}),
        ("make_call", {"target": "2003", "tag": "a\nb"}),
        ("make_call", {"target": "2003", "account_code": "1000\x1b"}),
        ("make_call", {"target": "2003", "auth_code": "4321\n"}),
        ("blind_transfer", {"target": " /106/2008"}),
        ("blind_transfer", {"target": "/106/2008", "transfer_type": "voicemail"}),
        ("redirect", {"target": "\t/104/2008"}),
        ("setup_transfer", {"target": "2003\n"}),
        ("setup_conference", {"target": "2003\r"}),
        ("add_to_conference", {"target": "\u2028/106/2008"}),
        ("set_forward_unconditional", {"enabled": True, "destination": "/intrude/2008"}),
        ("set_forward_busy", {"enabled": True, "destination": "/page/2008"}),
        ("set_forward_unconditional", {"enabled": True, "destination": "07700900123\n"}),
        ("set_tag", {"tag": "VIP\x1b[31m"}),
        ("set_account_code", {"code": "1000\x00"}),
        ("set_auth_code", {"code": "4321\n"}),
        ("set_absence", {"message": "custom", "text": "14:00\n"}),
        ("send_short_code", {"code": 9, "value": "2003\x00"}),
        ("conference_member", {"member": "2003\n", "operation": "drop"}),
        ("dial", {"digits": "2003\n"}),
        ("send_dtmf", {"digits": "1\n"}),
        ("park", {"slot": "1\n"}),
        ("add_queue_member", {"extension": "2004\n"}),
        ("drop", {"call_id": 1.5}),  # was taken as call 1
        ("drop", {"call_id": True}),
        ("drop", {"call_id": " 1"}),
        ("set_voicemail_counts", {"new": 2.5}),
        ("set_priority", {"priority": 2.5}),
        ("complete_conference", {"other_call_ids": [1.5]}),
    ],
)
async def test_hostile_text_refused(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, action: str, data: dict[str, Any]
) -> None:
    """Control characters, line breaks, the raw "/type/destination" form however it is dressed, and numbers that
    are not integers: the action is invalid and nothing reaches IP Office."""
    owner = SALES if action in ("add_queue_member", "set_priority") else BOB
    client = client_of(init_integration)
    sent = client.stats.frames_out
    with pytest.raises(vol.Invalid, match="must be"):
        await act(hass, sim, action, owner, **data)
    assert client.stats.frames_out == sent


async def test_long_device_id_not_echoed(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A 10,000-character device id is quoted cut short (and escaped) in the error."""
    message = await refused(hass, sim, "unknown_device", "set_do_not_disturb", None, device_id="d" * 10_000, enabled=1)
    assert len(message) < 100
    message = await refused(hass, sim, "unknown_device", "set_do_not_disturb", None, device_id="x\n\x1b", enabled=1)
    assert "\n" not in message
    assert "\x1b" not in message


async def test_ip_office_errors(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """IP Office's result codes come back as the spec's meaning and name; state stays true."""
    await incoming(hass, sim, answer=True)
    sim.faults.fail_next(609, "callcontrol")
    with pytest.raises(HomeAssistantError) as err:
        await act(hass, sim, "hold", BOB)
    assert err.value.translation_placeholders == {
        "action": "hold",
        "error": "You can't do this action at this time",
        "name": "MTCTISESS_CALLCONTROL_INVALIDCALLSTATE",
    }
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED
    sim.faults.fail_next(5003, "user")
    with pytest.raises(HomeAssistantError) as err:
        await act(hass, sim, "set_do_not_disturb", BOB, enabled=True)
    assert err.value.translation_placeholders["name"] == "MTCTISESS_REQUEST_INVALID_CONTEXT"
    with pytest.raises(HomeAssistantError) as err:
        await act(hass, sim, "set_auth_code", BOB, code="0000")
    assert err.value.translation_placeholders["name"] == "MTCTISESS_CALLCONTROL_BDAUTH"


async def test_admin_only(
    hass: HomeAssistant,
    sim: Simulator,
    init_integration: MockConfigEntry,
    hass_read_only_user: MockUser,
    hass_admin_user: MockUser,
) -> None:
    """force_clear, send_short_code and queue membership changes refuse a user who is not an administrator."""
    await incoming(hass, sim, answer=True)
    bob = device_of(hass, sim, BOB)
    sales = device_of(hass, sim, SALES)
    for action, data in (
        ("force_clear", {"device_id": bob}),
        ("send_short_code", {"device_id": bob, "code": 18}),
        ("add_queue_member", {"device_id": sales, "extension": "2004"}),
        ("remove_queue_member", {"device_id": sales, "extension": "2001"}),
    ):
        with pytest.raises(Unauthorized):
            await hass.services.async_call(
                DOMAIN, action, data, blocking=True, context=Context(user_id=hass_read_only_user.id)
            )
    await settle(hass, sim)
    assert only_call(init_integration, sim, BOB).state is CallState.CONNECTED
    await hass.services.async_call(
        DOMAIN, "force_clear", {"device_id": bob}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    await settle(hass, sim)
    assert calls_of(init_integration, sim, BOB) == []
