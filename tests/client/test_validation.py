"""The shared argument rules (mtcti3.validation): whole-string matches, characters per field, the raw target form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.ipoffice.mtcti3 import CommandValidationError, TransferType
from custom_components.ipoffice.mtcti3.errors import shown
from custom_components.ipoffice.mtcti3.validation import (
    check_count,
    check_destination,
    check_digits,
    check_extension,
    check_number,
    check_pin,
    check_target,
    check_text,
    has_feature_code,
    is_raw_target,
    transfer_target,
)

# Characters an attacker would reach for: line breaks, NUL, ESC, DEL, C1, bidi overrides, zero-width, separators.
HOSTILE = "\n\r\t\x00\x1b\x7f\x85\u202e\u200b\u2028\u2029\ufeff"
TEXTS = st.text(alphabet=st.sampled_from("0123456789*#+/; ab" + HOSTILE), max_size=40) | st.text(max_size=40)

Rule = Callable[[str], str]
RULES: dict[str, Rule] = {
    "text": lambda value: check_text("f", value, 0, 78),
    "target": lambda value: check_target("f", value, 0),
    "number": lambda value: check_number("f", value, 0),
    "destination": lambda value: check_destination("f", value),
    "digits": lambda value: check_digits("f", value, 0, 78),
    "extension": lambda value: check_extension("f", value),
    "pin": lambda value: check_pin("f", value),
}


def passes(rule: Rule, value: str) -> bool:
    try:
        rule(value)
    except CommandValidationError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(value=TEXTS)
def test_nothing_that_passes_holds_a_control_character_or_a_raw_target(value: str) -> None:
    """Whatever any rule lets through is printable and, for anything dialled, not the /type/destination form."""
    for name, rule in RULES.items():
        if passes(rule, value):
            assert value.isprintable(), (name, value)
            if name != "text":
                assert not is_raw_target(value), (name, value)
                assert value == value.strip(), (name, value)


@pytest.mark.parametrize("value", ["2008\n", "2008\r", "2008\x00", " 2008", "02008 ", "2008\u2028"])
def test_a_trailing_or_leading_character_is_not_dropped(value: str) -> None:
    """The whole string must match: Python's ``$`` lets one trailing newline through, these rules do not."""
    for rule in (RULES["extension"], RULES["pin"], RULES["digits"], RULES["number"]):
        assert not passes(rule, value)


@pytest.mark.parametrize(
    "value", [" /intrude/2008", "\n/106/2008", "\t /104/2008", "\x00/106/2008", "\u200b/106/2008", "/page/2008"]
)
def test_the_raw_target_form_is_refused_however_it_is_dressed(value: str) -> None:
    assert is_raw_target(value)
    with pytest.raises(CommandValidationError) as err:
        check_target("target", value, 1)
    assert "/type/destination" in err.value.limit


def test_numbers_and_feature_codes() -> None:
    """A number is 0-9 * # with an optional leading +; * or # make it a feature code of the dial plan."""
    for good in ("2003", "+447700900123", "*32*2008#", ""):
        assert check_number("target", good, 0) == good
    for bad in ("20 03", "2003a", "2+003", "sip:bob@example.com", "20\n03"):
        assert not passes(RULES["number"], bad), bad
    assert has_feature_code("*32*2008#")
    assert has_feature_code("2008#")
    assert not has_feature_code("+442008")


def test_destinations_of_transfer_types() -> None:
    """A callflow name may hold blanks inside; never / or ; (another form or option), nor surrounding blanks."""
    assert check_destination("target", "Main menu") == "Main menu"
    for bad in ("Main/menu", "2005;MODEFROMPIN(1)", " Main", "Main\n", ""):
        assert not passes(RULES["destination"], bad), bad


def test_transfer_target_composes_the_form() -> None:
    assert transfer_target("2003") == "2003"
    assert transfer_target("Callflow", TransferType.VOICEMAIL) == "/102/Callflow"
    assert transfer_target("2005", TransferType.MEETME, "1234") == "/116/2005;MODEFROMPIN(1234)"
    assert transfer_target("2005", 116, "1") == "/116/2005;MODEFROMPIN(1)"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, False, 1.5, 1.0, "1", None])
def test_counts_are_integers_only(value: object) -> None:
    """A bool, a float or a string is not taken as a number (True would be call 1)."""
    with pytest.raises(CommandValidationError):
        check_count("call_id", value, 1)  # type: ignore[arg-type]


def test_errors_quote_values_escaped_and_cut_short() -> None:
    """A 10,000-character value is not echoed whole, and control characters are escaped."""
    with pytest.raises(CommandValidationError) as err:
        check_text("tag", "x" * 10_000, 0, 127)
    assert len(str(err.value)) < 120
    assert str(err.value).endswith("\N{HORIZONTAL ELLIPSIS})")
    assert shown("a\nb\x1b") == "'a\\nb\\x1b'"
