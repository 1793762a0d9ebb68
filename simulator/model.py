"""The live system model of the simulator: users, queues, calls and their call appearances.

Every change goes through :class:`SystemModel`, which reports it to a :class:`ModelListener` (the server), so that
each change produces the notifies a real IP Office would send. Call changes are batched into events: one public
operation (an answer, a transfer, ...) is one event, carried by one ``NotifyCallControl`` per subscription.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from custom_components.ipoffice.mtcti3.schema import HAS_CALL_PAYLOAD_TYPE

from .scenario import Queue, QueueMember, Scenario, User, make_guid


class _Enum:
    """A protobuf enum as plain int attributes.

    ``pb.CallInfo.State.CONNECTED`` goes through ``EnumTypeWrapper.__getattr__`` on every access, which was the
    simulator's largest single cost under load; this copies the values once.
    """

    def __init__(self, wrapper: Any) -> None:
        self._wrapper = wrapper
        for name, number in wrapper.items():
            setattr(self, name, number)

    def Name(self, number: int) -> str:  # noqa: N802 - the protobuf EnumTypeWrapper's name
        """The value's name (ValueError if none)."""
        return str(self._wrapper.Name(number))

    def Value(self, name: str) -> int:  # noqa: N802 - the protobuf EnumTypeWrapper's name
        """The value of ``name`` (ValueError if none)."""
        return int(self._wrapper.Value(name))

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> int: ...


S = _Enum(pb.CallInfo.State)
D = _Enum(pb.CallInfo.Direction)
_IN_CALL = frozenset((S.CONNECTED, S.ONHOLD, S.ONHOLDPENDTRANSFER, S.ONHOLDPENDCONF, S.RINGBACK))
_DIALLING = frozenset((S.DIALTONE, S.DIALLING, S.DIALLED))

# Features available (CallInfo.featuresavailable bits, the spec's "Features Available" table).
DROP = 1 << 0
ANSWER = 1 << 1
HOLD = 1 << 2
UNHOLD = 1 << 3
BLINDXFER = 1 << 4
REDIRECT = 1 << 5
DIAL = 1 << 6
PARK = 1 << 7
SETUPXFER = 1 << 8
COMPLETEXFER = 1 << 9
COMPLETECONF = 1 << 10
ADDTOCONF = 1 << 11
CONFMEMBER = 1 << 12
TAG = 1 << 13
ACCT = 1 << 14
RESERVED15 = 1 << 15
EC500 = 1 << 16
DIGITS = 1 << 17
RECPAUSE = 1 << 20
FORCECLEAR = 1 << 21
AUTH = 1 << 22
RECON = 1 << 23
RECOFF = 1 << 24
PRIVON = 1 << 25
PRIVOFF = 1 << 26
MUTEON = 1 << 27
MUTEOFF = 1 << 28
PRIO = 1 << 29
FINISH = 1 << 30

# User featuresavailable (NotifyUser): VALID SAC ABSENCE EC500 LOGIN SHORTCODE MAKECALL FWDU APP.
USER_FEATURES = 0x2FF

# Nametype values seen in the spec's examples.
NAMETYPE_USER = 5
NAMETYPE_TRUNK = 9
NAMETYPE_SERVICE = 110

# inferred: the spec gives no table of PartyInfo.diversionreason; the simulator uses the Q.931 redirecting reason of
# call forwarding unconditional for a call a user's forwarding sent on.
DIVERSION_UNCONDITIONAL = 15
# inferred: the spec gives no table of EndInfo codes; the simulator says every user's device is a desk phone.
DEVICE_CLASS_DESK = 1
DEVICE_TYPE_PHONE = 1

REASON_NORMAL = 16
REASON_ANSWERED_ELSEWHERE = 26  # Q.850 cause 26, non-selected user clearing: another phone it rang answered


class CallError(Exception):
    """A call-control command that cannot be done; ``code`` is the RequestResponse result."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or str(code))
        self.code = code


@dataclass
class Endpoint:
    """One end of a call."""

    kind: str  # "user", "trunk", "external", "vm", "conf", "queue"
    number: str
    name: str = ""
    guid: bytes = b""  # users only
    withheld: bool = False  # the caller withheld its number: it is not sent
    diversionreason: int = 0  # the original called party of a call that its forwarding sent on

    def party(self) -> pb.PartyInfo:
        nametype = {"user": NAMETYPE_USER, "trunk": NAMETYPE_TRUNK, "conf": NAMETYPE_SERVICE}.get(self.kind, 0)
        if self.withheld:
            return pb.PartyInfo(name=self.name, nametype=nametype, withheld=True)
        return pb.PartyInfo(number=self.number, name=self.name, nametype=nametype, diversionreason=self.diversionreason)


@dataclass
class ConfMember:
    """A member of a conference call."""

    lref: int
    endpoint: Endpoint
    state: int = S.CONNECTED
    mute: bool = False
    direction: int = D.UNDEFINED
    calledparty: str = ""  # the number it was called on (added by a call out of the conference)
    failedcause: int = 0


@dataclass
class Appearance:
    """One call appearance: a call as one user, queue or park slot sees it."""

    callid: int
    call: Call
    owner_kind: str  # "user", "queue", "park"
    owner: bytes | str  # user/queue guid, or park slot
    role: str  # "a" (originator), "b" (answerer), "ring" (ringing candidate), "monitor" (queue / park)
    state: int
    direction: int
    referencecallid: int = 0
    relatedcallid: int = 0
    activeheld: bool = False
    calledparty: str = ""
    callingparty: Endpoint | None = None
    originalcalledparty: Endpoint | None = None
    mute: bool = False
    recording: bool = False
    recordingpaused: bool = False
    privacy: bool = False
    failedcause: int = 0
    parkslot: str = ""
    authcode: str = ""
    pend: str = ""  # "transfer" / "conf": this app is the held half of a consultation
    finished: bool = False


@dataclass
class Call:
    """A call (one gcid). This is the ``SimCall`` that the control API returns."""

    gcid_bytes: bytes
    a: Endpoint
    model: SystemModel
    b: Endpoint | None = None
    trunk: tuple[int, str] | None = None  # (TrunkInfo.TrunkType, did)
    queue_extn: str = ""  # queue distributing the call
    overflow: tuple[str, str] | None = None
    priority: int = 1
    tag: str = ""
    accountcode: str = ""
    language: str = "eng"
    dialled: str = ""
    dialtype: int = 0
    withholdcli: bool = False
    emergency: bool = False  # a call to one of the scenario's emergency numbers
    ucid: bytes = b""
    conference: list[ConfMember] | None = None
    vm_box: tuple[str, bytes] | None = None  # ("user"|"queue", guid) whose mailbox records the message
    parked_slot: str = ""
    created: float = field(default_factory=time.monotonic)
    ended: bool = False
    apps: list[Appearance] = field(default_factory=list)

    @property
    def gcid(self) -> str:
        """The global call id as upper-case hex."""
        return self.gcid_bytes.hex().upper()

    @property
    def callids(self) -> dict[str, int]:
        """Call appearance ids per party: user or queue extension, or ``park:SLOT``."""
        result: dict[str, int] = {}
        for app in self.apps:
            result[self.model.owner_label(app)] = app.callid
        return result

    def callid(self, extn: str) -> int:
        """The call appearance id that ``extn`` (a user, a queue or ``park:SLOT``) sees."""
        return self.callids[extn]

    def state(self, extn: str) -> str:
        """The state name of ``extn``'s appearance of this call."""
        for app in self.apps:
            if self.model.owner_label(app) == extn:
                return S.Name(app.state)
        raise KeyError(extn)

    def app(self, kind: str, owner: bytes | str) -> Appearance | None:
        for app in self.apps:
            if app.owner_kind == kind and app.owner == owner:
                return app
        return None


@dataclass
class CallEvent:
    """One atomic call event: the appearances that changed and those that ended."""

    refreshinstance: int
    changed: list[Appearance]
    lost: list[tuple[Appearance, pb.CallLost]]


class ModelListener(Protocol):
    """Receives every change of the model."""

    def lines_changed(self, kind: str, users: list[User], queues: list[Queue]) -> None: ...
    def user_changed(self, user: User) -> None: ...
    def queue_changed(self, queue: Queue) -> None: ...
    def calls_changed(self, event: CallEvent) -> None: ...


class _NullListener:
    def lines_changed(self, kind: str, users: list[User], queues: list[Queue]) -> None:
        """Ignore."""

    def user_changed(self, user: User) -> None:
        """Ignore."""

    def queue_changed(self, queue: Queue) -> None:
        """Ignore."""

    def calls_changed(self, event: CallEvent) -> None:
        """Ignore."""


_DIGITS = set("0123456789*#")


class SystemModel:
    """Users, queues and calls, with the call engine."""

    def __init__(self, scenario: Scenario, listener: ModelListener | None = None) -> None:
        scenario = scenario.copy()
        self.name = scenario.name
        self.release = scenario.release
        self.build = scenario.build
        self.account_codes = list(scenario.account_codes)
        self.auth_codes = list(scenario.auth_codes)
        self.users: dict[bytes, User] = {u.guid: u for u in scenario.users}
        self.queues: dict[bytes, Queue] = {q.guid: q for q in scenario.queues}
        self.calls: list[Call] = []
        self.listener: ModelListener = listener or _NullListener()
        self._callids = itertools.count(1)
        self._gcids = itertools.count(0x3E8)
        self._ucids = itertools.count(1)
        self.emergency_numbers = frozenset(scenario.emergency_numbers)
        self._lrefs = itertools.count(1)
        self._refresh = itertools.count(1)
        self._added = len(self.users)
        self._changed: dict[int, Appearance] = {}
        self._lost: list[tuple[Appearance, pb.CallLost]] = []
        self._after: list[tuple[str, bytes]] = []  # config notifies that follow the pending call event
        # Indexes (the model serves 3000 users and hundreds of calls: no per-action scan of them all).
        self._user_by_extn: dict[str, User] = {}
        self._user_rank: dict[bytes, int] = {}
        self._queue_by_extn: dict[str, Queue] = {}
        self._indexed = (-1, -1)
        self._apps_by_user: dict[bytes, list[Appearance]] = {}
        self._dirty_users: set[bytes] = set()  # users whose phone state may have changed since the last commit
        self._phonestates: dict[bytes, int] = {guid: self.phonestate(user) for guid, user in self.users.items()}

    # ------------------------------------------------------------------------------------------------ lookup

    def _reindex(self) -> None:
        """Rebuild the extension indexes (after a user or queue is added, removed or renumbered)."""
        self._user_by_extn = {}
        self._user_rank = {}
        for rank, user in enumerate(self.users.values()):
            self._user_by_extn.setdefault(user.extn, user)
            self._user_rank[user.guid] = rank
        self._queue_by_extn = {}
        for queue in self.queues.values():
            self._queue_by_extn.setdefault(queue.extn, queue)
        self._indexed = (len(self.users), len(self.queues))

    def _fresh_index(self) -> None:
        if self._indexed != (len(self.users), len(self.queues)):
            self._reindex()

    def user(self, extn: str) -> User:
        """The user with extension ``extn`` (KeyError if none)."""
        user = self.find_user(extn)
        if user is None:
            raise KeyError(f"no user {extn}")
        return user

    def find_user(self, extn: str) -> User | None:
        self._fresh_index()
        user = self._user_by_extn.get(extn)
        if user is not None and (user.extn != extn or self.users.get(user.guid) is not user):
            self._reindex()  # changed behind the model's back
            user = self._user_by_extn.get(extn)
        return user

    def queue(self, extn: str) -> Queue:
        """The queue with extension ``extn`` (KeyError if none)."""
        queue = self.find_queue(extn)
        if queue is None:
            raise KeyError(f"no queue {extn}")
        return queue

    def find_queue(self, extn: str) -> Queue | None:
        self._fresh_index()
        queue = self._queue_by_extn.get(extn)
        if queue is not None and (queue.extn != extn or self.queues.get(queue.guid) is not queue):
            self._reindex()
            queue = self._queue_by_extn.get(extn)
        return queue

    def owner_label(self, app: Appearance) -> str:
        if app.owner_kind == "park":
            return "park:" + str(app.owner)
        if app.owner_kind == "user":
            user = self.users.get(app.owner) if isinstance(app.owner, bytes) else None
            return user.extn if user else "?"
        queue = self.queues.get(app.owner) if isinstance(app.owner, bytes) else None
        return queue.extn if queue else "?"

    @property
    def active_calls(self) -> list[Call]:
        return [c for c in self.calls if not c.ended]

    def find_call(self, gcid: str) -> Call:
        for call in self.calls:
            if call.gcid == gcid.upper():
                return call
        raise KeyError(f"no call {gcid}")

    def user_apps(self, user: User) -> list[Appearance]:
        """The user's call appearances, in call order (oldest call first), from the per-user index."""
        apps = self._apps_by_user.get(user.guid)
        if not apps:
            return []
        if len(apps) == 1:
            return list(apps)
        return sorted(apps, key=lambda a: (a.call.gcid_bytes, a.call.apps.index(a)))

    def apps_of(self, kind: str, owner: bytes | str) -> list[Appearance]:
        return [a for c in self.calls for a in c.apps if a.owner_kind == kind and a.owner == owner]

    def find_app(self, callid: int) -> Appearance | None:
        for call in self.calls:
            for app in call.apps:
                if app.callid == callid:
                    return app
        return None

    def parked(self) -> dict[str, Appearance]:
        return {str(a.owner): a for c in self.calls for a in c.apps if a.owner_kind == "park"}

    def phonestate(self, user: User) -> int:
        """The presence phone state (0 idle, 1 dialling, 2 ringing, 4 connected, 5 logout, 6 fault)."""
        if user.loggedoff:
            return 5
        if user.extnfault:
            return 6
        return self._phonestate_of({a.state for a in self._apps_by_user.get(user.guid, ())})

    @staticmethod
    def _phonestate_of(states: set[int]) -> int:
        """The phone state of a logged-in, working user whose call appearances are in ``states``."""
        if states & _IN_CALL:
            return 4
        if states & _DIALLING:
            return 1
        if S.RINGING in states:
            return 2
        return 0

    def busy(self, user: User) -> bool:
        return any(a.state != S.RINGING for a in self._apps_by_user.get(user.guid, ()))

    # ------------------------------------------------------------------------------------------------ events

    def _touch(self, app: Appearance) -> None:
        self._changed[app.callid] = app

    def mark_user(self, user: User) -> None:
        """Have the next commit re-check ``user``'s phone state (its login or fault state changed)."""
        self._dirty_users.add(user.guid)

    def _touch_call(self, call: Call) -> None:
        for app in call.apps:
            self._touch(app)

    def _lose(
        self, app: Appearance, *, dropped: bool = False, description: str = "", reason: int = REASON_NORMAL
    ) -> None:
        call = app.call
        if app in call.apps:
            call.apps.remove(app)
        if app.owner_kind == "user" and isinstance(app.owner, bytes):
            owned = self._apps_by_user.get(app.owner)
            if owned is not None and app in owned:
                owned.remove(app)
                if not owned:
                    del self._apps_by_user[app.owner]
            self._dirty_users.add(app.owner)
        self._changed.pop(app.callid, None)
        lost = pb.CallLost(
            callid=app.callid,
            referencecallid=app.referencecallid,
            reason=reason,
            thisenddropped=dropped,
            description=description,
        )
        self._lost.append((app, lost))
        # A consultation partner falls back to plain hold.
        for other in self.calls:
            for peer in other.apps:
                if peer.relatedcallid == app.callid:
                    peer.relatedcallid = 0
                    if peer.state in (S.ONHOLDPENDTRANSFER, S.ONHOLDPENDCONF):
                        peer.state = S.ONHOLD
                    peer.pend = ""
                    self._touch(peer)

    def commit(self) -> None:
        """Report the pending call changes as one event and re-run queue distribution."""
        self._redistribute()
        self.calls = [c for c in self.calls if not c.ended]
        dirty = self._dirty_users
        for app in self._changed.values():
            if app.owner_kind == "user" and isinstance(app.owner, bytes):
                dirty.add(app.owner)
        if self._changed or self._lost:
            event = CallEvent(next(self._refresh), list(self._changed.values()), list(self._lost))
            self._changed.clear()
            self._lost.clear()
            self.listener.calls_changed(event)
        after, self._after = self._after, []
        for kind, guid in after:
            if kind == "user" and guid in self.users:
                self.listener.user_changed(self.users[guid])
            elif kind == "queue" and guid in self.queues:
                self.listener.queue_changed(self.queues[guid])
        # Only the users whose appearances changed or whose login/fault state was set: commit runs on every call
        # change of a 3000-user system. (In the users' order, as a full pass would report them.)
        self._dirty_users = set()
        if len(dirty) > 1:
            self._fresh_index()
            rank = self._user_rank
            dirty = sorted(dirty, key=lambda guid: rank.get(guid, len(rank)))  # type: ignore[assignment]
        for guid in dirty:
            user = self.users.get(guid)
            if user is None:
                continue
            state = self.phonestate(user)
            if self._phonestates.get(guid, 0) != state:
                self._phonestates[guid] = state
                self.listener.user_changed(user)

    # ------------------------------------------------------------------------------------------------ config

    def add_user(self, extn: str, name: str, **fields: object) -> User:
        if self.find_user(extn) or self.find_queue(extn):
            raise ValueError(f"extension {extn} is in use")
        user = User(extn=extn, name=name, guid=make_guid(self.name, "user", self._added))
        self._added += 1
        for key, value in fields.items():
            setattr(user, key, value)
        self.users[user.guid] = user
        self._reindex()
        self._phonestates[user.guid] = self.phonestate(user)
        self.listener.lines_changed("add", [user], [])
        return user

    def remove_user(self, extn: str) -> None:
        user = self.user(extn)
        for app in self.user_apps(user):
            self._end_call(app.call, None)
        self.commit()
        for queue in self.queues.values():
            before = len(queue.members)
            queue.members = [m for m in queue.members if m.extn != extn]
            if len(queue.members) != before:
                self.listener.queue_changed(queue)
        del self.users[user.guid]
        self._phonestates.pop(user.guid, None)
        self._reindex()
        self.listener.lines_changed("delete", [user], [])

    def change_user(self, extn: str, *, name: str | None = None, new_extn: str | None = None) -> None:
        user = self.user(extn)
        if name is not None:
            user.name = name
        if new_extn is not None and new_extn != extn:
            if self.find_user(new_extn) or self.find_queue(new_extn):
                raise ValueError(f"extension {new_extn} is in use")
            for queue in self.queues.values():
                for member in queue.members:
                    if member.extn == extn:
                        member.extn = new_extn
            if user.loggedinextn == extn:
                user.loggedinextn = new_extn
            user.extn = new_extn
            self._reindex()
        self.listener.lines_changed("change", [user], [])
        self.listener.user_changed(user)

    def update_user(self, user: User, **fields: object) -> None:
        for key, value in fields.items():
            if not hasattr(user, key) or key in ("guid", "extn"):
                raise AttributeError(f"User has no settable field {key}")
            setattr(user, key, value)
        self.mark_user(user)
        self.listener.user_changed(user)
        self.commit()  # availability changes may start queue distribution

    def update_queue(self, queue: Queue, **fields: object) -> None:
        for key, value in fields.items():
            if key == "members":
                queue.members = [
                    m if isinstance(m, QueueMember) else QueueMember(str(m))
                    for m in value  # type: ignore[attr-defined]
                ]
                continue
            if not hasattr(queue, key) or key in ("guid", "extn"):
                raise AttributeError(f"Queue has no settable field {key}")
            setattr(queue, key, value)
        self.listener.queue_changed(queue)
        self.commit()

    def add_queue(self, extn: str, name: str, members: list[str] | None = None) -> Queue:
        queue = Queue(extn=extn, name=name, guid=make_guid(self.name, "queue", 10_000 + len(self.queues)))
        queue.members = [QueueMember(m) for m in members or []]
        self.queues[queue.guid] = queue
        self._reindex()
        self.listener.lines_changed("add", [], [queue])
        return queue

    def remove_queue(self, extn: str) -> None:
        queue = self.queue(extn)
        for app in self.apps_of("queue", queue.guid):
            self._end_call(app.call, None)
        self.commit()
        del self.queues[queue.guid]
        self._reindex()
        self.listener.lines_changed("delete", [], [queue])

    # ------------------------------------------------------------------------------------------------ calls

    def _new_call(self, a: Endpoint, trunk: tuple[int, str] | None = None) -> Call:
        gcid = b"\x01\xc0\xa8\x2a\x0b" + next(self._gcids).to_bytes(4, "big")
        ucid = b"\x00\x01" + next(self._ucids).to_bytes(6, "big")  # node 1, then a sequence
        call = Call(gcid_bytes=gcid, a=a, model=self, trunk=trunk, ucid=ucid)
        self.calls.append(call)
        return call

    def _new_app(self, call: Call, kind: str, owner: bytes | str, role: str, state: int, direction: int) -> Appearance:
        app = Appearance(
            callid=next(self._callids),
            call=call,
            owner_kind=kind,
            owner=owner,
            role=role,
            state=state,
            direction=direction,
        )
        call.apps.append(app)
        if kind == "user" and isinstance(owner, bytes):
            self._apps_by_user.setdefault(owner, []).append(app)
        self._touch(app)
        return app

    @staticmethod
    def user_endpoint(user: User) -> Endpoint:
        return Endpoint("user", user.extn, user.name, user.guid)

    def _app_user(self, app: Appearance) -> User | None:
        if app.owner_kind != "user" or not isinstance(app.owner, bytes):
            return None
        return self.users.get(app.owner)

    def _app_queue(self, app: Appearance) -> Queue | None:
        if app.owner_kind != "queue" or not isinstance(app.owner, bytes):
            return None
        return self.queues.get(app.owner)

    def incoming_call(
        self,
        to: str,
        caller: str = "01707123456",
        caller_name: str = "",
        did: str | None = None,
        *,
        withheld: bool = False,
    ) -> Call:
        """A trunk call to a user or a queue extension, dialled in on ``did`` (default: ``to``); ``withheld``: the
        caller withheld its number."""
        if not self.find_user(to) and not self.find_queue(to):
            raise KeyError(f"no user or queue {to}")
        call = self._new_call(
            Endpoint("trunk", caller, caller_name, withheld=withheld),
            trunk=(pb.TrunkInfo.TrunkType.TrunkSIP, did or to),
        )
        self._route(call, to, None)
        self.commit()
        return call

    def internal_call(self, from_: str, to: str, *, referencecallid: int = 0) -> Call:
        """A call from user ``from_`` to a user or queue ``to``."""
        user = self.user(from_)
        self._check_phone(user)
        if not self.find_user(to) and not self.find_queue(to):
            raise KeyError(f"no user or queue {to}")
        call = self._new_call(self.user_endpoint(user))
        app = self._new_app(call, "user", user.guid, "a", S.DIALLING, D.OUTBOUND)
        app.referencecallid = referencecallid
        app.calledparty = to
        call.dialled = to
        self._route(call, to, None)
        self.commit()
        return call

    def outgoing_call(self, from_: str, to: str, *, referencecallid: int = 0) -> Call:
        """A call from user ``from_`` out of a trunk to ``to``."""
        user = self.user(from_)
        self._check_phone(user)
        call = self._new_call(self.user_endpoint(user), trunk=(pb.TrunkInfo.TrunkType.TrunkSIP, ""))
        app = self._new_app(call, "user", user.guid, "a", S.RINGBACK, D.OUTBOUND)
        app.referencecallid = referencecallid
        app.calledparty = to
        call.dialled = to
        call.b = Endpoint("external", to)
        call.emergency = to in self.emergency_numbers
        self.commit()
        return call

    def _check_phone(self, user: User) -> None:
        if user.loggedoff:
            raise CallError(600, f"user {user.extn} is not logged in")
        if user.extnfault:
            raise CallError(601, f"user {user.extn} has no working phone")

    def _route(self, call: Call, target: str, original: Endpoint | None) -> None:
        """Present ``call`` (its a-side) to ``target``: a user, a queue or an external number."""
        user = self.find_user(target)
        if user is not None:
            self._offer_to_user(call, user, original)
            return
        queue = self.find_queue(target)
        if queue is not None:
            self._offer_to_queue(call, queue)
            return
        call.b = Endpoint("external", target)
        call.emergency = target in self.emergency_numbers
        call.trunk = call.trunk or (pb.TrunkInfo.TrunkType.TrunkSIP, "")
        for app in call.apps:
            if app.role == "a" and app.state in (S.DIALLING, S.DIALTONE, S.DIALLED):
                app.state = S.RINGBACK
        self._touch_call(call)

    def _caller_app(self, call: Call) -> Appearance | None:
        for app in call.apps:
            if app.role == "a" and app.owner_kind == "user":
                return app
        return None

    def _offer_to_user(self, call: Call, user: User, original: Endpoint | None, depth: int = 0) -> None:
        caller_app = self._caller_app(call)
        if caller_app is not None and caller_app.owner == user.guid:
            raise CallError(612, "cannot call yourself")
        if user.fwdu and user.fwdunumber and not user.fwdtovm and depth < 3:
            target = self.find_user(user.fwdunumber)
            if target is not None and target is not user:
                diverted = original or Endpoint(
                    "user", user.extn, user.name, user.guid, diversionreason=DIVERSION_UNCONDITIONAL
                )
                self._offer_to_user(call, target, diverted, depth + 1)
                return
            if target is None and not self.find_queue(user.fwdunumber):
                call.b = Endpoint("external", user.fwdunumber)
                if caller_app is not None:
                    caller_app.state = S.RINGBACK
                self._touch_call(call)
                return
        if user.dnd or user.loggedoff or user.extnfault or (user.fwdu and user.fwdtovm):
            if user.voicemail:
                self._to_voicemail(call, "user", user.guid, user.extn)
            else:
                self._busy(call)
            return
        app = self._new_app(call, "user", user.guid, "ring", S.RINGING, D.INBOUND)
        app.callingparty = call.a
        app.calledparty = call.trunk[1] if call.trunk and call.a.kind == "trunk" else user.extn
        app.originalcalledparty = original
        if caller_app is not None:
            caller_app.state = S.RINGBACK
        self._touch_call(call)

    def _busy(self, call: Call) -> None:
        caller_app = self._caller_app(call)
        if caller_app is not None:
            caller_app.state = S.BUSY
            self._touch_call(call)
        else:
            self._end_call(call, None)

    def _to_voicemail(self, call: Call, kind: str, guid: bytes, extn: str, *, ringing: bool = False) -> None:
        call.b = Endpoint("vm", "VoiceMail", "Voicemail")
        call.vm_box = (kind, guid)
        for app in list(call.apps):
            if app.role == "ring":
                self._lose(app)
        state = S.RINGINGVOICEMAIL if ringing else S.ANSWEREDBYVOICEMAIL
        for app in call.apps:
            app.state = S.CONNECTED if app.role == "a" else state
        if kind == "user" and not call.app("user", guid):
            app = self._new_app(call, "user", guid, "b", state, D.INBOUND)
            app.callingparty = call.a
            app.calledparty = extn
        self._touch_call(call)

    def _offer_to_queue(self, call: Call, queue: Queue) -> None:
        monitor = next((a for a in call.apps if a.owner_kind == "queue"), None)
        if monitor is not None and monitor.owner != queue.guid:
            call.overflow = (queue.extn, queue.name)
        if monitor is None:
            monitor = self._new_app(call, "queue", queue.guid, "monitor", S.QUEUEING, D.INBOUND)
            monitor.callingparty = call.a
            monitor.calledparty = call.trunk[1] if call.trunk and call.trunk[1] else queue.extn
        call.queue_extn = queue.extn
        call.b = None
        caller_app = self._caller_app(call)
        if caller_app is not None:
            caller_app.state = S.RINGBACK
        if queue.servicemode != "Active":
            call.queue_extn = ""
            if queue.voicemail:
                self._to_voicemail(call, "queue", queue.guid, queue.extn)
            else:
                self._busy(call)
            return
        monitor.state = S.QUEUEING
        self._distribute(call)
        self._touch_call(call)

    def _eligible(self, queue: Queue, call: Call) -> list[User]:
        ringing = {a.owner for a in call.apps if a.role == "ring"}
        result = []
        for member in queue.members:
            user = self.find_user(member.extn)
            if user is None or member.disabled or user.loggedoff or user.extnfault or user.dnd:
                continue
            if user.guid in ringing or self.busy(user) or any(a.call is call for a in self.user_apps(user)):
                continue
            result.append(user)
        return result

    def _distribute(self, call: Call) -> None:
        queue = self.find_queue(call.queue_extn) if call.queue_extn else None
        if queue is None or call.ended:
            return
        monitor = next((a for a in call.apps if a.owner_kind == "queue"), None)
        if monitor is None or monitor.state not in (S.QUEUEING, S.RINGING):
            return
        ringing = [a for a in call.apps if a.role == "ring"]
        eligible = self._eligible(queue, call)
        if queue.ringmode != 2 and ringing:
            eligible = []
        elif queue.ringmode != 2:
            eligible = eligible[:1]
        for user in eligible:
            app = self._new_app(call, "user", user.guid, "ring", S.RINGING, D.INBOUND)
            app.callingparty = call.a
            app.calledparty = queue.extn
            app.originalcalledparty = Endpoint("queue", queue.extn, queue.name)
        ringing = [a for a in call.apps if a.role == "ring"]
        new_state = S.RINGING if ringing else S.QUEUEING
        if monitor.state != new_state or eligible:
            monitor.state = new_state
            self._touch_call(call)

    def _redistribute(self) -> None:
        waiting = [
            c
            for c in self.calls
            if not c.ended and c.queue_extn and any(a.owner_kind == "queue" and a.state == S.QUEUEING for a in c.apps)
        ]
        waiting.sort(key=lambda c: (-c.priority, c.created))
        for call in waiting:
            self._distribute(call)

    def targets(self, call: Call) -> list[Endpoint]:
        result = []
        for app in call.apps:
            if app.role == "ring":
                user = self._app_user(app)
                if user is not None:
                    result.append(self.user_endpoint(user))
        return result

    def _end_call(self, call: Call, dropped_by: Appearance | None, description: str = "") -> None:
        if call.ended:
            return
        for app in list(call.apps):
            self._lose(app, dropped=app is dropped_by, description=description)
        if call.vm_box is not None and call.b is not None and call.b.kind == "vm":
            kind, guid = call.vm_box
            if kind == "user" and guid in self.users:
                self.users[guid].mailbox_new += 1
                self._after.append(("user", guid))
            elif kind == "queue" and guid in self.queues:
                self.queues[guid].mailbox_new += 1
                self._after.append(("queue", guid))
        call.ended = True

    def _hold_others(self, user: User, keep: Appearance) -> None:
        for app in self.user_apps(user):
            if app is not keep and app.state == S.CONNECTED and app.call.conference is None:
                app.state = S.ONHOLD
                self._set_activeheld(app.call, app, held=True)
                self._touch_call(app.call)

    def _set_activeheld(self, call: Call, holder: Appearance, *, held: bool) -> None:
        for app in call.apps:
            if app is not holder and app.role in ("a", "b", "monitor") and app.owner_kind != "park":
                app.activeheld = held

    # ----------------------------------------------------------------------------------- public call control

    def answer(self, call: Call, by: str | None = None) -> None:
        """The ringing party (``by``, or the first ringing one) answers; outbound: the far end answers."""
        ringing = [a for a in call.apps if a.role == "ring" and a.state == S.RINGING]
        if by is not None:
            user = self.user(by)
            ringing = [a for a in ringing if a.owner == user.guid]
            if not ringing:
                raise ValueError(f"{by} is not ringing for this call")
        if ringing:
            self._answer_app(ringing[0])
        elif call.b is not None and call.b.kind == "external":
            for app in call.apps:
                if app.state == S.RINGBACK:
                    app.state = S.CONNECTED
            self._touch_call(call)
        else:
            raise ValueError("nothing to answer on this call")
        self.commit()

    def _answer_app(self, app: Appearance) -> None:
        call = app.call
        user = self._app_user(app)
        assert user is not None
        for other in list(call.apps):
            if other.role == "ring" and other is not app:
                self._lose(other, description="answered elsewhere", reason=REASON_ANSWERED_ELSEWHERE)
        app.role = "b"
        app.state = S.CONNECTED
        call.b = self.user_endpoint(user)
        call.queue_extn = ""
        for other in call.apps:
            if other.state in (S.RINGBACK, S.QUEUEING, S.RINGING, S.DIALLING):
                other.state = S.CONNECTED
        self._hold_others(user, app)
        self._touch_call(call)

    def hold(self, call: Call, by: str) -> None:
        app = self._user_app(call, by)
        self._hold(app)
        self.commit()

    def unhold(self, call: Call, by: str) -> None:
        app = self._user_app(call, by)
        self._unhold(app)
        self.commit()

    def _user_app(self, call: Call, extn: str) -> Appearance:
        user = self.user(extn)
        app = call.app("user", user.guid)
        if app is None:
            raise ValueError(f"{extn} has no appearance of this call")
        return app

    def _hold(self, app: Appearance) -> None:
        if app.state in (S.ONHOLD, S.ONHOLDPENDCONF, S.ONHOLDPENDTRANSFER):
            raise CallError(617, "already on hold")
        if app.state != S.CONNECTED or app.owner_kind != "user":
            raise CallError(609, "call cannot be held now")
        app.state = S.ONHOLD
        self._set_activeheld(app.call, app, held=True)
        self._touch_call(app.call)

    def _unhold(self, app: Appearance) -> None:
        if app.state == S.CONNECTED:
            raise CallError(617, "call is not held")
        if app.state not in (S.ONHOLD, S.ONHOLDPENDCONF, S.ONHOLDPENDTRANSFER) or app.owner_kind != "user":
            raise CallError(609, "call is not held")
        app.state = S.CONNECTED
        app.pend = ""
        self._set_activeheld(app.call, app, held=False)
        user = self._app_user(app)
        if user is not None:
            self._hold_others(user, app)
        self._touch_call(app.call)

    def hangup(self, call: Call, by: str = "caller") -> None:
        """The caller (``"caller"``) or a user (extension) hangs up."""
        if call.ended:
            raise ValueError("call has ended")
        if by == "caller":
            caller_app = self._caller_app(call)
            if caller_app is not None:
                self._drop(caller_app)
            else:
                self._end_call(call, None)
        else:
            self._drop(self._user_app(call, by))
        self.commit()

    def to_voicemail(self, call: Call) -> None:
        """A ringing call is not answered and goes to the voicemail of its target (two events)."""
        app = next((a for a in call.apps if a.role == "ring"), None)
        queue = next((a for a in call.apps if a.owner_kind == "queue"), None)
        if queue is not None:
            owner = self._app_queue(queue)
            assert owner is not None
            kind, guid, extn = "queue", owner.guid, owner.extn
        elif app is not None:
            user = self._app_user(app)
            assert user is not None
            kind, guid, extn = "user", user.guid, user.extn
        else:
            raise ValueError("the call is not ringing")
        call.queue_extn = ""
        if app is not None and kind == "user":
            app.role = "b"
        self._to_voicemail(call, kind, guid, extn, ringing=True)
        self.commit()
        self._to_voicemail(call, kind, guid, extn)
        self.commit()

    def _drop(self, app: Appearance) -> None:
        call = app.call
        if app.owner_kind in ("queue", "park"):
            self._end_call(call, app)
            return
        if call.conference is not None:
            user = self._app_user(app)
            call.conference = [m for m in call.conference if not (user and m.endpoint.guid == user.guid)]
            self._lose(app, dropped=True)
            self._conference_changed(call)
            return
        if app.role == "ring":
            self._lose(app, dropped=True)
            others = [a for a in call.apps if a.role == "ring"]
            if call.queue_extn:
                self._touch_call(call)
            elif not others:
                user = self._app_user(app)
                if user is not None and user.voicemail:
                    self._to_voicemail(call, "user", user.guid, user.extn)
                else:
                    self._end_call(call, None)
            return
        self._end_call(call, app)

    def _conference_changed(self, call: Call) -> None:
        members = call.conference or []
        active = [m for m in members if m.state == S.CONNECTED]
        if len(active) <= 1 and not any(a.role != "conf" for a in call.apps if a.owner_kind == "queue"):
            self._end_call(call, None)
        else:
            self._touch_call(call)

    def park(self, call: Call, by: str, slot: str) -> None:
        self._park(self._user_app(call, by), slot)
        self.commit()

    def _park(self, app: Appearance, slot: str) -> None:
        if not slot or len(slot) > 9:
            raise CallError(608, "park slot must be 1..9 characters")
        if slot in self.parked():
            raise CallError(613, f"park slot {slot} is occupied")
        if app.state not in (S.CONNECTED, S.ONHOLD) or app.call.conference is not None:
            raise CallError(609, "call cannot be parked now")
        call = app.call
        parker = self._app_user(app)
        far = call.a if app.role == "b" else call.b
        if app.owner_kind == "user":
            self._lose(app, dropped=True, description="parked")
        if parker is not None and call.b is not None and call.b.guid == parker.guid:
            call.b = None
        elif parker is not None and call.a.guid == parker.guid and call.b is not None:
            call.a, call.b = call.b, None
        call.parked_slot = slot
        papp = self._new_app(call, "park", slot, "monitor", S.ONHOLD, D.INBOUND)
        papp.parkslot = slot
        papp.callingparty = far
        for other in call.apps:
            if other.owner_kind == "queue":
                other.state = S.ONHOLD
                other.parkslot = slot
            elif other.owner_kind == "user":
                other.activeheld = True
        self._touch_call(call)

    def unpark(self, slot: str, by: str, referencecallid: int = 0) -> Call:
        user = self.user(by)
        app = self._unpark(user, slot, referencecallid)
        self.commit()
        return app.call

    def _unpark(self, user: User, slot: str, referencecallid: int) -> Appearance:
        self._check_phone(user)
        papp = self.parked().get(slot)
        if papp is None:
            raise CallError(606, f"nothing parked on {slot}")
        call = papp.call
        self._lose(papp, description="unparked")
        call.parked_slot = ""
        if call.a.kind == "user" and call.app("user", call.a.guid) is None and call.b is None:
            pass
        if call.b is None:
            call.b = self.user_endpoint(user)
        else:
            call.a = self.user_endpoint(user)
        app = self._new_app(call, "user", user.guid, "b", S.CONNECTED, D.PICKUP)
        app.referencecallid = referencecallid
        for other in call.apps:
            other.activeheld = False
            if other.owner_kind == "queue":
                other.state = S.CONNECTED
                other.parkslot = ""
        self._hold_others(user, app)
        self._touch_call(call)
        return app

    # -------------------------------------------------------------------------------------------- rendering

    def far_party(self, app: Appearance) -> Endpoint | None:
        call = app.call
        if call.conference is not None:
            return Endpoint("conf", "Conference", "Conference")
        if app.owner_kind == "park":
            return app.callingparty
        if app.role == "a":
            if call.b is None:
                ring = self.targets(call)
                return ring[0] if len(ring) == 1 and app.state != S.DIALTONE else None
            return call.b
        if app.role == "ring":
            return None
        if app.role == "monitor":
            return call.b
        return call.a

    def features(self, app: Appearance) -> int:
        call = app.call
        state = app.state
        if app.owner_kind == "park":
            return DROP | BLINDXFER | TAG | FORCECLEAR
        if app.owner_kind == "queue":
            base = DROP | BLINDXFER | PARK | TAG | ACCT | RESERVED15 | FORCECLEAR | AUTH | PRIO | FINISH
            if (call.b is not None and call.b.kind == "conf") or call.conference is not None:
                return (DROP | ADDTOCONF | CONFMEMBER | TAG | ACCT | RESERVED15 | FORCECLEAR | AUTH | PRIO) | (
                    RECOFF if app.recording else RECON
                )
            if state == S.QUEUEING:
                return base
            if state == S.RINGING:
                return base | REDIRECT
            if state == S.ONHOLD:
                return DROP | BLINDXFER | TAG | ACCT | FORCECLEAR | PRIO | FINISH
            rec = RECOFF if app.recording else RECON
            if state in (S.ANSWEREDBYVOICEMAIL, S.RINGINGVOICEMAIL):
                return base | rec
            return base | rec | RECPAUSE
        user = self._app_user(app)
        consult = 0
        if app.relatedcallid:
            partner = self.find_app(app.relatedcallid)
            if partner is not None and partner.pend == "transfer":
                consult = COMPLETEXFER
            elif partner is not None and partner.pend == "conf":
                consult = COMPLETECONF
        if call.conference is not None and state == S.CONNECTED:
            return (
                DROP
                | HOLD
                | ADDTOCONF
                | CONFMEMBER
                | TAG
                | ACCT
                | FORCECLEAR
                | (MUTEOFF if app.mute else MUTEON)
                | (RECOFF if app.recording else RECON)
            )
        if state == S.RINGING:
            return DROP | ANSWER | BLINDXFER | REDIRECT | TAG | ACCT | FORCECLEAR
        if state == S.CONNECTED:
            value = DROP | HOLD | BLINDXFER | PARK | SETUPXFER | TAG | ACCT | DIGITS | FORCECLEAR | AUTH | RECPAUSE
            value |= RECOFF if app.recording else RECON
            value |= PRIVOFF if app.privacy else PRIVON
            if user is not None and user.ec500 and user.mobile:
                value |= EC500
            return value | consult
        if state == S.ONHOLD:
            return DROP | UNHOLD | BLINDXFER | PARK | TAG | ACCT | FORCECLEAR
        if state == S.ONHOLDPENDTRANSFER:
            return DROP | UNHOLD | COMPLETEXFER | TAG | FORCECLEAR
        if state == S.ONHOLDPENDCONF:
            return DROP | UNHOLD | COMPLETECONF | TAG | FORCECLEAR
        if state in (S.DIALTONE, S.DIALLING):
            return DROP | DIAL | TAG | ACCT | FORCECLEAR
        if state == S.RINGBACK:
            return DROP | TAG | ACCT | AUTH | FORCECLEAR | consult
        if state in (S.ANSWEREDBYVOICEMAIL, S.RINGINGVOICEMAIL):
            return DROP | BLINDXFER | TAG | FORCECLEAR
        return DROP

    def callinfo(self, app: Appearance, ccflags: int, view: str) -> pb.CallInfo:
        """Render the full snapshot of ``app`` for a subscription of ``view`` ("user", "queue", "park")."""
        call = app.call
        rich = view in ("queue", "park")
        info = pb.CallInfo(
            callid=app.callid,
            referencecallid=app.referencecallid,
            relatedcallid=app.relatedcallid,
            state=app.state,  # type: ignore[arg-type]
            direction=app.direction,  # type: ignore[arg-type]
            activeheld=app.activeheld,
            gcid=call.gcid_bytes,
            featuresavailable=self.features(app),
            calledparty=app.calledparty,
            tag=call.tag,
            accountcode=call.accountcode,
            mute=app.mute,
            failedcause=app.failedcause,  # type: ignore[arg-type]
            recording=app.recording,
            parkslot=app.parkslot,
            recordingpaused=app.recordingpaused,
        )
        if HAS_CALL_PAYLOAD_TYPE:
            info.payload = pb.CallInfo.PayloadType.Value("PayloadFull")  # type: ignore[assignment]
        if app.callingparty is not None:
            info.callingparty.CopyFrom(app.callingparty.party())
        far = self.far_party(app)
        if far is not None:
            info.connectedparty.CopyFrom(far.party())
        if app.originalcalledparty is not None:
            info.originalcalledparty.CopyFrom(app.originalcalledparty.party())
        if view == "user" and far is not None and far.kind == "user":
            far_user = self.users.get(far.guid)
            if far_user is not None and far_user.absence_set:
                info.absence.CopyFrom(pb.Absence(msg=far_user.absence_msg, str=far_user.absence_str))
        if call.ucid:
            info.ucid.ucid = call.ucid
        if ccflags & 0x02:
            self._render_devices(info, app, far if far is not None else app.callingparty)
        if call.conference is not None and (rich or ccflags & 0x08):
            owner_guid = app.owner if app.owner_kind == "user" else b""
            for member in call.conference:
                if member.endpoint.guid and member.endpoint.guid == owner_guid:
                    continue
                info.conferencemember.append(
                    pb.ConferenceMember(
                        lref=member.lref,
                        state=member.state,  # type: ignore[arg-type]
                        direction=member.direction,  # type: ignore[arg-type]
                        calledparty=member.calledparty,
                        connectedparty=member.endpoint.party(),
                        mute=member.mute,
                        failedcause=member.failedcause,  # type: ignore[arg-type]
                    )
                )
        if call.dialled and app.role == "a" and (rich or ccflags & 0x10):
            info.dialinfo.CopyFrom(
                pb.DialInfo(number=call.dialled, calltype=call.dialtype, withholdcli=call.withholdcli)
            )
        if call.trunk is not None and (rich or ccflags & 0x20):
            info.trunkinfo.CopyFrom(pb.TrunkInfo(trunktype=call.trunk[0], did=call.trunk[1]))  # type: ignore[arg-type]
        in_queue = any(a.owner_kind == "queue" for a in call.apps) or (
            app.originalcalledparty is not None and app.originalcalledparty.kind == "queue"
        )
        if in_queue and (rich or ccflags & 0x40):
            qinfo = pb.QueueInfo(priority=call.priority)
            monitor = next((a for a in call.apps if a.owner_kind == "queue"), None)
            queue = self._app_queue(monitor) if monitor is not None else None
            if queue is not None and call.overflow is None:
                qinfo.number, qinfo.name = queue.extn, queue.name
            elif app.originalcalledparty is not None and call.overflow is None:
                qinfo.number, qinfo.name = app.originalcalledparty.number, app.originalcalledparty.name
            if call.overflow is not None:
                qinfo.overflow_number, qinfo.overflow_name = call.overflow
            info.queueinfo.CopyFrom(qinfo)
        if rich or ccflags & 0x80:
            info.calldata.CopyFrom(
                pb.CallData(
                    language=call.language,
                    emergency=call.emergency,
                    privacy=app.privacy,
                    rprivacy=any(other.privacy for other in call.apps if other is not app),
                )
            )
        if view == "queue" and app.state in (S.RINGING, S.QUEUEING, S.RETARGETING):
            for target in self.targets(call):
                info.targets.target.append(pb.Target(partyinfo=target.party()))
        return info

    def _end(self, call: Call, user: User | None) -> pb.EndInfo | None:
        """The EndInfo of ``user``'s device on ``call`` (None: not a user, or logged in nowhere)."""
        if user is None or user.loggedoff:
            return None
        return pb.EndInfo(
            gcid=call.gcid_bytes,
            deviceclass=DEVICE_CLASS_DESK,
            devicetype=DEVICE_TYPE_PHONE,
            teleworker=user.teleworker,
        )

    def _render_devices(self, info: pb.CallInfo, app: Appearance, far: Endpoint | None) -> None:
        """The devices at each end (ccflags 0x02): the far user's phone (a ringing call's: the caller's) and the
        owner's own."""
        if far is not None and far.kind == "user":
            remote = self._end(app.call, self.users.get(far.guid))
            if remote is not None:
                info.remoteinfo.CopyFrom(remote)
        local = self._end(app.call, self._app_user(app))
        if local is not None:
            info.localinfo.append(local)
