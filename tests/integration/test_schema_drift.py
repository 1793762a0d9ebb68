"""Data a newer IP Office sends that this version does not understand: counted in diagnostics, told once per entry
in a repair issue that a user may dismiss."""

from __future__ import annotations

from typing import Any

from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice.const import DOMAIN
from simulator import Simulator

from .conftest import settle

ALICE = "2001"


def _issue_events(hass: HomeAssistant, issue_id: str) -> list[str]:
    """The actions ("create", "update", "remove") of the issue registry on ``issue_id``, as they happen."""
    actions: list[str] = []

    def record(event: Event[Any]) -> None:
        if event.data["issue_id"] == issue_id:
            actions.append(event.data["action"])

    hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, record)
    return actions


async def test_unknown_fields_raise_one_dismissible_issue_and_show_in_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, sim: Simulator, init_integration: MockConfigEntry
) -> None:
    """A field IP Office sends that the schema lacks raises a dismissible, non-persistent repair issue once; the
    next notify, another unknown field or a reload do not raise it again; diagnostics count every field."""
    entry = init_integration
    coordinator = entry.runtime_data
    issue_id = f"unknown_fields_{entry.entry_id}"
    issues = ir.async_get(hass)
    actions = _issue_events(hass, issue_id)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["unknown_fields"] == {}
    assert issues.async_get_issue(DOMAIN, issue_id) is None

    sim.faults.add_unknown_field("CallInfo", 90, 5)
    call = sim.incoming_call(to=ALICE, caller="01707123456")
    await settle(hass, sim)
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert (issue.is_persistent, issue.is_fixable, issue.severity) == (False, False, ir.IssueSeverity.WARNING)
    assert issue.translation_key == "unknown_fields"
    assert issue.translation_placeholders == {"title": entry.title, "field": "CallInfo 90"}
    assert issue.learn_more_url is not None
    assert issue.learn_more_url.endswith("#troubleshooting")
    assert actions == ["create"]
    ringing = coordinator.client.unknown_fields["CallInfo"][90]
    assert ringing >= 1

    # more of it, and another field: counted, but the issue is not raised again
    sim.faults.add_unknown_field("NotifyUser", 91, 1)
    sim.answer(call, by=ALICE)
    sim.update_user(ALICE, dnd=True)
    await settle(hass, sim)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    counts = coordinator.client.unknown_fields
    assert counts["CallInfo"][90] > ringing
    assert counts["NotifyUser"] == {91: 1}
    assert diagnostics["unknown_fields"] == {
        "CallInfo": {"90": counts["CallInfo"][90]},
        "NotifyUser": {"91": 1},
    }
    assert actions == ["create"]

    # dismissed, it stays dismissed: on the next notify and after a reload
    ir.async_ignore_issue(hass, DOMAIN, issue_id, True)
    await hass.async_block_till_done()
    assert actions == ["create", "update"]
    actions.clear()
    sim.hangup(call, by="caller")
    await settle(hass, sim)
    assert actions == []
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sim.update_user(ALICE, dnd=False)
    await settle(hass, sim)
    assert entry.runtime_data.client.unknown_fields["NotifyUser"][91] > len(sim.model.users)  # each user, then Alice
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.dismissed_version is not None

    # the entry removed, its issue goes with it
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is None
