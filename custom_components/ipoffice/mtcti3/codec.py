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


def decode_message(data: bytes, subprotocol: Subprotocol = Subprotocol.FRAMED) -> pb.Message:
    """Decode one websocket message into a :class:`Message`.

    Raises a :class:`FrameError` subclass that names the problem: a short frame, a wrong header, a payload that is
    not a protocol buffer ``Message``, or a ``Message`` with no payload this schema knows (for example one that a
    newer IP Office sends with a payload number unknown here). Never raises anything else for any input.
    """
    payload = unframe(data, subprotocol)
    message = pb.Message()
    try:
        message.ParseFromString(payload)
    except (DecodeError, RecursionError, ValueError) as err:
        raise PayloadDecodeError(f"payload of {len(payload)} bytes is not an MTCTI-3 Message: {err}", data) from err
    if message.WhichOneof("payload") is None:
        raise EmptyMessageError(
            f"Message of {len(payload)} bytes carries no known payload"
            + (" (unknown fields only)" if payload else " (empty)"),
            data,
        )
    return message
