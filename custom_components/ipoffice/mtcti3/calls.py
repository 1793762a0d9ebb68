"""Call snapshots to :class:`Call` objects and consecutive snapshots to :class:`CallEvent` lists.

Pure functions: no I/O, no clock (the caller passes ``now``), no logging. IP Office sends a complete snapshot of a
call appearance on every change and a CallLost when it ends; it does not promise every transition (a call that is
answered at once may never be seen RINGING), so events are derived by comparing the new snapshot with the last.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import fields
from operator import attrgetter
from types import MappingProxyType
from typing import Final

from .const import HELD_STATES, CallDirection, CallFeature, CallState, FailedCause, Subsystem
from .models import (
    SNAPSHOT_FIELDS,
    Call,
    CallDetails,
    CallEvent,
    CallEventType,
    ConferenceMember,
    EndDevice,
    Party,
    new_call_event,
    new_party,
    new_snapshot,
)
from .proto import ipo_mtcti3_pb2 as pb

_STATES: Final = {state.value: state for state in CallState}
_DIRECTIONS: Final = {direction.value: direction for direction in CallDirection}
_CAUSES: Final = {cause.value: cause for cause in FailedCause}

UnknownValue = Callable[[str, int], None]
"""Called with (field name, value) for an enum value this schema does not know."""

ANSWERED_ELSEWHERE: Final = 26
"""CallLost.reason of a call that another phone it rang answered (Q.850 cause 26, non-selected user clearing; the
spec's reasons are Q.850 causes: "16 = Normal"). Such a call is not missed."""


_PARTY_FIELDS: Final = attrgetter("number", "name", "nametype", "withheld", "diversionreason", "numbertype", "subaddr")
_PARTIES: Final[dict[tuple[str, str, int, bool, int, int, str], Party]] = {}
_PARTIES_MAX: Final = 4096


def _party(info: pb.PartyInfo) -> Party:
    """The Party of ``info``, cached: a call's parties repeat on every snapshot (and on every agent it rings)."""
    key = _PARTY_FIELDS(info)
    party = _PARTIES.get(key)
    if party is None:
        if len(_PARTIES) >= _PARTIES_MAX:
            _PARTIES.clear()
        party = _PARTIES[key] = new_party(*key)
    return party


_FEATURES: Final[dict[int, CallFeature]] = {}
_FEATURES_MAX: Final = 4096
_GCIDS: Final[dict[bytes, str]] = {}
_GCIDS_MAX: Final = 4096


def _gcid(value: bytes) -> str:
    """``value.hex().upper()``, cached: every snapshot of a call repeats its gcid."""
    text = _GCIDS.get(value)
    if text is None:
        if len(_GCIDS) >= _GCIDS_MAX:
            _GCIDS.clear()
        text = _GCIDS[value] = value.hex().upper()
    return text


def _features(value: int) -> CallFeature:
    """``CallFeature(value)``, cached: a handful of feature sets recur on every snapshot."""
    features = _FEATURES.get(value)
    if features is None:
        features = CallFeature(value)
        if len(_FEATURES) < _FEATURES_MAX:
            _FEATURES[value] = features
    return features


def _ignore(_field: str, _value: int) -> None:
    return None


def _party_if(info: pb.CallInfo, name: str) -> Party | None:
    return _party(getattr(info, name)) if info.HasField(name) else None


def _members(info: pb.CallInfo) -> tuple[ConferenceMember, ...]:
    return tuple(
        ConferenceMember(
            lref=member.lref,
            party=_party(member.connectedparty),
            state=_STATES.get(member.state, CallState.UNKNOWN),
            mute=member.mute,
            direction=_DIRECTIONS.get(member.direction, CallDirection.UNDEFINED),
            active_held=member.activeheld,
            called_party=member.calledparty,
            failed_cause=_CAUSES.get(member.failedcause, FailedCause.UNSPECIFIED),
        )
        for member in info.conferencemember
    )


def _device(end: pb.EndInfo) -> EndDevice:
    return EndDevice(
        gcid=_gcid(end.gcid),
        device_class=end.deviceclass,
        device_type=end.devicetype,
        device_instance=end.deviceinstance,
        teleworker=end.teleworker,
    )


def _call_data(info: pb.CallInfo, name: str) -> bool:
    return bool(getattr(info.calldata, name)) if info.HasField("calldata") else False


def _targets(info: pb.CallInfo) -> tuple[Party, ...]:
    return tuple(_party(target.partyinfo) for target in info.targets.target) if info.HasField("targets") else ()


# How each field of a Call that a snapshot does not set at once is read from its CallInfo. A field the snapshot
# does not carry (because of the ccflags) reads as None/empty.
_DETAILS: Final[CallDetails] = MappingProxyType(
    {
        "reference_id": lambda info: info.referencecallid,
        "related_call_id": lambda info: info.relatedcallid,
        "active_held": lambda info: info.activeheld,
        "features": lambda info: _features(info.featuresavailable & 0xFFFFFFFF),
        "original_called_party": lambda info: _party_if(info, "originalcalledparty"),
        "tag": lambda info: info.tag,
        "account_code": lambda info: info.accountcode,
        "mute": lambda info: info.mute,
        "recording": lambda info: info.recording,
        "recording_paused": lambda info: info.recordingpaused,
        "park_slot": lambda info: info.parkslot,
        "page_call": lambda info: info.pagecall,
        "privacy": lambda info: _call_data(info, "privacy"),
        "language": lambda info: info.calldata.language if info.HasField("calldata") else "",
        "emergency": lambda info: _call_data(info, "emergency"),
        "secure": lambda info: _call_data(info, "secure"),
        "remote_privacy": lambda info: _call_data(info, "rprivacy"),
        "queue_number": lambda info: info.queueinfo.number if info.HasField("queueinfo") else "",
        "queue_priority": lambda info: info.queueinfo.priority if info.HasField("queueinfo") else 0,
        "queue_overflow_number": lambda info: info.queueinfo.overflow_number if info.HasField("queueinfo") else "",
        "queue_overflow_name": lambda info: info.queueinfo.overflow_name if info.HasField("queueinfo") else "",
        "trunk_did": lambda info: info.trunkinfo.did if info.HasField("trunkinfo") else "",
        "ucid": lambda info: info.ucid.ucid.hex().upper() if info.HasField("ucid") else "",
        "remote_device": lambda info: _device(info.remoteinfo) if info.HasField("remoteinfo") else None,
        "local_devices": lambda info: tuple(_device(end) for end in info.localinfo),
        "conference_members": _members,
        "targets": _targets,
    }
)
if set(_DETAILS) | set(SNAPSHOT_FIELDS) != {f.name for f in fields(Call)}:  # pragma: no cover - for maintainers
    raise ImportError("calls._DETAILS and models.SNAPSHOT_FIELDS must cover every field of models.Call")


def call_from_info(
    info: pb.CallInfo,
    owner: Subsystem,
    owner_guid: str,
    previous: Call | None,
    now: float,
    on_unknown: UnknownValue = _ignore,
) -> Call:
    """Build the :class:`Call` of a CallInfo snapshot, keeping started/state_since/answered of ``previous``.

    Message fields that the snapshot does not carry (because of the ccflags) stay ``None``/empty. An enum value
    this schema does not know becomes UNKNOWN/UNDEFINED/UNSPECIFIED and is reported through ``on_unknown``. The
    Call reads its details from ``info`` when first asked for: ``info`` must not be changed afterwards.
    """
    return _call(info, info.callid, _gcid(info.gcid), owner, owner_guid, previous, now, on_unknown)


def _call(
    info: pb.CallInfo,
    call_id: int,
    gcid: str,
    owner: Subsystem,
    owner_guid: str,
    previous: Call | None,
    now: float,
    on_unknown: UnknownValue,
) -> Call:
    """:func:`call_from_info` with the call id and gcid already read (each field of ``info`` is read once)."""
    state = _STATES.get(raw_state := info.state)
    if state is None:
        on_unknown("CallInfo.state", raw_state)
        state = CallState.UNKNOWN
    direction = _DIRECTIONS.get(raw_direction := info.direction)
    if direction is None:
        on_unknown("CallInfo.direction", raw_direction)
        direction = CallDirection.UNDEFINED
    failed = _CAUSES.get(raw_failed := info.failedcause)
    if failed is None:
        on_unknown("CallInfo.failedcause", raw_failed)
        failed = FailedCause.UNSPECIFIED
    if previous is None:
        started = state_since = now
        answered = state is CallState.CONNECTED
    else:
        started = previous.started
        state_since = previous.state_since if previous.state is state else now
        answered = previous.answered or state is CallState.CONNECTED
    has = info.HasField
    return new_snapshot(
        call_id,
        owner,
        owner_guid,
        state,
        direction,
        failed,
        gcid,
        info.calledparty,
        _party(info.callingparty) if has("callingparty") else None,
        _party(info.connectedparty) if has("connectedparty") else None,
        info.queueinfo.name if has("queueinfo") else "",
        started,
        state_since,
        answered,
        info,
        _DETAILS,
    )


def _far_end(call: Call) -> str:
    party = call.connected_party
    return party.number if party is not None else ""


def snapshot_events(previous: Call | None, call: Call, now: float) -> list[CallEvent]:
    """The events that lead from ``previous`` (None: first sight) to ``call``, in order."""
    events: list[CallEvent] = []
    _snapshot_events(events, previous, call, now)
    return events


def _snapshot_events(events: list[CallEvent], previous: Call | None, call: Call, now: float) -> None:
    """:func:`snapshot_events`, appended to ``events`` (each CallEvent built positionally: this is per snapshot)."""
    new_state = call.state
    if previous is None:
        events.append(new_call_event(CallEventType.NEW, call, now, None, None, None, "", False))
        if new_state is CallState.CONNECTED:
            events.append(new_call_event(CallEventType.ANSWERED, call, now, None, None, None, "", False))
        elif new_state in HELD_STATES:
            events.append(new_call_event(CallEventType.HELD, call, now, None, None, None, "", False))
        return
    old_state = previous.state
    if old_state is new_state:
        if (
            new_state is CallState.CONNECTED
            and (old_far := _far_end(previous))
            and (new_far := _far_end(call))
            and old_far != new_far
        ):
            events.append(new_call_event(CallEventType.TRANSFERRED, call, now, old_state, None, None, "", False))
        return
    events.append(new_call_event(CallEventType.STATE_CHANGED, call, now, old_state, None, None, "", False))
    kind: CallEventType | None = None
    if new_state is CallState.CONNECTED:
        if not previous.answered:
            kind = CallEventType.ANSWERED
        elif old_state in HELD_STATES:
            kind = CallEventType.RESUMED
    elif new_state in HELD_STATES and old_state not in HELD_STATES:
        kind = CallEventType.HELD
    if kind is not None:
        events.append(new_call_event(kind, call, now, old_state, None, None, "", False))


def end_events(
    call: Call,
    now: float,
    *,
    reason: int | None = None,
    this_end_dropped: bool | None = None,
    description: str = "",
    reconciled: bool = False,
    transferred: bool = False,
    answered_elsewhere: bool = False,
) -> list[CallEvent]:
    """The events of a call that ended: [TRANSFERRED], ENDED and, for an unanswered call, MISSED or ABANDONED.

    MISSED: an inbound user call never answered, not dropped by this end and not answered by another phone it rang
    (``answered_elsewhere``, or the reason :data:`ANSWERED_ELSEWHERE`). ABANDONED: a queue call never answered and
    not answered by voicemail, whose caller hung up (not dropped by this end). A reconciled end (found gone after a
    reconnect) says neither, as nobody knows who ended it.
    """
    events: list[CallEvent] = []
    _end_events(events, call, now, reason, this_end_dropped, description, reconciled, transferred, answered_elsewhere)
    return events


def _end_events(
    events: list[CallEvent],
    call: Call,
    now: float,
    reason: int | None,
    this_end_dropped: bool | None,
    description: str,
    reconciled: bool,
    transferred: bool,
    answered_elsewhere: bool = False,
) -> None:
    """:func:`end_events`, appended to ``events``."""
    previous_state = call.state
    if transferred:
        events.append(new_call_event(CallEventType.TRANSFERRED, call, now, previous_state, None, None, "", False))
    events.append(
        new_call_event(
            CallEventType.ENDED, call, now, previous_state, reason, this_end_dropped, description, reconciled
        )
    )
    if not reconciled and not call.answered and not this_end_dropped:
        kind: CallEventType | None = None
        if call.owner is Subsystem.USER and call.direction is CallDirection.INBOUND:
            if not answered_elsewhere and reason != ANSWERED_ELSEWHERE:
                kind = CallEventType.MISSED
        elif call.owner is Subsystem.QUEUE and call.state is not CallState.ANSWEREDBYVOICEMAIL:
            kind = CallEventType.ABANDONED
        if kind is not None:
            events.append(new_call_event(kind, call, now, previous_state, reason, this_end_dropped, description, False))


def apply_call_control(
    calls: dict[int, Call],
    notify: pb.NotifyCallControl,
    owner: Subsystem,
    owner_guid: str,
    now: float,
    on_unknown: UnknownValue = _ignore,
    unconfirmed: Container[int] = (),
    answered: dict[str, None] | None = None,
) -> list[CallEvent]:
    """Apply one NotifyCallControl to ``calls`` (call id -> Call, updated in place) and return its events in order.

    Snapshots come first, then ends. A lost call that was waiting for a transfer (or whose related call is lost in
    the same notify while it was held pending the transfer) is reported TRANSFERRED before ENDED.

    ``unconfirmed``: the call ids known from before a reconnect that no snapshot has confirmed yet; one of them
    reported with another gcid is another call (IP Office restarted and counts call ids afresh). A confirmed call
    whose gcid changes is the same call joined to another (a transfer or conference completed). ``answered``: the
    gcids answered anywhere (this owner's calls that connect are added): an unanswered call lost here whose gcid
    another phone answered is not missed.
    """
    events: list[CallEvent] = []
    for info in notify.callinfo:
        call_id = info.callid
        gcid = _gcid(info.gcid)
        previous = calls.get(call_id)
        if previous is not None and previous.gcid != gcid and call_id in unconfirmed and previous.gcid and gcid:
            _end_events(events, previous, now, None, None, "", True, False)
            previous = None
        call = calls[call_id] = _call(info, call_id, gcid, owner, owner_guid, previous, now, on_unknown)
        if call.state is CallState.CONNECTED and answered is not None and gcid:
            answered[gcid] = None
        if previous is None or previous.state is not call.state or call.state is CallState.CONNECTED:
            _snapshot_events(events, previous, call, now)
    if calllost := notify.calllost:
        if len(calllost) == 1:  # the common case: only this call can be the one pending a transfer
            lost = calllost[0]
            ended = calls.pop(lost.callid, None)
            if ended is not None:
                transferred = ended.state is CallState.ONHOLDPENDTRANSFER
                elsewhere = answered is not None and ended.gcid in answered
                _end_events(
                    events,
                    ended,
                    now,
                    lost.reason,
                    lost.thisenddropped,
                    lost.description,
                    False,
                    transferred,
                    elsewhere,
                )
            return events
        pending_transfer = {
            lost.callid
            for lost in calllost
            if (known := calls.get(lost.callid)) is not None and known.state is CallState.ONHOLDPENDTRANSFER
        }
        for lost in calllost:
            call_id = lost.callid
            ended = calls.pop(call_id, None)
            if ended is None:
                continue
            transferred = call_id in pending_transfer or (
                bool(pending_transfer) and ended.related_call_id in pending_transfer
            )
            elsewhere = answered is not None and ended.gcid in answered
            _end_events(
                events, ended, now, lost.reason, lost.thisenddropped, lost.description, False, transferred, elsewhere
            )
    return events
