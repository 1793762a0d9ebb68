"""Typed models of an IP Office as seen over MTCTI-3, kept current by the client from notifies.

Calls are immutable snapshots: every call-control notify replaces the call's snapshot, and the client compares the
new snapshot with the old one to emit :class:`CallEvent` objects, so that no consumer has to diff. A snapshot the
client builds reads its details (parties, queue, tag, ...) from its CallInfo when first asked for (see
:class:`Call`): a notify costs only what its consumers read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .const import (
    ABSENCE_PREFIX,
    HELD_STATES,
    RINGING_STATES,
    AbsenceMessage,
    CallDirection,
    CallFeature,
    CallState,
    FailedCause,
    PhoneState,
    ServiceMode,
    Subsystem,
    UserFeature,
)


@dataclass(slots=True, frozen=True)
class Party:
    """One end of a call (PartyInfo).

    ``withheld``: the party withheld its number (its ``number`` is then usually empty). ``diversion_reason``: why
    the call was diverted to or from this party, as IP Office codes it (0: not said). ``number_type`` and
    ``subaddress`` as IP Office sends them.
    """

    number: str = ""
    name: str = ""
    nametype: int = 0
    withheld: bool = False
    diversion_reason: int = 0
    number_type: int = 0
    subaddress: str = ""


@dataclass(slots=True, frozen=True)
class Absence:
    """Absence text of a user: a handset message type and a string."""

    message: int = AbsenceMessage.CUSTOM
    text: str = ""

    @property
    def display(self) -> str:
        """The text as a handset shows it, e.g. "AT LUNCH UNTIL 14:00"."""
        try:
            prefix = ABSENCE_PREFIX[AbsenceMessage(self.message)]
        except ValueError:
            prefix = ""
        return f"{prefix} {self.text}".strip() if prefix else self.text


@dataclass(slots=True, frozen=True)
class Mailbox:
    """Voicemail box message counters."""

    new: int = 0
    old: int = 0
    saved: int = 0


@dataclass(slots=True, frozen=True)
class QueueMember:
    """An agent of a queue (hunt group) and whether it is disabled (not accepting calls)."""

    extn: str
    disabled: bool = False


class LineKind(StrEnum):
    """What a Lines entry is."""

    USER = "user"
    QUEUE = "queue"


@dataclass(slots=True, frozen=True)
class LineEntry:
    """A user or queue as the Lines subscription lists it."""

    kind: LineKind
    guid: str  # 32 upper-case hex characters
    extn: str
    name: str


@dataclass(slots=True, frozen=True)
class ConferenceMember:
    """Another party in a conference (ConferenceMember): ``lref`` names it to conference member commands, ``party``
    is its connected party, ``called_party`` the number it was called on."""

    lref: int
    party: Party
    state: CallState = CallState.UNKNOWN
    mute: bool = False
    direction: CallDirection = CallDirection.UNDEFINED
    active_held: bool = False
    called_party: str = ""
    failed_cause: FailedCause = FailedCause.UNSET


@dataclass(slots=True, frozen=True)
class EndDevice:
    """The device at one end of a call (EndInfo): the far end's (``Call.remote_device``) or one of the owner's own
    devices the call is on (``Call.local_devices``), in IP Office's codes. ``teleworker``: the number a teleworker
    device is reached at."""

    gcid: str = ""  # upper-case hex
    device_class: int = 0
    device_type: int = 0
    device_instance: int = 0
    teleworker: str = ""


CallDetails = Mapping[str, Callable[[Any], Any]]
"""How a snapshot reads each of its not yet read fields from its CallInfo (the client's, in ``calls.py``)."""


class _CallSource:
    """Where a snapshot built by the client reads its not yet read fields from: its CallInfo and the table of how
    (:data:`CallDetails`)."""

    __slots__ = ("_details", "_info")


@dataclass(slots=True, frozen=True)
class Call(_CallSource):
    """A call appearance on a user, a queue or the park server: the latest snapshot IP Office sent.

    An ordinary frozen dataclass. The client builds it with the fields of :data:`SNAPSHOT_FIELDS` set (ids, owner,
    state, direction, failed cause, gcid, the called number and the calling and connected parties, queue name, times)
    and every other field is read from the CallInfo the first time it is asked for, then kept: equality, hashing,
    ``repr``, ``dataclasses.replace`` and ``asdict`` read them like any attribute access does. The CallInfo is never
    changed after it was received.
    """

    call_id: int
    owner: Subsystem
    owner_guid: str  # the user's or queue's guid; "" on the park server
    state: CallState
    direction: CallDirection = CallDirection.UNDEFINED
    reference_id: int = 0
    related_call_id: int = 0
    active_held: bool = False
    gcid: str = ""  # upper-case hex
    features: CallFeature = CallFeature(0)  # noqa: RUF009 - an immutable int
    called_party: str = ""
    calling_party: Party | None = None
    connected_party: Party | None = None
    original_called_party: Party | None = None
    tag: str = ""
    account_code: str = ""
    mute: bool = False
    failed_cause: FailedCause = FailedCause.UNSET
    recording: bool = False
    recording_paused: bool = False
    park_slot: str = ""
    page_call: bool = False
    privacy: bool = False
    language: str = ""
    queue_number: str = ""
    queue_name: str = ""
    queue_priority: int = 0
    queue_overflow_number: str = ""  # the queue a queue call overflowed (or was passed) to
    queue_overflow_name: str = ""
    trunk_did: str = ""  # the number dialled in (TrunkInfo.did), on trunk calls
    emergency: bool = False  # an emergency call (CallData.emergency)
    secure: bool = False  # CallData.secure
    remote_privacy: bool = False  # CallData.rprivacy: the far end asked for privacy
    ucid: str = ""  # the universal call id (UCID), upper-case hex
    remote_device: EndDevice | None = None  # the far end's device (EndInfo remoteinfo)
    local_devices: tuple[EndDevice, ...] = ()  # the owner's devices the call is on (EndInfo localinfo)
    conference_members: tuple[ConferenceMember, ...] = ()
    targets: tuple[Party, ...] = ()
    started: float = 0.0  # time.time() when the call was first seen
    state_since: float = 0.0  # time.time() when the call entered its current state
    answered: bool = False  # has been CONNECTED at some time

    @property
    def other_party(self) -> Party | None:
        """The party at the other end, as far as IP Office tells it."""
        if self.connected_party is not None and (self.connected_party.number or self.connected_party.name):
            return self.connected_party
        if self.direction is CallDirection.OUTBOUND or self.calling_party is None:
            return Party(number=self.called_party) if self.called_party else None
        return self.calling_party

    @property
    def is_ringing(self) -> bool:
        """Ringing or queueing (waiting to be answered)."""
        return self.state in RINGING_STATES

    @property
    def is_held(self) -> bool:
        """On hold (also pending a transfer or conference)."""
        return self.state in HELD_STATES

    if not TYPE_CHECKING:  # (for the type checker a Call has its fields only)

        def __getattr__(self, name: str) -> Any:
            """A field not read yet (its slot is empty): read it from the CallInfo and keep it."""
            if name[:1] != "_":
                try:
                    read = self._details[name]
                except AttributeError, KeyError:
                    pass  # built by keywords (every field is set), or not a field
                else:
                    value = read(self._info)
                    object.__setattr__(self, name, value)
                    return value
            raise AttributeError(f"'Call' object has no attribute {name!r}")


@dataclass(slots=True)
class User:
    """An IP Office user: its configuration (NotifyUser) and its live calls."""

    guid: str
    extn: str
    name: str
    fullname: str = ""
    email: str = ""
    language: str = ""
    features: UserFeature = UserFeature(0)  # noqa: RUF009 - an immutable int
    dnd: bool = False
    barred: bool = False
    xdirectory: bool = False
    voicemail: bool = False
    logged_in_extn: str = ""
    extn_fault: bool = False
    logged_off: bool = False
    absence: Absence | None = None
    mailbox: Mailbox | None = None
    app: str = ""
    no_app_handler: bool = False
    ec500: bool = False
    fwdu: bool = False
    fwdb: bool = False
    fwdna: bool = False
    fwdhg: bool = False
    fwdu_number: str = ""
    fwdb_number: str = ""
    fwd_to_voicemail: bool = False
    offswitch: bool = False
    calls: dict[int, Call] = field(default_factory=dict)
    synced: bool = False  # its first user notify has arrived

    def can(self, feature: UserFeature) -> bool:
        """Whether featuresavailable allows ``feature`` (systems that do not populate the field allow all)."""
        if not self.features & UserFeature.VALID:
            return True
        return bool(self.features & feature)

    @property
    def phone_state(self) -> PhoneState:
        """The phone state, derived as IP Office's presence does: fault, logout, ringing, connected, ..."""
        if self.extn_fault:
            return PhoneState.FAULT
        if self.logged_off:
            return PhoneState.LOGOUT
        states = {call.state for call in self.calls.values()}
        if states & {CallState.CONNECTED, *HELD_STATES}:
            return PhoneState.CONNECTED
        if states & RINGING_STATES:
            return PhoneState.RINGING
        if states & {CallState.DIALTONE, CallState.DIALLING, CallState.DIALLED, CallState.RINGBACK}:
            return PhoneState.DIALLING
        if CallState.AFTERCALLWORK in states:
            return PhoneState.ACW
        return PhoneState.IDLE


@dataclass(slots=True)
class Queue:
    """An IP Office queue (hunt group): its configuration (NotifyQueue) and the calls it handles."""

    guid: str
    extn: str
    name: str
    email: str = ""
    ring_mode: int = 0
    no_answer_time: int = 0
    voicemail: bool = False
    voicemail_time: int = 0
    service_mode: ServiceMode = ServiceMode.UNSET
    members: tuple[QueueMember, ...] = ()
    mailbox: Mailbox | None = None
    calls: dict[int, Call] = field(default_factory=dict)
    synced: bool = False

    @property
    def waiting_calls(self) -> list[Call]:
        """Calls waiting to be answered, longest waiting first."""
        return sorted((c for c in self.calls.values() if c.is_ringing), key=lambda c: c.started)


@dataclass(slots=True)
class SystemInfo:
    """The IP Office system itself."""

    host: str
    version: str | None = None  # None: unknown (releases before 11.1 do not answer getversioninfo)
    park_server_available: bool = False


class CallEventType(StrEnum):
    """What happened to a call, as the client derives it from consecutive snapshots."""

    NEW = "new"  # first seen (see call.direction / call.state: incoming, outgoing, queued)
    STATE_CHANGED = "state_changed"  # every state change, with previous_state
    ANSWERED = "answered"  # first entry into CONNECTED
    HELD = "held"  # into a held state
    RESUMED = "resumed"  # from held back to CONNECTED
    TRANSFERRED = "transferred"  # the far end changed on a connected call, or the call left by transfer
    ENDED = "ended"  # CallLost (or found gone after a reconnect: reconciled=True)
    MISSED = "missed"  # (with ENDED) an inbound user call that ended unanswered, not dropped by this end
    ABANDONED = "abandoned"  # (with ENDED) a queue call whose caller hung up before it was answered


@dataclass(slots=True, frozen=True)
class CallEvent:
    """One moment of a call. ``call`` is the snapshot after the change (the last snapshot for ENDED)."""

    type: CallEventType
    call: Call
    timestamp: float
    previous_state: CallState | None = None
    reason: int | None = None  # CallLost.reason (16 = normal)
    this_end_dropped: bool | None = None  # CallLost.thisenddropped
    description: str = ""  # CallLost.description
    reconciled: bool = False  # ENDED because the call was gone after a reconnect

    @property
    def duration(self) -> float:
        """Seconds from first seen to this event."""
        return max(0.0, self.timestamp - self.call.started)


@dataclass(slots=True, frozen=True)
class PresenceEntry:
    """One presentity of a presence subscription (NotifyPresententity)."""

    presentity: str
    lref: int
    dnd: bool = False  # sac non-zero
    phone_state: PhoneState = PhoneState.UNKNOWN
    absence: Absence | None = None
    app: str = ""
    fwdu: bool = False
    voicemail_unread: int = 0  # with SubscribePresence flags 0x01
    no_app_handler: bool = False  # with SubscribePresence flags 0x02


# --- fast positional constructors of the per-notify snapshots ---------------------------------------------------


def _twin(cls: type) -> type:
    """A class with the bases and slots of ``cls`` (the same layout) but none of its methods (no frozen setattr)."""
    return type(f"_{cls.__name__}Twin", cls.__bases__, {"__slots__": cls.__dict__.get("__slots__", ())})


def _setting_constructor[T](cls: type[T], names: tuple[str, ...]) -> Callable[..., T]:
    """A constructor of ``cls`` that sets the slots ``names`` from its positional arguments, and no others.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (about 60 ns a field; a
    :class:`Call` has 41 and the client builds one per snapshot). This builds the instance as a plain twin class
    with the same slots (fast attribute stores) and then gives it the real class: the result is an ordinary,
    immutable ``cls`` instance.
    """
    arguments = ", ".join(names)
    body = "".join(f"    obj.{name} = {name}\n" for name in names)
    source = f"def make({arguments}):\n    obj = new(twin)\n{body}    obj.__class__ = cls\n    return obj\n"
    namespace: dict[str, Any] = {"new": object.__new__, "twin": _twin(cls), "cls": cls}
    exec(source, namespace)  # noqa: S102 - generated from the dataclass's own field names, as dataclasses does
    make: Callable[..., T] = namespace["make"]
    return make


def _positional_constructor[T](cls: type[T]) -> Callable[..., T]:
    """``cls(*values)`` with every field positional, about three times faster; ``cls`` where the interpreter refuses
    the twin (the result must equal what ``cls`` builds)."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    make = _setting_constructor(cls, names)
    try:
        sample = tuple(range(len(names)))
        if make(*sample) != cls(*sample):  # pragma: no cover - a guard for other interpreters
            return cls
    except TypeError:  # pragma: no cover - __class__ assignment refused
        return cls
    return make


new_party: Callable[[str, str, int, bool, int, int, str], Party] = _positional_constructor(Party)
"""``Party(number, name, nametype, withheld, diversion_reason, number_type, subaddress)`` built fast."""

SNAPSHOT_FIELDS: tuple[str, ...] = (
    "call_id",
    "owner",
    "owner_guid",
    "state",
    "direction",
    "failed_cause",
    "gcid",
    "called_party",
    "calling_party",
    "connected_party",
    "queue_name",
    "started",
    "state_since",
    "answered",
)
"""The fields of a :class:`Call` that :func:`new_snapshot` sets (what the client and nearly every consumer reads of
every snapshot: who, where, in which state); the others are read when first asked for."""

new_snapshot: Callable[..., Call] = _setting_constructor(Call, (*SNAPSHOT_FIELDS, "_info", "_details"))
"""``new_snapshot(*SNAPSHOT_FIELDS values, info, details)``: a :class:`Call` whose other fields ``details`` reads
from ``info`` when first asked for (the client's per-snapshot path)."""

new_call_event: Callable[..., CallEvent] = _positional_constructor(CallEvent)
"""``CallEvent(*values)`` with every field positional, in field order, built fast."""
