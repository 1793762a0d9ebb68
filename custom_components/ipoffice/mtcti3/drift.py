"""Schema drift: the fields IP Office sends that this schema does not know.

A newer IP Office release may add fields to its messages. Protocol buffers keep such fields on a parsed message as
unknown fields, in any nested message. The client counts them per message type and field number, so that its
owner can show that the installed version misses something (diagnostics, the probe's trace, a repair issue).

Finding them takes a walk of every nested message, too much for every notify. The connection pays for it only when
a received message, its unknown fields discarded, serializes shorter than its payload: a message without unknown
fields, as protocol buffers encode it, serializes to exactly its own length (see :meth:`SchemaDrift.count`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage
from google.protobuf.unknown_fields import UnknownFieldSet

from .proto import ipo_mtcti3_pb2 as pb

_LOGGER = logging.getLogger(__name__)

MAX_SHOWN: Final = 32
"""Octets of a length-delimited unknown value that :meth:`UnknownField.describe` shows (in hex)."""
_VARINT: Final = 0
_LENGTH_DELIMITED: Final = 2
_WIRE_TYPES: Final = {1: "fixed64", 3: "group", 5: "fixed32"}

type DriftListener = Callable[[UnknownField], None]


@dataclass(frozen=True, slots=True)
class UnknownField:
    """One field of a received message that this schema does not know."""

    message: str
    """The type of the message that carried it, as this schema names it ("CallInfo")."""
    number: int
    wire_type: int
    value: object
    """An int (varint, fixed32, fixed64), bytes (length-delimited) or a group's fields, as protobuf gives it."""

    def describe(self) -> str:
        """``CallInfo.90=1``, ``NotifyUser.91=0x6869``: numbers and hex only, safe for a terminal and a log."""
        if self.wire_type == _VARINT and isinstance(self.value, int):
            shown = str(self.value)
        elif self.wire_type == _LENGTH_DELIMITED and isinstance(self.value, bytes):
            shown = "0x" + self.value[:MAX_SHOWN].hex()
            if len(self.value) > MAX_SHOWN:
                shown += f"... ({len(self.value)} octets)"
        elif isinstance(self.value, int):
            shown = f"{self.value:#x} ({_WIRE_TYPES.get(self.wire_type, self.wire_type)})"
        else:
            shown = f"({_WIRE_TYPES.get(self.wire_type, self.wire_type)})"
        return f"{self.message}.{self.number}={shown}"


def unknown_fields(message: ProtoMessage) -> list[UnknownField]:
    """Every unknown field of ``message`` and of the messages nested in it, depth first."""
    found: list[UnknownField] = []
    _collect(message, found)
    return found


def _collect(message: ProtoMessage, found: list[UnknownField]) -> None:
    name = message.DESCRIPTOR.name
    unknown = UnknownFieldSet(message)
    for index in range(len(unknown)):
        item = unknown[index]
        found.append(UnknownField(name, item.field_number, item.wire_type, item.data))
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.is_repeated:
            for item in value:
                _collect(item, found)
        else:
            _collect(value, found)


def describe(fields: list[UnknownField]) -> str:
    """The unknown fields of one message for the trace: ``CallInfo.90=1 NotifyUser.91=0x6869``."""
    return " ".join(field.describe() for field in fields)


class SchemaDrift:
    """How many times each unknown field came, per message type and field number, over all of a client's
    connections: ``{"CallInfo": {90: 12}}``."""

    __slots__ = ("_listeners", "counts")

    def __init__(self) -> None:
        """No field seen yet."""
        self.counts: dict[str, dict[int, int]] = {}
        self._listeners: list[DriftListener] = []

    def add_listener(self, callback: DriftListener) -> Callable[[], None]:
        """``callback(field)`` the first time each unknown field (message type and number) comes; returns the
        function that removes it."""
        self._listeners.append(callback)

        def remove() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return remove

    def count(self, payload: bytes) -> list[UnknownField]:
        """Count the unknown fields of a received ``Message`` payload (that parses) and return them.

        The connection calls this only for a message that may carry some: one whose known fields serialize to a
        length other than the payload's. Such a message may carry none (a peer may encode a field protobuf
        would leave out, or a repeated number unpacked): then nothing is counted.
        """
        message = pb.Message()
        try:
            message.ParseFromString(payload)
        except DecodeError, RecursionError, ValueError:  # pragma: no cover - the connection parsed it already
            return []
        found = unknown_fields(message)
        for field in found:
            numbers = self.counts.setdefault(field.message, {})
            seen = numbers.get(field.number, 0)
            numbers[field.number] = seen + 1
            if not seen:
                self._first_seen(field)
        return found

    def _first_seen(self, field: UnknownField) -> None:
        _LOGGER.debug("IP Office sent a field this schema does not know: %s", field.describe())
        for listener in list(self._listeners):
            try:
                listener(field)
            except Exception:
                _LOGGER.exception("A listener of unknown fields failed")

    def as_dict(self) -> dict[str, dict[int, int]]:
        """The counts, message types and field numbers in order (a copy)."""
        return {name: dict(sorted(self.counts[name].items())) for name in sorted(self.counts)}
