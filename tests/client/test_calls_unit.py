"""calls.py as pure functions: snapshots to Call objects and events."""

from __future__ import annotations

from custom_components.ipoffice.mtcti3 import CallEventType, CallState, Subsystem
from custom_components.ipoffice.mtcti3.calls import apply_call_control, call_from_info, end_events, snapshot_events
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb

T = CallEventType
S = pb.CallInfo.State


def info(callid: int, state: int, **fields: object) -> pb.CallInfo:
    return pb.CallInfo(callid=callid, state=state, **fields)  # type: ignore[arg-type]


def notify(*infos: pb.CallInfo, lost: tuple[pb.CallLost, ...] = ()) -> pb.NotifyCallControl:
    return pb.NotifyCallControl(callinfo=infos, calllost=lost)


def test_full_snapshot_fields() -> None:
    snapshot = info(
        3,
        S.Value("CONNECTED"),
        gcid=b"\x01\xc0\xa8",
        direction=pb.CallInfo.Direction.Value("INBOUND"),
        callingparty=pb.PartyInfo(number="0123", name="Caller", nametype=9),
        connectedparty=pb.PartyInfo(number="2002"),
        originalcalledparty=pb.PartyInfo(number="2501"),
        conferencemember=[pb.ConferenceMember(lref=1, connectedparty=pb.PartyInfo(number="9"), state=6, mute=True)],
        targets=pb.Targets(target=[pb.Target(partyinfo=pb.PartyInfo(number="2001"))]),
        queueinfo=pb.QueueInfo(number="2501", name="Sales", priority=2),
        trunkinfo=pb.TrunkInfo(did="8010"),
        calldata=pb.CallData(language="eng", privacy=True),
    )
    call = call_from_info(snapshot, Subsystem.QUEUE, "G", None, 10.0)
    assert call.gcid == "01C0A8"
    assert call.answered
    assert call.conference_members[0].mute
    assert call.targets[0].number == "2001"
    assert (call.queue_name, call.queue_priority, call.trunk_did, call.language, call.privacy) == (
        "Sales",
        2,
        "8010",
        "eng",
        True,
    )
    assert call.other_party is not None
    assert call.other_party.number == "2002"
    assert [e.type for e in snapshot_events(None, call, 10.0)] == [T.NEW, T.ANSWERED]


def test_transitions_and_transfer() -> None:
    calls: dict[int, object] = {}
    events = apply_call_control(calls, notify(info(1, S.Value("ONHOLD"))), Subsystem.USER, "U", 1.0)  # type: ignore[arg-type]
    assert [e.type for e in events] == [T.NEW, T.HELD]
    events = apply_call_control(calls, notify(info(1, S.Value("ONHOLD"))), Subsystem.USER, "U", 2.0)  # type: ignore[arg-type]
    assert events == []
    connected = info(2, S.Value("CONNECTED"), connectedparty=pb.PartyInfo(number="2003"))
    apply_call_control(calls, notify(connected), Subsystem.USER, "U", 3.0)  # type: ignore[arg-type]
    moved = info(2, S.Value("CONNECTED"), connectedparty=pb.PartyInfo(number="2004"))
    events = apply_call_control(calls, notify(moved), Subsystem.USER, "U", 4.0)  # type: ignore[arg-type]
    assert [e.type for e in events] == [T.TRANSFERRED]
    pending = info(5, S.Value("ONHOLDPENDTRANSFER"))
    assistant = info(6, S.Value("CONNECTED"), relatedcallid=5)
    apply_call_control(calls, notify(pending, assistant), Subsystem.USER, "U", 5.0)  # type: ignore[arg-type]
    lost = (pb.CallLost(callid=6, reason=16, thisenddropped=True), pb.CallLost(callid=5, reason=16))
    events = apply_call_control(calls, notify(lost=(*lost, pb.CallLost(callid=77))), Subsystem.USER, "U", 6.0)  # type: ignore[arg-type]
    assert [e.type for e in events] == [T.TRANSFERRED, T.ENDED, T.TRANSFERRED, T.ENDED]


def test_unknown_enum_values_are_reported() -> None:
    seen: list[tuple[str, int]] = []
    call = call_from_info(
        info(1, 99, direction=9, failedcause=99),  # type: ignore[arg-type]
        Subsystem.USER,
        "U",
        None,
        0.0,
        lambda name, value: seen.append((name, value)),
    )
    assert call.state is CallState.UNKNOWN
    assert [name for name, _ in seen] == ["CallInfo.state", "CallInfo.direction", "CallInfo.failedcause"]


def test_end_events() -> None:
    outbound = call_from_info(info(1, S.Value("RINGBACK"), direction=1), Subsystem.USER, "U", None, 0.0)
    assert [e.type for e in end_events(outbound, 1.0, this_end_dropped=False)] == [T.ENDED]
    park = call_from_info(info(1, S.Value("CONNECTED")), Subsystem.PARK, "", None, 0.0)
    assert [e.type for e in end_events(park, 1.0)] == [T.ENDED]
    inbound = call_from_info(info(1, S.Value("RINGING"), direction=2), Subsystem.USER, "U", None, 0.0)
    assert [e.type for e in end_events(inbound, 1.0, reconciled=True)] == [T.ENDED]
    assert [e.type for e in end_events(inbound, 1.0, this_end_dropped=True)] == [T.ENDED]
