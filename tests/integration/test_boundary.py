"""The trust boundary from Home Assistant's side: what an entry lets its users make IP Office do.

Against the simulator over real sockets: each refusal is checked to send nothing, each allowed case to reach it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import probatio as vol
import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.components.text import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, EVENT_CALL_SERVICE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice.const import (
    CONF_ALL_QUEUES,
    CONF_ALL_USERS,
    CONF_AUTH_CODES,
    CONF_CALLER_NAMES,
    CONF_DIALLING,
    CONF_FEATURE_CODES,
    CONF_QUEUES,
    CONF_USERS,
    DOMAIN,
    EVENT_CALL,
)
from custom_components.ipoffice.logbook import describe_call
from custom_components.ipoffice.mtcti3 import CallFeature, CallState, IPOfficeClient
from simulator import Simulator

from .conftest import entity_id, guid_of, settle
from .test_services import BOB, CAROL, SALES, act, calls_of, incoming, only_call, refused

EXTERNAL = "07700900123"
PICKUP_CAROL = f"*32*{CAROL}#"  # a feature code that takes Carol's ringing call


async def set_up(hass: HomeAssistant, entry: MockConfigEntry, sim: Simulator, **options: Any) -> IPOfficeClient:
    """Set the entry up with ``options`` (users and queues given by extension)."""
    for key in (CONF_USERS, CONF_QUEUES):
        if key in options:
            options[key] = [guid_of(sim, extn) for extn in options[key]]
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client: IPOfficeClient = entry.runtime_data.client
    return client


async def refused_unsent(
    hass: HomeAssistant, sim: Simulator, client: IPOfficeClient, key: str, action: str, extn: str, **data: Any
) -> str:
    """The action is refused with ``key`` and no frame leaves the client."""
    await settle(hass, sim)
    sent = client.stats.frames_out
    message = await refused(hass, sim, key, action, extn, **data)
    assert client.stats.frames_out == sent, f"{action}: a frame was sent"
    return message


async def set_text(hass: HomeAssistant, text: str, value: str) -> None:
    await hass.services.async_call("text", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: text, ATTR_VALUE: value}, blocking=True)


# --- feature codes ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_feature_codes_refused_by_default(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """*32*2003# would pick up Carol's call whoever Carol is: no number with * or # is dialled, however it is
    dialled (make_call, overlap dialling, DTMF on dial tone, transfers, forwarding, the forwarding text)."""
    client = await set_up(hass, config_entry, sim)
    message = await refused_unsent(hass, sim, client, "feature_code_refused", "make_call", BOB, target=PICKUP_CAROL)
    assert PICKUP_CAROL in message
    for action, data in (
        ("set_forward_unconditional", {"enabled": True, "destination": "*21*2003#"}),
        ("set_forward_busy", {"enabled": True, "destination": "2003#"}),
    ):
        await refused_unsent(hass, sim, client, "feature_code_refused", action, BOB, **data)
    forward = entity_id(hass, "text", f"{guid_of(sim, '2005')}_forward_destination")
    with pytest.raises(ServiceValidationError) as err:
        await set_text(hass, forward, "*32*2003#")
    assert err.value.translation_key == "feature_code_refused"
    assert hass.states.get(forward).state == EXTERNAL

    await act(hass, sim, "make_call", BOB, target="")  # dial tone
    assert only_call(config_entry, sim, BOB).state is CallState.DIALTONE
    await refused_unsent(hass, sim, client, "feature_code_refused", "dial", BOB, digits=PICKUP_CAROL)
    await refused_unsent(hass, sim, client, "feature_code_refused", "dial", BOB, digits="*")
    # DTMF on dial tone would be dialled: refused even where IP Office does not report the call's features
    bob = client.users[guid_of(sim, BOB)]
    call = only_call(config_entry, sim, BOB)
    bob.calls[call.call_id] = dataclasses.replace(call, features=CallFeature(0))
    await refused_unsent(hass, sim, client, "action_not_available", "send_dtmf", BOB, digits=PICKUP_CAROL)
    await act(hass, sim, "dial", BOB, digits=CAROL)  # a plain number is dialled
    assert only_call(config_entry, sim, CAROL).state is CallState.RINGING
    await act(hass, sim, "drop", BOB)

    await incoming(hass, sim, answer=True)
    for data in ({"target": "2003#"}, {"target": "FNE33", "transfer_type": "fne"}):
        await refused_unsent(hass, sim, client, "feature_code_refused", "blind_transfer", BOB, **data)
    await refused_unsent(hass, sim, client, "feature_code_refused", "setup_conference", BOB, target="*30")
    assert only_call(config_entry, sim, BOB).state is CallState.CONNECTED


async def test_feature_codes_allowed_by_option(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """An entry that allows feature codes dials them as given."""
    await set_up(hass, config_entry, sim, **{CONF_FEATURE_CODES: True})
    await act(hass, sim, "make_call", BOB, target=PICKUP_CAROL)
    assert [call.dialled for call in sim.active_calls] == [PICKUP_CAROL]


# --- the dialling scope -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_dialling_exposed_only(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """With "extensions of the exposed users and queues", neither Carol (not exposed) nor an outside number is
    dialled, forwarded to or transferred to; an exposed queue or user is."""
    options = {CONF_USERS: ["2001", BOB, "2005"], CONF_QUEUES: [SALES], CONF_DIALLING: "exposed"}
    client = await set_up(hass, config_entry, sim, **options)
    message = await refused_unsent(hass, sim, client, "number_not_exposed", "make_call", BOB, target=CAROL)
    assert CAROL in message
    await refused_unsent(hass, sim, client, "number_not_internal", "make_call", BOB, target=EXTERNAL)
    await refused_unsent(hass, sim, client, "number_not_internal", "make_call", BOB, target="02002")
    await refused_unsent(
        hass, sim, client, "number_not_exposed", "set_forward_unconditional", BOB, enabled=True, destination=CAROL
    )
    forward = entity_id(hass, "text", f"{guid_of(sim, '2005')}_forward_destination")
    with pytest.raises(ServiceValidationError) as err:
        await set_text(hass, forward, CAROL)
    assert err.value.translation_key == "number_not_exposed"
    await set_text(hass, forward, BOB)
    await settle(hass, sim)
    assert hass.states.get(forward).state == BOB

    await act(hass, sim, "make_call", BOB, target=SALES)
    assert only_call(config_entry, sim, BOB).state is not CallState.FAILED
    await act(hass, sim, "drop", BOB)

    await incoming(hass, sim, answer=True)
    for action in ("blind_transfer", "setup_transfer", "setup_conference"):
        await refused_unsent(hass, sim, client, "number_not_exposed", action, BOB, target=CAROL)
    for transfer_type in ("camp_on", "priority_call"):
        await refused_unsent(
            hass, sim, client, "number_not_exposed", "blind_transfer", BOB, target=CAROL, transfer_type=transfer_type
        )
    await refused_unsent(
        hass, sim, client, "number_not_internal", "blind_transfer", BOB, target="500", transfer_type="meetme"
    )
    await act(hass, sim, "blind_transfer", BOB, target="Callflow", transfer_type="voicemail")  # a name, not a number
    assert calls_of(config_entry, sim, BOB) == []

    await incoming(hass, sim)
    await refused_unsent(hass, sim, client, "number_not_internal", "redirect", BOB, target=EXTERNAL)
    await act(hass, sim, "redirect", BOB, target="2001")
    assert calls_of(config_entry, sim, BOB) == []


async def test_dialling_any_extension(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """With "any extension of the IP Office", Carol is called though not exposed; an outside number is not."""
    client = await set_up(hass, config_entry, sim, **{CONF_USERS: [BOB], CONF_QUEUES: [], CONF_DIALLING: "internal"})
    await refused_unsent(hass, sim, client, "number_not_internal", "make_call", BOB, target=EXTERNAL)
    await act(hass, sim, "make_call", BOB, target="")
    await refused_unsent(hass, sim, client, "number_not_internal", "dial", BOB, digits=EXTERNAL)
    await act(hass, sim, "drop", BOB)
    await act(hass, sim, "make_call", BOB, target=CAROL)
    assert only_call(config_entry, sim, BOB).state is CallState.RINGBACK


async def test_dialling_any_number_by_default(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """By default an exposed user's phone calls any number, as the phone itself can (feature codes apart)."""
    await set_up(hass, config_entry, sim, **{CONF_USERS: [BOB], CONF_QUEUES: []})
    await act(hass, sim, "make_call", BOB, target="+441707123456")
    await act(hass, sim, "drop", BOB)
    await act(hass, sim, "set_forward_unconditional", BOB, enabled=True, destination=EXTERNAL)
    assert sim.model.user(BOB).fwdunumber == EXTERNAL


# --- the options form -------------------------------------------------------------------------------------------


async def test_options_refuse_users_picked_with_all_users(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """ "All users" on with one user picked would expose everyone while the form seems to pick one: the form says
    so instead of saving; the rules chosen are stored with the users."""
    entry = init_integration
    alice, sales = guid_of(sim, "2001"), guid_of(sim, SALES)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    picked = {CONF_ALL_USERS: True, CONF_USERS: [alice], CONF_ALL_QUEUES: True, CONF_QUEUES: [sales]}
    result = await hass.config_entries.options.async_configure(result["flow_id"], picked)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_USERS: "picked_with_all_users", CONF_QUEUES: "picked_with_all_queues"}
    assert entry.options == {}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {**picked, CONF_ALL_USERS: False, CONF_ALL_QUEUES: False, CONF_DIALLING: "internal", CONF_FEATURE_CODES: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_USERS: [alice],
        CONF_QUEUES: [sales],
        CONF_DIALLING: "internal",
        CONF_FEATURE_CODES: True,
        CONF_AUTH_CODES: {},
        CONF_CALLER_NAMES: True,
    }
    await hass.async_block_till_done()
    assert entry.runtime_data.dialling == "internal"
    assert entry.runtime_data.feature_codes is True


# --- hot desking ------------------------------------------------------------------------------------------------


async def test_hot_desk_only_at_users_extensions(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """A user logs in at an exposed user's extension; not at a queue's, an unknown number or a number that only
    looks like an extension ("02008"), and not with a line break after a hidden user's extension."""
    client = await set_up(hass, config_entry, sim, **{CONF_USERS: [BOB, "2011"], CONF_QUEUES: [SALES]})
    await refused_unsent(hass, sim, client, "unknown_extension", "hot_desk_login", BOB, extension="02008")
    await refused_unsent(hass, sim, client, "unknown_extension", "hot_desk_login", BOB, extension="7777")
    message = await refused_unsent(hass, sim, client, "extension_is_queue", "hot_desk_login", BOB, extension=SALES)
    assert "queue" in message
    assert "belongs to a user" not in message
    await refused_unsent(hass, sim, client, "extension_not_exposed", "hot_desk_login", BOB, extension="2008")
    with pytest.raises(vol.Invalid):
        await act(hass, sim, "hot_desk_login", BOB, extension="2008\n")
    assert sim.model.user("2008").loggedoff is False
    await act(hass, sim, "hot_desk_login", BOB, extension="2011")
    assert client.users[guid_of(sim, BOB)].logged_in_extn == "2011"


# --- a queue's call once someone answered it --------------------------------------------------------------------


async def test_queue_call_answered_by_an_unexposed_user(
    hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry
) -> None:
    """With Bob and Sales exposed, a Sales call Carol answered is her conversation: through Sales it is not
    recording-paused, parked (to be unparked elsewhere), transferred, tagged or dropped; finish still is. While it
    waits, and once Bob answers one, the queue acts on it."""
    client = await set_up(hass, config_entry, sim, **{CONF_USERS: [BOB], CONF_QUEUES: [SALES]})
    sim_call = sim.incoming_call(to=SALES, caller="01707123456", caller_name="Trunk")
    await settle(hass, sim)
    await act(hass, sim, "set_tag", SALES, tag="waiting")  # nobody answered yet: the queue's call
    sim.answer(sim_call, by=CAROL)
    await settle(hass, sim)
    call = only_call(config_entry, sim, SALES)
    for action, data in (
        ("pause_recording", {}),
        ("park", {"slot": "3"}),
        ("blind_transfer", {"target": BOB}),
        ("set_tag", {"tag": "mine"}),
        ("set_account_code", {"code": "1000"}),
        ("drop", {"call_id": call.call_id}),
    ):
        message = await refused_unsent(hass, sim, client, "queue_call_not_exposed", action, SALES, **data)
        assert CAROL in message
        assert action in message
    assert not client.parked_calls
    assert not sim_call.ended
    await act(hass, sim, "finish", SALES)  # the queue lets go of it: Carol's call goes on
    assert calls_of(config_entry, sim, SALES) == []
    assert not sim_call.ended

    other = sim.incoming_call(to=SALES, caller="01707999999", caller_name="Trunk")
    await settle(hass, sim)
    sim.answer(other, by=BOB)
    await settle(hass, sim)
    await act(hass, sim, "park", SALES, slot="4")  # Bob is exposed: the queue may act on his call
    assert "4" in client.parked_calls


# --- authorization codes kept out of action data ----------------------------------------------------------------

AUTH_CODE = "8765"  # one of the simulator's codes


async def test_named_auth_codes(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """A code kept in the options is used by name: the action's data (which Home Assistant records with the
    call_service event) holds the name only, IP Office gets the code, and diagnostics count the codes only."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    for bad in ([{"name": "Long", "code": "1\n"}], [{"name": "A", "code": "1"}, {"name": "A", "code": "2"}]):
        result = await hass.config_entries.options.async_configure(result["flow_id"], {CONF_AUTH_CODES: bad})
        assert result["errors"] == {CONF_AUTH_CODES: "invalid_auth_codes"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_AUTH_CODES: [{"name": "Long distance", "code": AUTH_CODE}]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_AUTH_CODES] == {"Long distance": AUTH_CODE}
    await hass.async_block_till_done()

    recorded = async_capture_events(hass, EVENT_CALL_SERVICE)
    await act(hass, sim, "make_call", BOB, target=CAROL, auth_code_name="Long distance")
    (sim_call,) = sim.active_calls
    assert [app.authcode for app in sim_call.apps if app.owner_kind == "user" and app.role == "a"] == [AUTH_CODE]
    assert AUTH_CODE not in repr([event.data for event in recorded])
    assert recorded[-1].data["service_data"]["auth_code_name"] == "Long distance"

    await act(hass, sim, "answer", CAROL)
    await act(hass, sim, "set_auth_code", BOB, auth_code_name="Long distance")  # IP Office accepts the code
    message = await refused(hass, sim, "unknown_auth_code_name", "set_auth_code", BOB, auth_code_name="Other")
    assert "Other" in message
    await refused(hass, sim, "auth_code_and_name", "set_auth_code", BOB, code="4321", auth_code_name="Long distance")
    assert AUTH_CODE not in repr([event.data for event in recorded])

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["options"]["auth_codes"] == 1
    assert AUTH_CODE not in repr(diagnostics)
    assert "Long distance" not in repr(diagnostics)


# --- callers' names ---------------------------------------------------------------------------------------------


async def test_caller_names_left_out(hass: HomeAssistant, sim: Simulator, config_entry: MockConfigEntry) -> None:
    """States, call events and the logbook are readable by every Home Assistant user: an entry that leaves
    callers' names out shows the caller's number only, and the Other party name sensor goes."""
    guid = guid_of(sim, BOB)
    await set_up(hass, config_entry, sim)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{guid}_other_party_name") is not None
    await hass.config_entries.async_unload(config_entry.entry_id)
    hass.config_entries.async_update_entry(config_entry, options={CONF_CALLER_NAMES: False})
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{guid}_other_party_name") is None

    events = async_capture_events(hass, EVENT_CALL)
    sim.incoming_call(to=BOB, caller="01707123456", caller_name="Secret Caller")
    await settle(hass, sim)
    assert events
    assert {event.data["other_party_name"] for event in events} == {None}
    assert {event.data["other_party_number"] for event in events} == {"01707123456"}
    call_event = hass.states.get(entity_id(hass, "event", f"{guid}_call"))
    assert call_event.attributes["other_party_name"] is None
    assert call_event.attributes["other_party_number"] == "01707123456"
    shown = repr([state.as_dict() for state in hass.states.async_all()]) + repr([event.data for event in events])
    assert "Secret Caller" not in shown
    assert describe_call(dict(events[0].data)) == "incoming call from 01707123456"  # the logbook's entry


async def test_absence_text_redacted_in_diagnostics(
    hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    """An absence text often holds a phone number: a user's diagnostics keep its message type, not its text."""
    sim.update_user("2007", absence=(3, "Call 07700900999"))
    await settle(hass, sim)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, guid_of(sim, "2007")), init_integration.entry_id
    )
    assert device is not None
    diagnostics = await get_diagnostics_for_device(hass, hass_client, init_integration, device)
    assert diagnostics["model"]["absence"] == {"message": 3, "text": REDACTED}
    assert "07700900999" not in repr(diagnostics)
