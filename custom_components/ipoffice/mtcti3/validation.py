"""The argument rules of every command: lengths, the characters each kind of field takes, the raw target form.

One set of rules. The client applies them before it sends anything (a :class:`CommandValidationError` naming the
field and the rule); the Home Assistant integration applies the same functions in its action schemas and text
entities. Every rule matches the whole string (no ``$`` that lets a trailing newline through), and no rule lets a
control character pass:

- **text** (tags, absence text, account and authorization codes, short code values, a conference member's name):
  printable characters only (``str.isprintable``: no control, format or line-separator characters; the space is
  the only blank);
- **target** (a number the client dials or forwards to): text, not surrounded by blanks, and never the
  specification's raw ``/type/destination`` form, whatever whitespace or control characters precede the ``/``
  (the client composes that form itself from a transfer type: :func:`transfer_target`);
- **number** (what a Home Assistant user may dial): a target of digits, ``*`` and ``#`` with an optional leading
  ``+``;
- **destination** (the destination of a transfer type: a callflow name, a conference number, an extension): text
  without ``/`` or ``;`` (which would start another form or option), not surrounded by blanks;
- **digits** (DTMF, park slots, overlap dialling): ``0-9 * #``; **extension**: 1 to 31 digits;
- **count**: an ``int`` (never a ``bool`` or a ``float``) within a range.
"""

from __future__ import annotations

import re
from typing import Final

from .const import TRANSFER_TARGET_MAX, TransferType
from .errors import CommandValidationError

INT32_MAX: Final = 0x7FFFFFFF
EXTN_MAX: Final = 31  # not a spec limit: a dial-plan number; long enough for any IP Office extension
PIN_MAX: Final = 16  # not a spec limit: a MeetMe conference PIN

_DIGITS: Final = re.compile(r"[0-9*#]*")
_NUMBER: Final = re.compile(r"\+?[0-9*#]*")
_EXTENSION: Final = re.compile(r"[0-9]+")
_PIN: Final = re.compile(r"[0-9]+")
FEATURE_CHARS: Final = frozenset("*#")
DESTINATION_FORBIDDEN: Final = frozenset("/;")


def check_length(field: str, value: str, minimum: int, maximum: int) -> str:
    """``value`` must be a str of ``minimum``..``maximum`` characters."""
    if not isinstance(value, str):
        raise CommandValidationError(field, "a string", value)
    if not minimum <= len(value) <= maximum:
        raise CommandValidationError(field, f"{minimum} to {maximum} characters", value)
    return value


def check_text(field: str, value: str, minimum: int, maximum: int) -> str:
    """``value`` must be ``minimum``..``maximum`` printable characters."""
    check_length(field, value, minimum, maximum)
    if not value.isprintable():
        raise CommandValidationError(field, "printable characters (no control characters or line breaks)", value)
    return value


def is_raw_target(value: str) -> bool:
    """Whether ``value`` is the specification's "/type/destination" form once blanks and control characters are
    taken out (" /106/2008" and "\\n/106/2008" are, as IP Office may read them)."""
    return "".join(char for char in value if char.isprintable() and not char.isspace()).startswith("/")


def check_target(field: str, value: str, minimum: int, maximum: int = TRANSFER_TARGET_MAX) -> str:
    """A dialled or forwarded-to target: printable, not surrounded by blanks, not the "/type/destination" form."""
    check_length(field, value, minimum, maximum)
    if is_raw_target(value):
        raise CommandValidationError(field, "a number, not the /type/destination form (give a transfer type)", value)
    check_text(field, value, minimum, maximum)
    if value != value.strip():
        raise CommandValidationError(field, "without leading or trailing blanks", value)
    return value


def check_number(field: str, value: str, minimum: int, maximum: int = TRANSFER_TARGET_MAX) -> str:
    """A number a Home Assistant user dials: a target of 0-9 * # with an optional leading +."""
    check_target(field, value, minimum, maximum)
    if _NUMBER.fullmatch(value) is None:
        raise CommandValidationError(field, f"{minimum} to {maximum} characters of 0-9 * # (and a leading +)", value)
    return value


def has_feature_code(number: str) -> bool:
    """Whether a dialled number holds ``*`` or ``#``: a feature (short) code of the dial plan, such as *32*N#."""
    return not FEATURE_CHARS.isdisjoint(number)


def check_destination(field: str, value: str, maximum: int = TRANSFER_TARGET_MAX) -> str:
    """The destination of a transfer type: 1..``maximum`` printable characters without / or ;."""
    check_target(field, value, 1, maximum)
    if not DESTINATION_FORBIDDEN.isdisjoint(value):
        raise CommandValidationError(field, "a destination without / or ;", value)
    return value


def check_digits(field: str, value: str, minimum: int, maximum: int) -> str:
    """``value`` must be ``minimum``..``maximum`` characters of 0-9 * #."""
    check_length(field, value, minimum, maximum)
    if _DIGITS.fullmatch(value) is None:
        raise CommandValidationError(field, f"{minimum} to {maximum} characters of 0-9 * #", value)
    return value


def check_extension(field: str, value: str) -> str:
    """An extension number: 1 to 31 digits."""
    check_length(field, value, 1, EXTN_MAX)
    if _EXTENSION.fullmatch(value) is None:
        raise CommandValidationError(field, f"1 to {EXTN_MAX} digits", value)
    return value


def check_pin(field: str, value: str) -> str:
    """A MeetMe conference PIN: 1 to 16 digits."""
    check_length(field, value, 1, PIN_MAX)
    if _PIN.fullmatch(value) is None:
        raise CommandValidationError(field, f"1 to {PIN_MAX} digits", value)
    return value


def check_count(field: str, value: int, minimum: int = 0, maximum: int = INT32_MAX) -> int:
    """``value`` must be an int (not a bool) in ``minimum``..``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise CommandValidationError(field, f"an integer from {minimum} to {maximum}", value)
    return value


def transfer_target(target: str, transfer_type: TransferType | None = None, pin: str | None = None) -> str:
    """The BlindTransfer arg1: ``target``, or "/type/destination" (";MODEFROMPIN(pin)" for a MeetMe PIN)."""
    if transfer_type is None:
        if pin is not None:
            raise CommandValidationError("pin", "given with the transfer type MEETME only", None)
        return check_target("target", target, 1)
    if transfer_type not in TransferType.__members__.values():
        raise CommandValidationError("transfer_type", "a TransferType", transfer_type)
    check_destination("target", target)
    text = f"/{int(transfer_type)}/{target}"
    if pin is not None:
        if transfer_type != TransferType.MEETME:
            raise CommandValidationError("pin", "given with the transfer type MEETME only", None)
        text += f";MODEFROMPIN({check_pin('pin', pin)})"
    return check_length("target", text, 1, TRANSFER_TARGET_MAX)
