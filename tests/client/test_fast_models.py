"""The fast snapshot constructors of the client's hot path build ordinary, immutable model objects."""

from __future__ import annotations

import dataclasses

import pytest

from custom_components.ipoffice.mtcti3 import CallDirection, CallEventType, CallState, Subsystem
from custom_components.ipoffice.mtcti3.calls import call_from_info
from custom_components.ipoffice.mtcti3.models import Call, CallEvent, Party, new_call_event
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb


def test_a_snapshot_is_an_ordinary_frozen_call() -> None:
    """A Call read from a CallInfo (its details read when first asked for) equals, hashes, prints, replaces and
    refuses changes like the same Call built by keywords."""
    info = pb.CallInfo(
        callid=7,
        state=pb.CallInfo.State.RINGING,
        direction=pb.CallInfo.Direction.INBOUND,
        gcid=b"\x01\x02",
        callingparty=pb.PartyInfo(number="0170", name="Caller", nametype=9),
        queueinfo=pb.QueueInfo(number="2501", name="Sales", priority=2),
        tag="vip",
    )
    keywords = Call(
        call_id=7,
        owner=Subsystem.USER,
        owner_guid="G",
        state=CallState.RINGING,
        direction=CallDirection.INBOUND,
        gcid="0102",
        calling_party=Party("0170", "Caller", 9),
        queue_number="2501",
        queue_name="Sales",
        queue_priority=2,
        tag="vip",
        started=3.0,
        state_since=3.0,
    )
    fresh = call_from_info(info, Subsystem.USER, "G", None, 3.0)
    assert type(fresh) is Call
    assert fresh.tag == "vip"  # one detail read ...
    assert fresh == keywords  # ... and the rest read to compare
    snapshot = call_from_info(info, Subsystem.USER, "G", None, 3.0)
    assert hash(snapshot) == hash(keywords)
    assert repr(call_from_info(info, Subsystem.USER, "G", None, 3.0)) == repr(keywords)
    assert dataclasses.asdict(call_from_info(info, Subsystem.USER, "G", None, 3.0)) == dataclasses.asdict(keywords)
    moved = dataclasses.replace(call_from_info(info, Subsystem.USER, "G", None, 3.0), state=CallState.CONNECTED)
    assert (moved.state, moved.calling_party, moved.queue_name) == (
        CallState.CONNECTED,
        Party("0170", "Caller", 9),
        "Sales",
    )
    assert snapshot.is_ringing
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.state = CallState.CONNECTED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.tag = "changed"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no_such_field"):
        getattr(snapshot, "no_such_field")  # noqa: B009 - the attribute is not a field
    with pytest.raises(AttributeError, match="_private"):
        getattr(snapshot, "_private")  # noqa: B009


def test_a_call_built_by_keywords_has_no_hidden_fields() -> None:
    with pytest.raises(AttributeError, match="no_such_field"):
        getattr(Call(call_id=1, owner=Subsystem.USER, owner_guid="G", state=CallState.RINGING), "no_such_field")  # noqa: B009


def test_new_call_event_is_an_ordinary_frozen_event() -> None:
    """A CallEvent built by new_call_event equals one built by keywords and cannot be changed."""
    call = Call(call_id=1, owner=Subsystem.QUEUE, owner_guid="Q", state=CallState.QUEUEING, started=10.0)
    fast = new_call_event(CallEventType.ENDED, call, 12.5, CallState.QUEUEING, 16, False, "gone", False)
    slow = CallEvent(
        CallEventType.ENDED,
        call,
        12.5,
        previous_state=CallState.QUEUEING,
        reason=16,
        this_end_dropped=False,
        description="gone",
    )
    assert type(fast) is CallEvent
    assert fast == slow
    assert fast.duration == 2.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.reason = 0  # type: ignore[misc]


def test_gcids_stay_right_beyond_the_cache() -> None:
    """Thousands of distinct calls: every snapshot still carries its own gcid (the cache is bounded, not stale)."""
    for number in range(5000):
        gcid = number.to_bytes(9, "big")
        info = pb.CallInfo(callid=number + 1, state=pb.CallInfo.State.RINGING, gcid=gcid)
        call = call_from_info(info, Subsystem.USER, "G", None, 1.0)
        assert call.gcid == gcid.hex().upper()
