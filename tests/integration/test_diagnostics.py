"""Tests of diagnostics: secrets, numbers of the public and personal data of callers are redacted."""

from __future__ import annotations

import dataclasses

from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.ipoffice.const import DOMAIN
from custom_components.ipoffice.diagnostics import _redact_numbers
from custom_components.ipoffice.mtcti3 import CallState, Subsystem
from custom_components.ipoffice.mtcti3.models import Call, ConferenceMember, EndDevice, Party, User
from simulator import Simulator

from .conftest import SYSTEM_ID, guid_of, settle

VARYING = props("port", "fingerprint", "started", "state_since", "gcid", "call_id", "created_at", "modified_at")

ALICE = "2001"  # no forwarding, no DND: gets the call
EMMA = "2005"  # forwards unconditionally to 07700900123
EMMA_FORWARD = "07700900123"
CALLER = "01707123456"
CALLER_NAME = "Jane Public"
TAG = "Jane's order 4711"
ACCOUNT_CODE = "3000"  # one of the scenario's account codes


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """The entry's diagnostics."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert result["entry"]["data"]["password"] == "**REDACTED**"
    assert result == snapshot(exclude=VARYING)


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim: Simulator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    """A user's diagnostics redact the caller's number and name, the call's tag and account code and forwarding
    numbers, not extensions nor the user's own names; the system gives the entry's."""
    registry = dr.async_get(hass)
    call = sim.incoming_call(to=ALICE, caller=CALLER, caller_name=CALLER_NAME)
    await settle(hass, sim)
    sim.answer(call, by=ALICE)
    await settle(hass, sim)
    alice = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, ALICE)), init_integration.entry_id)
    assert alice is not None
    for action, data in (("set_tag", {"tag": TAG}), ("set_account_code", {"code": ACCOUNT_CODE})):
        await hass.services.async_call(DOMAIN, action, {"device_id": alice.id, **data}, blocking=True)
    await settle(hass, sim)
    # The model really holds the call with the caller's data (or the assertions below would test nothing).
    (live,) = init_integration.runtime_data.client.users[guid_of(sim, ALICE)].calls.values()
    assert live.state is CallState.CONNECTED
    assert live.calling_party == live.connected_party
    assert live.calling_party is not None
    assert (live.calling_party.number, live.calling_party.name) == (CALLER, CALLER_NAME)
    assert (live.tag, live.account_code) == (TAG, ACCOUNT_CODE)

    result = await get_diagnostics_for_device(hass, hass_client, init_integration, alice)
    model = result["model"]
    assert (model["extn"], model["name"], model["email"]) == (ALICE, "Alice Smith", REDACTED)
    (seen,) = model["calls"].values()
    for party in ("calling_party", "connected_party"):
        assert (seen[party]["number"], seen[party]["name"]) == (REDACTED, REDACTED)
    assert (seen["tag"], seen["account_code"]) == (REDACTED, REDACTED)
    text = str(result)
    for secret in (CALLER, CALLER_NAME, TAG, "Jane"):
        assert secret not in text
    assert result == snapshot(exclude=VARYING)

    emma = registry.async_get_device_by_identifier((DOMAIN, guid_of(sim, EMMA)), init_integration.entry_id)
    assert emma is not None
    result = await get_diagnostics_for_device(hass, hass_client, init_integration, emma)
    assert init_integration.runtime_data.client.users[guid_of(sim, EMMA)].fwdu_number == EMMA_FORWARD
    assert (result["model"]["extn"], result["model"]["fwdu_number"]) == (EMMA, REDACTED)
    assert EMMA_FORWARD not in str(result)

    system = registry.async_get_device_by_identifier((DOMAIN, SYSTEM_ID), init_integration.entry_id)
    assert system is not None
    result = await get_diagnostics_for_device(hass, hass_client, init_integration, system)
    assert "connection" in result


async def test_redaction_of_every_party() -> None:
    """Every party of a call (original called, conference members, targets) loses its name and its number unless
    that is an extension; the owner's own names stay."""
    public = Party(number=CALLER, name=CALLER_NAME, nametype=1, subaddress="4711")
    colleague = Party(number="2002", name="Bob Jones")
    call = Call(
        call_id=7,
        owner=Subsystem.USER,
        owner_guid="A" * 32,
        state=CallState.CONNECTED,
        called_party="07700900999",
        calling_party=public,
        connected_party=colleague,
        original_called_party=Party(number="01707999888", name="Reception Desk"),
        tag=TAG,
        account_code=ACCOUNT_CODE,
        queue_name="Sales",
        trunk_did="01707000000",
        conference_members=(
            ConferenceMember(lref=1, party=public, called_party=CALLER),
            ConferenceMember(lref=2, party=colleague, called_party="2002"),
        ),
        targets=(public, Party(number="2003", name="")),
        queue_overflow_number="2502",
        remote_device=EndDevice(device_class=1, teleworker="07700900222"),
        local_devices=(EndDevice(device_class=1, teleworker="2001"),),
    )
    user = User(guid="A" * 32, extn=ALICE, name="Alice Smith", fullname="Alice Smith", calls={7: call})
    result = _redact_numbers(dataclasses.asdict(user), {ALICE, "2002", "2003", "2502"})
    unset = {"withheld": False, "diversion_reason": 0, "number_type": 0, "subaddress": ""}
    redacted_public = {**unset, "number": REDACTED, "name": REDACTED, "nametype": 1, "subaddress": REDACTED}
    redacted_colleague = {**unset, "number": "2002", "name": REDACTED, "nametype": 0}
    seen = result["calls"][7]
    assert seen["calling_party"] == redacted_public
    assert seen["connected_party"] == redacted_colleague
    assert seen["original_called_party"] == {**unset, "number": REDACTED, "name": REDACTED, "nametype": 0}
    assert [member["party"] for member in seen["conference_members"]] == [redacted_public, redacted_colleague]
    assert [member["called_party"] for member in seen["conference_members"]] == [REDACTED, "2002"]
    assert seen["targets"] == [redacted_public, {**unset, "number": "2003", "name": "", "nametype": 0}]
    assert seen["queue_overflow_number"] == "2502"  # a queue's extension
    assert seen["remote_device"]["teleworker"] == REDACTED
    assert seen["local_devices"][0]["teleworker"] == ALICE
    assert (seen["tag"], seen["account_code"], seen["called_party"], seen["trunk_did"]) == (REDACTED,) * 4
    assert seen["queue_name"] == "Sales"
    assert (result["extn"], result["name"], result["fullname"]) == (ALICE, "Alice Smith", "Alice Smith")
    for secret in (CALLER, CALLER_NAME, TAG, ACCOUNT_CODE, "Reception Desk", "Bob Jones", "01707", "4711", "07700"):
        assert secret not in str(result)
