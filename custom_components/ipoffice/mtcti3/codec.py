"""Framing and decoding of MTCTI-3 websocket messages.

On the ``openapi`` subprotocol each binary websocket message is four octets ``00 00 00 01`` (a framed protocol
buffer) followed by one serialized :class:`Message`. On ``openapinoframing`` each websocket message is the bare
serialized :class:`Message`. Everything here is pure and synchronous: no I/O and no Home Assistant import.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from google.protobuf.message import DecodeError

from .proto import ipo_mtcti3_pb2 as pb

FRAME_HEADER: Final = b"\x00\x00\x00\x01"
"""The four octets in front of every framed protocol buffer (0x1 = framed protocol buffer)."""


class Subprotocol(StrEnum):
    """The websocket subprotocols of the ``tpkt/openapi`` service."""

    FRAMED = "openapi"
    UNFRAMED = "openapinoframing"


class FrameError(ValueError):
    """A websocket message that is not a valid MTCTI-3 frame.

    ``data`` keeps (at most the first 64 bytes of) the offending message so that a log line can show it.
    """

    def __init__(self, message: str, data: bytes) -> None:
        super().__init__(message)
        self.data = bytes(data[:64])


class ShortFrameError(FrameError):
    """A framed message shorter than its four-octet header plus a payload."""


class FrameHeaderError(FrameError):
    """A framed message whose first four octets are not ``00 00 00 01``."""


class PayloadDecodeError(FrameError):
    """A payload that does not decode as an MTCTI-3 ``Message``."""


class EmptyMessageError(FrameError):
    """A ``Message`` that decodes but carries none of the payloads this schema knows."""


def encode_message(message: pb.Message, subprotocol: Subprotocol = Subprotocol.FRAMED) -> bytes:
    """Serialize ``message`` into the bytes of one websocket message for ``subprotocol``."""
    payload = message.SerializeToString()
    if subprotocol is Subprotocol.UNFRAMED:
        return payload
    return FRAME_HEADER + payload


def unframe(data: bytes, subprotocol: Subprotocol = Subprotocol.FRAMED) -> bytes:
    """Return the protocol buffer payload of one websocket message, checking the frame header.

    Raises :class:`ShortFrameError` or :class:`FrameHeaderError` for a framed message that is not well formed.
    """
    if subprotocol is Subprotocol.UNFRAMED:
        return bytes(data)
    if len(data) < len(FRAME_HEADER):
        raise ShortFrameError(f"frame of {len(data)} bytes is shorter than the 4-byte header 00 00 00 01", data)
    if data[:4] != FRAME_HEADER:
        raise FrameHeaderError(
            f"frame header {bytes(data[:4]).hex(' ')} is not 00 00 00 01 (framed protocol buffer)", data
        )
    return bytes(data[4:])


def decode_frame(data: bytes, subprotocol: Subprotocol = Subprotocol.FRAMED) -> tuple[pb.Message, str]:
    """Decode one websocket message into a :class:`Message` and the name of its payload (``WhichOneof``).

    Raises a :class:`FrameError` subclass that names the problem: a short frame, a wrong header, a payload that is
    not a protocol buffer ``Message``, or a ``Message`` with no payload this schema knows (for example one that a
    newer IP Office sends with a payload number unknown here). Never raises anything else for any input.
    """
    if subprotocol is Subprotocol.UNFRAMED:
        payload = bytes(data)
    elif data[:4] == FRAME_HEADER:  # the common case first; unframe names what is wrong otherwise
        payload = data[4:]
    else:
        payload = unframe(data, subprotocol)
    message = pb.Message()
    try:
        message.ParseFromString(payload)
    except (DecodeError, RecursionError, ValueError) as err:
        raise PayloadDecodeError(f"payload of {len(payload)} bytes is not an MTCTI-3 Message: {err}", data) from err
    kind = message.WhichOneof("payload")
    if kind is None:
        raise EmptyMessageError(
            f"Message of {len(payload)} bytes carries no known payload"
            + (" (unknown fields only)" if payload else " (empty)"),
            data,
        )
    return message, kind


def decode_message(data: bytes, subprotocol: Subprotocol = Subprotocol.FRAMED) -> pb.Message:
    """Decode one websocket message into a :class:`Message` (see :func:`decode_frame` for the errors)."""
    return decode_frame(data, subprotocol)[0]


_NOTIFYACK_TAG: Final = bytes(((pb.Message.DESCRIPTOR.fields_by_name["notifyack"].number << 3) | 2,))
"""The key of ``Message.notifyack`` (field 9, length-delimited): 0x4A."""
_SUBSCRIBE_ID_TAG: Final = b"\x08"  # NotifyAck.subscribe_id: field 1, varint
_NOTIFY_ID_TAG: Final = b"\x10"  # NotifyAck.notify_id: field 2, varint
_FRAMED_NOTIFYACK: Final = FRAME_HEADER + _NOTIFYACK_TAG
_VARINTS: Final = tuple(bytes((n,)) for n in range(0x80))


def _varint(value: int) -> bytes:
    """The protobuf varint of an int32 (a negative one takes ten octets, as protobuf encodes it)."""
    if 0 <= value < 0x80:
        return _VARINTS[value]
    if 0 < value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_ACK_PREFIXES: Final[dict[int, bytes]] = {}  # subscribe_id -> its field's octets (the same on every ack)
_ACK_PREFIXES_MAX: Final = 4096
_NOTIFY_IDS: Final = tuple(_NOTIFY_ID_TAG + _VARINTS[n] for n in range(0x80))  # notify_id field, one-octet values
_FRAMED_HEADS: Final = tuple(_FRAMED_NOTIFYACK + _VARINTS[n] for n in range(0x80))  # header, key, body length
_UNFRAMED_HEADS: Final = tuple(_NOTIFYACK_TAG + _VARINTS[n] for n in range(0x80))


def encode_notify_ack(subscribe_id: int, notify_id: int, subprotocol: Subprotocol = Subprotocol.FRAMED) -> bytes:
    """``encode_message`` of ``Message(notifyack=NotifyAck(subscribe_id, notify_id))``, built without protobuf.

    The same octets as protobuf serializes (fields in number order, zero fields left out), in a fraction of the
    time: one NotifyAck answers every notify, so this is on the per-notify path. A subscription's field is the same
    on each of its acks and is kept (a bounded cache).
    """
    prefix = _ACK_PREFIXES.get(subscribe_id)
    if prefix is None:
        if len(_ACK_PREFIXES) >= _ACK_PREFIXES_MAX:
            _ACK_PREFIXES.clear()
        prefix = _ACK_PREFIXES[subscribe_id] = _SUBSCRIBE_ID_TAG + _varint(subscribe_id) if subscribe_id else b""
    if 0 < notify_id < 0x80:
        body = prefix + _NOTIFY_IDS[notify_id]
    elif 0 < notify_id < 0x4000:
        body = prefix + bytes((0x10, notify_id & 0x7F | 0x80, notify_id >> 7))
    else:
        body = prefix + _NOTIFY_ID_TAG + _varint(notify_id) if notify_id else prefix
    # a body is at most 22 octets: its length is one octet
    return (_FRAMED_HEADS if subprotocol is Subprotocol.FRAMED else _UNFRAMED_HEADS)[len(body)] + body
