"""Framing: 00 00 00 01 + Message on "openapi", the bare Message on "openapinoframing"; bad frames named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custom_components.ipoffice.mtcti3.codec import (
    FRAME_HEADER,
    EmptyMessageError,
    FrameError,
    FrameHeaderError,
    PayloadDecodeError,
    ShortFrameError,
    Subprotocol,
    decode_frame,
    decode_message,
    encode_message,
    encode_notify_ack,
    unframe,
)
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb

ACK = pb.Message(notifyack=pb.NotifyAck(subscribe_id=7, notify_id=3))


def test_framed_and_unframed() -> None:
    """The same Message, with and without the 4-byte header."""
    framed = encode_message(ACK)
    assert framed[:4] == FRAME_HEADER == b"\x00\x00\x00\x01"
    assert framed[4:] == encode_message(ACK, Subprotocol.UNFRAMED) == ACK.SerializeToString()
    assert decode_message(framed) == ACK
    assert decode_message(framed[4:], Subprotocol.UNFRAMED) == ACK
    assert Subprotocol.FRAMED == "openapi"
    assert Subprotocol.UNFRAMED == "openapinoframing"


@pytest.mark.parametrize(
    ("data", "error", "text"),
    [
        (b"", ShortFrameError, "shorter than the 4-byte header"),
        (b"\x00\x00\x01", ShortFrameError, "frame of 3 bytes"),
        (b"\x00\x00\x00\x02" + ACK.SerializeToString(), FrameHeaderError, "00 00 00 02 is not 00 00 00 01"),
        (ACK.SerializeToString(), FrameHeaderError, "is not 00 00 00 01"),
        (FRAME_HEADER + b"\xff\xff\xff", PayloadDecodeError, "is not an MTCTI-3 Message"),
        (FRAME_HEADER + b"\x4a\x05\x08", PayloadDecodeError, "is not an MTCTI-3 Message"),
        (FRAME_HEADER, EmptyMessageError, "(empty)"),
        (FRAME_HEADER + b"\xf8\x06\x01", EmptyMessageError, "unknown fields only"),  # field 111, a future payload
    ],
)
def test_bad_frames_are_named(data: bytes, error: type[FrameError], text: str) -> None:
    """Each bad frame raises the specific error, with a message that names the problem and the data kept."""
    with pytest.raises(error) as caught:
        decode_message(data)
    assert text in str(caught.value)
    assert caught.value.data == data[:64]
    assert isinstance(caught.value, ValueError)


def test_unframed_has_no_header_to_check() -> None:
    """On openapinoframing the first bytes are payload, so a header error cannot happen, a payload error can."""
    assert unframe(b"\x00\x00\x00\x02", Subprotocol.UNFRAMED) == b"\x00\x00\x00\x02"
    with pytest.raises(PayloadDecodeError):
        decode_message(b"\xff\xff", Subprotocol.UNFRAMED)


@given(st.binary(max_size=512), st.sampled_from(list(Subprotocol)))
def test_no_input_crashes_the_decoder(data: bytes, subprotocol: Subprotocol) -> None:
    """Any bytes either decode to a Message with a payload or raise a FrameError; nothing else escapes."""
    error: FrameError | None = None
    try:
        message = decode_message(data, subprotocol)
    except FrameError as err:
        error = err
    if error is None:
        assert message.WhichOneof("payload") is not None
    else:
        assert str(error)


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.integers(min_value=0, max_value=2**31 - 1))
def test_any_ids_round_trip(subscribe_id: int, notify_id: int) -> None:
    """int32 ids of any value survive framing."""
    message = pb.Message(notifyack=pb.NotifyAck(subscribe_id=subscribe_id, notify_id=notify_id))
    for subprotocol in Subprotocol:
        assert decode_message(encode_message(message, subprotocol), subprotocol) == message


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_notify_ack_bytes_are_protobufs(subscribe_id: int, notify_id: int) -> None:
    """The NotifyAck built without protobuf is the same octets as protobuf's, for any int32 ids."""
    message = pb.Message(notifyack=pb.NotifyAck(subscribe_id=subscribe_id, notify_id=notify_id))
    for subprotocol in Subprotocol:
        assert encode_notify_ack(subscribe_id, notify_id, subprotocol) == encode_message(message, subprotocol)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 16383, 16384, 2**31 - 1, -1, -(2**31)])
def test_notify_ack_varint_edges(value: int) -> None:
    for subscribe_id, notify_id in ((value, 1), (1, value), (value, value)):
        message = pb.Message(notifyack=pb.NotifyAck(subscribe_id=subscribe_id, notify_id=notify_id))
        assert encode_notify_ack(subscribe_id, notify_id) == encode_message(message)


def test_decode_frame_names_the_payload() -> None:
    assert decode_frame(encode_message(ACK)) == (ACK, "notifyack")
    assert decode_frame(ACK.SerializeToString(), Subprotocol.UNFRAMED) == (ACK, "notifyack")
    with pytest.raises(FrameHeaderError):
        decode_frame(b"\x00\x00\x00\x02" + ACK.SerializeToString())
