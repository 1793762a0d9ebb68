"""Schema drift: fields a newer IP Office sends that this schema does not know are counted, listed and traced."""

from __future__ import annotations

import logging

import pytest

from custom_components.ipoffice.mtcti3 import Subprotocol, UnknownField
from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER
from custom_components.ipoffice.mtcti3.connection import TRACE_LOGGER_NAME
from custom_components.ipoffice.mtcti3.drift import SchemaDrift, unknown_fields
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator

from .conftest import ClientFactory, settle, wait_for


def _received(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME and " recv " in r.getMessage()]


@pytest.mark.parametrize("subprotocol", [Subprotocol.FRAMED, Subprotocol.UNFRAMED])
async def test_unknown_fields_are_counted_per_message_and_number(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture, subprotocol: Subprotocol
) -> None:
    """Every CallInfo of a call carries field 90 and a user's notify field 91: the client counts each of them,
    by message type and number, tells its listeners once per field, traces them, and handles the call as ever."""
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    client = await make_client(subprotocol=subprotocol)
    first_seen: list[UnknownField] = []
    client.add_unknown_field_listener(first_seen.append)
    bob = client.user_by_extn("2002")
    assert bob is not None
    assert client.unknown_fields == {}
    caplog.clear()
    sim.faults.add_unknown_field("CallInfo", 90, 5)
    sim.faults.add_unknown_field("NotifyUser", 91, 300)
    call = sim.incoming_call(to="2002", caller="01707123456", caller_name="Carol")
    sim.answer(call, by="2002")
    sim.hangup(call, by="caller")
    sim.update_user("2002", dnd=True)
    await settle(sim)
    assert bob.dnd
    assert not bob.calls

    lines = _received(caplog)
    callinfos = sum(line.count("callinfo {") for line in lines)
    user_notifies = sum(1 for line in lines if "user {" in line and "notify {" in line)
    assert callinfos >= 2  # ringing, connected
    assert user_notifies >= 1
    assert client.unknown_fields == {"CallInfo": {90: callinfos}, "NotifyUser": {91: user_notifies}}
    assert client.stats.as_dict()["unknown_fields"] == client.unknown_fields
    assert [(f.message, f.number, f.value) for f in first_seen] == [("CallInfo", 90, 5), ("NotifyUser", 91, 300)]
    assert all(line.count("CallInfo.90=5") == line.count("callinfo {") for line in lines)
    assert any(line.endswith("unknown fields: NotifyUser.91=300") for line in lines)
    assert not any("unknown fields" in line for line in lines if "callinfo {" not in line and "user {" not in line)


async def test_nothing_is_counted_without_unknown_fields(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator's notifies (as protobuf encodes them) carry nothing unknown: nothing is counted or traced, and
    none of them costs the walk that looks for unknown fields."""
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    walked: list[bytes] = []
    count = SchemaDrift.count
    monkeypatch.setattr(SchemaDrift, "count", lambda self, payload: walked.append(payload) or count(self, payload))
    client = await make_client()
    call = sim.incoming_call(to="2501", caller="01707123456")
    sim.answer(call, by="2001")
    sim.hold(call, by="2001")
    sim.hangup(call, by="2001")
    sim.update_user("2003", dnd=True)
    await settle(sim)
    assert client.stats.notifies > 10
    assert client.unknown_fields == {}
    assert walked == []
    assert not any("unknown fields" in line for line in _received(caplog))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes((*out, value))


def _submessage(number: int, body: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(body)) + body


async def test_a_field_protobuf_would_leave_out_is_not_unknown(make_client: ClientFactory, sim: Simulator) -> None:
    """A peer may write a field at its default (dnd false) that protobuf leaves out: the message is longer than
    protobuf makes it, but nothing in it is unknown."""
    client = await make_client()
    bob = client.user_by_extn("2002")
    assert bob is not None
    sid = next(s.subscribe_id for s in client._subs.values() if s.key == bob.guid)
    dnd = pb.NotifyUser.DESCRIPTOR.fields_by_name["dnd"].number
    user = pb.NotifyUser(name="Bob Explicit").SerializeToString() + _varint(dnd << 3) + b"\x00"
    raw = _submessage(8, _varint(1 << 3) + _varint(sid) + _submessage(41, user))  # Message.notify, Notify.user
    check = pb.Message()
    check.ParseFromString(raw)
    assert (check.notify.subscribe_id, check.notify.user.name) == (sid, "Bob Explicit")
    assert check.ByteSize() == len(raw) - 2
    sim.faults.send_raw(FRAME_HEADER + raw)
    await wait_for(lambda: bob.name == "Bob Explicit", message="the notify handled")
    assert client.unknown_fields == {}


async def test_an_unknown_payload_is_counted(make_client: ClientFactory, sim: Simulator) -> None:
    """A Message whose only payload is one this schema lacks is skipped as a bad frame, and its field counted."""
    client = await make_client()
    sim.faults.send_malformed("unknown_payload")
    await wait_for(lambda: client.stats.bad_frames == 1, message="bad frame counted")
    assert client.unknown_fields == {"Message": {15: 1}}
    assert client.connected


def test_unknown_fields_are_described_in_numbers_and_hex() -> None:
    """Each wire type shows as digits or hex, never as the peer's text; a long value is cut."""
    info = pb.CallInfo(callid=3)
    info.MergeFromString(
        bytes((0xD0, 0x05, 0x01))  # 90: varint 1
        + bytes((0xDA, 0x05, 0x03))
        + b"\x1b[2"  # 91: an escape sequence, 3 octets
        + bytes((0xE5, 0x05))
        + b"\x01\x00\x00\x00"  # 92: fixed32 1
        + bytes((0xE9, 0x05))
        + b"\x02"
        + b"\x00" * 7  # 93: fixed64 2
        + bytes((0xF3, 0x05, 0x08, 0x01, 0xF4, 0x05))  # 94: a group
        + bytes((0xFA, 0x05, 40))
        + b"x" * 40  # 95: 40 octets
    )
    message = pb.Message(notify=pb.Notify(callcontrol=pb.NotifyCallControl(callinfo=[info])))
    described = [field.describe() for field in unknown_fields(message)]
    assert described == [
        "CallInfo.90=1",
        "CallInfo.91=0x1b5b32",
        "CallInfo.92=0x1 (fixed32)",
        "CallInfo.93=0x2 (fixed64)",
        "CallInfo.94=(group)",
        "CallInfo.95=0x" + "78" * 32 + "... (40 octets)",
    ]


def test_a_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """A listener that raises is logged; the others hear of the field, and a removed one no more."""
    drift = SchemaDrift()
    heard: list[str] = []

    def failing(field: UnknownField) -> None:
        raise RuntimeError("listener failed")

    drift.add_listener(failing)
    remove = drift.add_listener(lambda field: heard.append(field.describe()))
    info = pb.CallInfo(callid=3)
    info.MergeFromString(bytes((0xD0, 0x05, 0x01)))  # 90: varint 1
    payload = pb.Message(notify=pb.Notify(callcontrol=pb.NotifyCallControl(callinfo=[info]))).SerializeToString()
    assert [field.describe() for field in drift.count(payload)] == ["CallInfo.90=1"]
    assert heard == ["CallInfo.90=1"]
    assert "A listener of unknown fields failed" in caplog.text
    remove()
    remove()  # a second time: nothing to remove
    info.MergeFromString(bytes((0xD8, 0x05, 0x02)))  # 91: varint 2
    payload = pb.Message(notify=pb.Notify(callcontrol=pb.NotifyCallControl(callinfo=[info]))).SerializeToString()
    drift.count(payload)
    assert heard == ["CallInfo.90=1"]
    assert drift.as_dict() == {"CallInfo": {90: 2, 91: 1}}
