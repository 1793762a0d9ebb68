"""The fast snapshot constructors of the client's hot path build ordinary, immutable model objects."""

from __future__ import annotations

import dataclasses

import pytest

from custom_components.ipoffice.mtcti3 import CallEventType, CallState, Subsystem
from custom_components.ipoffice.mtcti3.calls import call_from_info
from custom_components.ipoffice.mtcti3.models import Call, CallEvent, Party, new_call, new_call_event
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb


def test_new_call_is_an_ordinary_frozen_call() -> None:
    """A Call built by new_call equals, hashes, replaces and refuses changes like one built by Call()."""
    slow = Call(
        call_id=7,
        owner=Subsystem.USER,
        owner_guid="G",
        state=CallState.RINGING,
        calling_party=Party("0170", "Caller", 9),
        started=3.0,
    )
    fast = new_call(*(getattr(slow, f.name) for f in dataclasses.fields(Call)))
    assert type(fast) is Call
    assert fast == slow
    assert hash(fast) == hash(slow)
    assert repr(fast) == repr(slow)
    assert dataclasses.replace(fast, state=CallState.CONNECTED).state is CallState.CONNECTED
    assert fast.is_ringing
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.state = CallState.CONNECTED  # type: ignore[misc]


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
