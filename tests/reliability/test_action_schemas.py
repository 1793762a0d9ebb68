"""Property-based: random strings in every free-text field of every action and text entity.

Whatever an action's schema (or a text entity's rule) lets through holds no control character, line break or
invisible format character; and whatever reaches a dialled or addressed argument (a target, a destination, digits,
a park slot, an extension, a PIN) is never the specification's raw "/type/destination" form, nor surrounded by
blanks that IP Office might drop.
"""

from __future__ import annotations

from typing import Any

import probatio as vol
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.ipoffice.mtcti3 import CommandValidationError
from custom_components.ipoffice.mtcti3.validation import is_raw_target
from custom_components.ipoffice.services import ACTIONS, Action
from custom_components.ipoffice.text import USER_TEXTS

HOSTILE = "\n\r\t\v\f\x00\x1b\x7f\x85\u200b\u200e\u202e\u2028\u2029\ufeff"
STRINGS = (
    st.text(alphabet=st.sampled_from("0123456789*#+/;:() ab" + HOSTILE), max_size=24)
    | st.text(max_size=24)
    | st.builds(lambda a, b: f"{a}/{b}", st.text(alphabet=" \t\n\x00", max_size=3), st.sampled_from(("106/2008", "")))
)
# The fields whose value IP Office dials or reads as an address: they must never be the raw form.
ADDRESSED = frozenset({"target", "destination", "digits", "slot", "extension", "pin"})
# A valid value of each field that needs one, so that the field under test is what decides.
VALID: dict[str, Any] = {
    "enabled": True,
    "message": "custom",
    "operation": "drop",
    "mode": "in_service",
    "priority": 1,
    "new": 0,
    "target": "2003",
    "member": "2003",
    "slot": "1",
    "digits": "1",
    "extension": "2003",
}


def _key(marker: Any) -> str:
    return str(marker.schema if isinstance(marker, vol.Marker) else marker)


def text_fields(action: Action) -> list[str]:
    """The fields of ``action`` that take a string: those a plain text passes through as a string (the booleans,
    counts and choices turn it into something else or refuse it)."""
    fields = []
    for marker in action.fields:
        name = _key(marker)
        for probe in ("x", "2003", "1"):
            try:
                data = action.schema({"device_id": "d", **required(action), name: probe})
            except vol.Invalid:
                continue
            if isinstance(data[name], str):
                fields.append(name)
            break
    return fields


def required(action: Action) -> dict[str, Any]:
    """Valid values of the action's required fields."""
    data: dict[str, Any] = {}
    for marker in action.fields:
        if isinstance(marker, vol.Required):
            name = _key(marker)
            data[name] = 9 if (action.name, name) == ("send_short_code", "code") else VALID[name]
    return data


CASES = [(action, field) for action in ACTIONS for field in text_fields(action)]


def test_every_free_text_field_is_covered() -> None:
    """The table reaches every string field of the actions (a new one cannot slip past this test)."""
    covered = {f"{action.name}.{field}" for action, field in CASES}
    assert {
        "make_call.target",
        "make_call.tag",
        "make_call.auth_code",
        "make_call.auth_code_name",
        "make_call.account_code",
        "blind_transfer.target",
        "blind_transfer.pin",
        "hot_desk_login.extension",
        "set_forward_unconditional.destination",
        "set_forward_busy.destination",
        "set_absence.text",
        "send_short_code.value",
        "conference_member.member",
        "set_auth_code.code",
        "set_account_code.code",
        "set_tag.tag",
        "dial.digits",
        "send_dtmf.digits",
        "park.slot",
        "unpark.slot",
        "redirect.target",
        "add_queue_member.extension",
    } <= covered
    assert len(CASES) >= 28


@pytest.mark.parametrize(("action", "field"), CASES, ids=[f"{action.name}.{field}" for action, field in CASES])
@settings(max_examples=150, deadline=None)
@given(value=STRINGS)
def test_what_an_action_schema_passes_is_clean(action: Action, field: str, value: str) -> None:
    try:
        data = action.schema({"device_id": "d", **required(action), field: value})
    except vol.Invalid:
        return
    passed = data[field]
    assert isinstance(passed, str)
    assert passed.isprintable(), (action.name, field, passed)
    if field in ADDRESSED:
        assert not is_raw_target(passed), (action.name, field, passed)
        assert passed == passed.strip(), (action.name, field, passed)


@pytest.mark.parametrize("description", USER_TEXTS, ids=[description.key for description in USER_TEXTS])
@settings(max_examples=300, deadline=None)
@given(value=STRINGS)
def test_what_a_text_entity_takes_is_clean(description: Any, value: str) -> None:
    try:
        description.check(value)
    except CommandValidationError:
        return
    assert value.isprintable()
    if description.dialled:
        assert not is_raw_target(value)
        assert value == value.strip()
