"""Call snapshots to :class:`Call` objects and consecutive snapshots to :class:`CallEvent` lists.

Pure functions: no I/O, no clock (the caller passes ``now``), no logging. IP Office sends a complete snapshot of a
call appearance on every change and a CallLost when it ends; it does not promise every transition (a call that is
answered at once may never be seen RINGING), so events are derived by comparing the new snapshot with the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Final

from .const import HELD_STATES, CallDirection, CallFeature, CallState, FailedCause, Subsystem
from .models import Call, CallEvent, CallEventType, ConferenceMember, Party, new_call, new_call_event
from .proto import ipo_mtcti3_pb2 as pb

_STATES: Final = {state.value: state for state in CallState}
_DIRECTIONS: Final = {direction.value: direction for direction in CallDirection}
_CAUSES: Final = {cause.value: cause for cause in FailedCause}
_NO_MEMBERS: Final[tuple[ConferenceMember, ...]] = ()
_NO_TARGETS: Final[tuple[Party, ...]] = ()

UnknownValue = Callable[[str, int], None]
"""Called with (field name, value) for an enum value this schema does not know."""


def _party(info: pb.PartyInfo) -> Party:
    return Party(info.number, info.name, info.nametype)


def _party_of(info: pb.PartyInfo, previous: Party | None) -> Party:
    """The Party of ``info``, reusing ``previous`` when it is the same (parties rarely change within a call)."""
    number, name, nametype = info.number, info.name, info.nametype
    if previous is not None and previous.number == number and previous.name == name and previous.nametype == nametype:
        return previous
    return Party(number, name, nametype)


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


# call_from_info builds Call positionally (markedly faster than by keyword on this hot path): keep the order in step.
_CALL_FIELDS: Final = [
    "call_id",
    "owner",
    "owner_guid",
    "state",
    "direction",
    "reference_id",
    "related_call_id",
    "active_held",
    "gcid",
    "features",
    "called_party",
    "calling_party",
    "connected_party",
    "original_called_party",
    "tag",
    "account_code",
    "mute",
    "failed_cause",
    "recording",
    "recording_paused",
    "park_slot",
    "page_call",
    "privacy",
    "language",
    "queue_number",
    "queue_name",
    "queue_priority",
    "trunk_did",
    "conference_members",
    "targets",
    "started",
    "state_since",
    "answered",
]
if tuple(_CALL_FIELDS) != tuple(f.name for f in fields(Call)):  # pragma: no cover - a guard for maintainers
    raise ImportError("calls.call_from_info builds Call positionally: update it to the fields of models.Call")


def _ignore(_field: str, _value: int) -> None:
    return None


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
    this schema does not know becomes UNKNOWN/UNDEFINED/UNSPECIFIED and is reported through ``on_unknown``.
    """
    state = _STATES.get(info.state)
    if state is None:
        on_unknown("CallInfo.state", info.state)
        state = CallState.UNKNOWN
    direction = _DIRECTIONS.get(info.direction)
    if direction is None:
        on_unknown("CallInfo.direction", info.direction)
        direction = CallDirection.UNDEFINED
    failed = _CAUSES.get(info.failedcause)
    if failed is None:
        on_unknown("CallInfo.failedcause", info.failedcause)
        failed = FailedCause.UNSPECIFIED
    if previous is None:
        started = state_since = now
        answered = state is CallState.CONNECTED
        calling = connected = original = None
    else:
        started = previous.started
        state_since = previous.state_since if previous.state is state else now
        answered = previous.answered or state is CallState.CONNECTED
        calling, connected, original = previous.calling_party, previous.connected_party, previous.original_called_party
    members = (
        tuple(
            ConferenceMember(
                lref=member.lref,
                party=_party(member.partyinfo),
                state=_STATES.get(member.state, CallState.UNKNOWN),
                mute=member.mute,
            )
            for member in info.conferencemember
        )
        if info.conferencemember
        else _NO_MEMBERS
    )
    has = info.HasField
    targets = tuple(_party(target.partyinfo) for target in info.targets.target) if has("targets") else _NO_TARGETS
    if has("queueinfo"):
        queueinfo = info.queueinfo
        queue_number, queue_name, queue_priority = queueinfo.number, queueinfo.name, queueinfo.priority
    else:
        queue_number = queue_name = ""
        queue_priority = 0
    if has("calldata"):
        calldata = info.calldata
        privacy, language = calldata.privacy, calldata.language
    else:
        privacy, language = False, ""
    return new_call(
        info.callid,
        owner,
        owner_guid,
        state,
        direction,
        info.referencecallid,
        info.relatedcallid,
        info.activeheld,
        _gcid(info.gcid),
        _features(info.featuresavailable & 0xFFFFFFFF),
        info.calledparty,
        _party_of(info.callingparty, calling) if has("callingparty") else None,
        _party_of(info.connectedparty, connected) if has("connectedparty") else None,
        _party_of(info.originalcalledparty, original) if has("originalcalledparty") else None,
        info.tag,
        info.accountcode,
        info.mute,
        failed,
        info.recording,
        info.recordingpaused,
        info.parkslot,
        info.pagecall,
        privacy,
        language,
        queue_number,
        queue_name,
        queue_priority,
        info.trunkinfo.did if has("trunkinfo") else "",
        members,
        targets,
        started,
        state_since,
        answered,
    )


def _far_end(call: Call) -> str:
    party = call.connected_party
    return party.number if party is not None else ""


def _event(kind: CallEventType, call: Call, now: float, previous_state: CallState | None) -> CallEvent:
    """``CallEvent(kind, call, now, previous_state=previous_state)``, built fast."""
    return new_call_event(kind, call, now, previous_state, None, None, "", False)


def snapshot_events(previous: Call | None, call: Call, now: float) -> list[CallEvent]:
    """The events that lead from ``previous`` (None: first sight) to ``call``, in order."""
    if previous is None:
        events = [_event(CallEventType.NEW, call, now, None)]
        if call.state is CallState.CONNECTED:
            events.append(_event(CallEventType.ANSWERED, call, now, None))
        elif call.state in HELD_STATES:
            events.append(_event(CallEventType.HELD, call, now, None))
        return events
    old_state = previous.state
    new_state = call.state
    if old_state is new_state:
        if (
            new_state is CallState.CONNECTED
            and (old_far := _far_end(previous))
            and (new_far := _far_end(call))
            and old_far != new_far
        ):
            return [_event(CallEventType.TRANSFERRED, call, now, old_state)]
        return []
    events = [_event(CallEventType.STATE_CHANGED, call, now, old_state)]
    if new_state is CallState.CONNECTED:
        if not previous.answered:
            events.append(_event(CallEventType.ANSWERED, call, now, old_state))
        elif old_state in HELD_STATES:
            events.append(_event(CallEventType.RESUMED, call, now, old_state))
    elif new_state in HELD_STATES and old_state not in HELD_STATES:
        events.append(_event(CallEventType.HELD, call, now, old_state))
    return events


def end_events(
    call: Call,
    now: float,
    *,
    reason: int | None = None,
    this_end_dropped: bool | None = None,
    description: str = "",
    reconciled: bool = False,
    transferred: bool = False,
) -> list[CallEvent]:
    """The events of a call that ended: [TRANSFERRED], ENDED and, for an unanswered call, MISSED or ABANDONED.

    MISSED: an inbound user call never answered and not dropped by this end. ABANDONED: a queue call never answered
    whose caller hung up (not dropped by this end). A reconciled end (found gone after a reconnect) says neither,
    as nobody knows who ended it.
    """
    previous_state = call.state
    events: list[CallEvent] = []
    if transferred:
        events.append(_event(CallEventType.TRANSFERRED, call, now, previous_state))
    events.append(
        new_call_event(
            CallEventType.ENDED, call, now, previous_state, reason, this_end_dropped, description, reconciled
        )
    )
    if not reconciled and not call.answered and not this_end_dropped:
        kind: CallEventType | None = None
        if call.owner is Subsystem.USER and call.direction is CallDirection.INBOUND:
            kind = CallEventType.MISSED
        elif call.owner is Subsystem.QUEUE:
            kind = CallEventType.ABANDONED
        if kind is not None:
            events.append(new_call_event(kind, call, now, previous_state, reason, this_end_dropped, description, False))
    return events


def apply_call_control(
    calls: dict[int, Call],
    notify: pb.NotifyCallControl,
    owner: Subsystem,
    owner_guid: str,
    now: float,
    on_unknown: UnknownValue = _ignore,
) -> list[CallEvent]:
    """Apply one NotifyCallControl to ``calls`` (call id -> Call, updated in place) and return its events in order.

    Snapshots come first, then ends. A lost call that was waiting for a transfer (or whose related call is lost in
    the same notify while it was held pending the transfer) is reported TRANSFERRED before ENDED.
    """
    events: list[CallEvent] = []
    for info in notify.callinfo:
        previous = calls.get(info.callid)
        if previous is not None and previous.gcid and info.gcid and previous.gcid != _gcid(info.gcid):
            # The same call id on another call (IP Office restarted and counts call ids afresh): the old call is
            # gone, this is a new one.
            events.extend(end_events(previous, now, reconciled=True))
            previous = None
        call = call_from_info(info, owner, owner_guid, previous, now, on_unknown)
        calls[info.callid] = call
        if previous is None or previous.state is not call.state or call.state is CallState.CONNECTED:
            events.extend(snapshot_events(previous, call, now))
    calllost = notify.calllost
    if calllost:
        pending_transfer = {
            lost.callid
            for lost in calllost
            if (known := calls.get(lost.callid)) is not None and known.state is CallState.ONHOLDPENDTRANSFER
        }
        for lost in calllost:
            ended = calls.pop(lost.callid, None)
            if ended is None:
                continue
            transferred = lost.callid in pending_transfer or ended.related_call_id in pending_transfer
            events.extend(
                end_events(
                    ended,
                    now,
                    reason=lost.reason,
                    this_end_dropped=lost.thisenddropped,
                    description=lost.description,
                    transferred=transferred,
                )
            )
    return events
