"""Call snapshots to :class:`Call` objects and consecutive snapshots to :class:`CallEvent` lists.

Pure functions: no I/O, no clock (the caller passes ``now``), no logging. IP Office sends a complete snapshot of a
call appearance on every change and a CallLost when it ends; it does not promise every transition (a call that is
answered at once may never be seen RINGING), so events are derived by comparing the new snapshot with the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Final

from .const import HELD_STATES, CallDirection, CallFeature, CallState, FailedCause, Subsystem
from .models import Call, CallEvent, CallEventType, ConferenceMember, Party, new_call, new_call_event, new_party
from .proto import ipo_mtcti3_pb2 as pb

_STATES: Final = {state.value: state for state in CallState}
_DIRECTIONS: Final = {direction.value: direction for direction in CallDirection}
_CAUSES: Final = {cause.value: cause for cause in FailedCause}
_NO_MEMBERS: Final[tuple[ConferenceMember, ...]] = ()
_NO_TARGETS: Final[tuple[Party, ...]] = ()

UnknownValue = Callable[[str, int], None]
"""Called with (field name, value) for an enum value this schema does not know."""


_PARTY_FIELDS: Final = attrgetter("number", "name", "nametype")
_PARTIES: Final[dict[tuple[str, str, int], Party]] = {}
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
    members = (
        tuple(
            ConferenceMember(
                lref=member.lref,
                party=_party(member.partyinfo),
                state=_STATES.get(member.state, CallState.UNKNOWN),
                mute=member.mute,
            )
            for member in conference
        )
        if (conference := info.conferencemember)
        else _NO_MEMBERS
    )
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
        call_id,
        owner,
        owner_guid,
        state,
        direction,
        info.referencecallid,
        info.relatedcallid,
        info.activeheld,
        gcid,
        _features(info.featuresavailable & 0xFFFFFFFF),
        info.calledparty,
        _party(info.callingparty) if has("callingparty") else None,
        _party(info.connectedparty) if has("connectedparty") else None,
        _party(info.originalcalledparty) if has("originalcalledparty") else None,
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
) -> list[CallEvent]:
    """The events of a call that ended: [TRANSFERRED], ENDED and, for an unanswered call, MISSED or ABANDONED.

    MISSED: an inbound user call never answered and not dropped by this end. ABANDONED: a queue call never answered
    whose caller hung up (not dropped by this end). A reconciled end (found gone after a reconnect) says neither,
    as nobody knows who ended it.
    """
    events: list[CallEvent] = []
    _end_events(events, call, now, reason, this_end_dropped, description, reconciled, transferred)
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
            kind = CallEventType.MISSED
        elif call.owner is Subsystem.QUEUE:
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
) -> list[CallEvent]:
    """Apply one NotifyCallControl to ``calls`` (call id -> Call, updated in place) and return its events in order.

    Snapshots come first, then ends. A lost call that was waiting for a transfer (or whose related call is lost in
    the same notify while it was held pending the transfer) is reported TRANSFERRED before ENDED.
    """
    events: list[CallEvent] = []
    for info in notify.callinfo:
        call_id = info.callid
        gcid = _gcid(info.gcid)
        previous = calls.get(call_id)
        if previous is not None and previous.gcid and gcid and previous.gcid != gcid:
            # The same call id on another call (IP Office restarted and counts call ids afresh): the old call is
            # gone, this is a new one.
            _end_events(events, previous, now, None, None, "", True, False)
            previous = None
        call = calls[call_id] = _call(info, call_id, gcid, owner, owner_guid, previous, now, on_unknown)
        if previous is None or previous.state is not call.state or call.state is CallState.CONNECTED:
            _snapshot_events(events, previous, call, now)
    if calllost := notify.calllost:
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
            transferred = call_id in pending_transfer or ended.related_call_id in pending_transfer
            _end_events(events, ended, now, lost.reason, lost.thisenddropped, lost.description, False, transferred)
    return events
