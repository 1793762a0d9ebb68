"""The MTCTI-3 client: connection life cycle, subscriptions, the live model of the system, and the commands.

See docs/client-api.md for the public contract. The client subscribes to Lines, then to every wanted user and queue
(pipelined: every Subscribe is sent before any answer is awaited), keeps :attr:`IPOfficeClient.users`,
:attr:`~IPOfficeClient.queues`, :attr:`~IPOfficeClient.directory` and the park slots current from notifies, turns
call snapshots into :class:`CallEvent` objects, refreshes subscriptions before they expire, re-subscribes what
IP Office terminates, and reconnects (exponential backoff with jitter) after the connection is lost, reconciling
the model with what the fresh subscriptions report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import aiohttp

from . import commands as cmd
from .calls import apply_call_control, end_events
from .codec import Subprotocol
from .connection import ClientStats, Connection, authorization, check_port, url_host
from .const import (
    ABSENCE_TEXT_MAX,
    ACCOUNT_CODE_MAX,
    APP_PRESENCE_MAX,
    AUTH_CODE_MAX,
    DEFAULT_PORT,
    DEFAULT_QUEUE_CCFLAGS,
    DEFAULT_QUEUE_FLAGS,
    DEFAULT_USER_CCFLAGS,
    DEFAULT_USER_FLAGS,
    DTMF_MAX,
    PARK_SLOT_MAX,
    TAG_MAX,
    TRANSFER_TARGET_MAX,
    AbsenceMessage,
    CallFeature,
    LinesFlag,
    MakeCallType,
    PhoneState,
    ServiceMode,
    ShortCode,
    Subsystem,
    TransferType,
    UserFeature,
)
from .drift import DriftListener
from .errors import (
    AuthenticationError,
    CannotConnectError,
    CommandValidationError,
    FeatureNotAvailableError,
    MTCTI3Error,
    NotConnectedError,
    RequestTimeoutError,
    ResultCode,
    ResultError,
    TooManyLinesError,
    error_for_result,
)
from .escape import printable
from .models import (
    Absence,
    Call,
    CallEvent,
    LineEntry,
    LineKind,
    Mailbox,
    PresenceEntry,
    Queue,
    QueueMember,
    SystemInfo,
    User,
)
from .proto import ipo_mtcti3_pb2 as pb
from .schema import HAS_PRESENTITY_NO_APP_HANDLER, HAS_VERSION_INFO
from .tls import TLSMode, ssl_argument

_LOGGER = logging.getLogger(__name__)

LINES_FLAGS: Final = int(LinesFlag.USERS | LinesFlag.GROUPS | LinesFlag.PARK_SERVER)  # 7
NOTIFY_LINES_PARK_AVAILABLE: Final = 0x01
REFRESH_FRACTION: Final = 0.8
REFRESH_RETRY_FRACTION: Final = 0.05  # a refresh not answered, or refused for another reason, is tried again soon
_SUBSCRIPTION_GONE: Final = frozenset(
    {ResultCode.MTCTISESS_SUBSCRIPTION_INVALID, ResultCode.MTCTISESS_SUBSCRIPTION_INVALID_ID}
)
BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 60.0
AUTH_RETRY_DELAY: Final = 300.0  # after a refused password: one attempt every 5 minutes, not a password hammering
STABLE_AFTER: Final = 60.0  # a subscription (or a connection) that lived this long starts its backoff afresh
MAX_USERS: Final = 20_000
"""Users accepted from Lines: IP Office's own maximum of users in a network (SCN) of systems (3,000 on one system).
Lines lists every user of the network; more than this is not an IP Office: the rest are refused."""
MAX_QUEUES: Final = 2_000
"""Queues accepted from Lines (Lines lists the queues of the system connected to, far fewer on any IP Office)."""
READY_WAIT_MAX: Final = 60.0
"""Seconds that connecting waits at most for the first notifies of the user and queue subscriptions, whatever their
number (the wait is request_timeout per 1,000 subscriptions, at least request_timeout, at most this)."""
RECONCILE_DELAY: Final = 1.0
CONNECT_TIMEOUT: Final = 15.0
MAX_SUBSCRIBE_ID: Final = 0x7FFFFFFF
ACCOUNT_CODE_FILE: Final = "nasystem/AccountCode"


class _TerminatedError(NotConnectedError):
    """IP Office ended a subscription before its first notify; it is being made again (``_resubscribe``)."""


_ANSWERED_MAX: Final = 4096  # gcids kept of answered calls (cleared when full: a call rings its phones for seconds)
_GONE_CODES: Final = frozenset({ResultCode.MTCTISESS_NOTFOUND, ResultCode.MTCTISESS_USERNOTFOUND})
_SERVICE_MODES: Final = {mode.value: mode for mode in ServiceMode}
_PHONE_STATES: Final = {state.value: state for state in PhoneState}

ConnectionListener = Callable[[bool], None]
FailureListener = Callable[[MTCTI3Error], None]
UserListener = Callable[[User], None]
QueueListener = Callable[[Queue], None]
DirectoryListener = Callable[[list[LineEntry], list[LineEntry], list[LineEntry]], None]
CallListener = Callable[[CallEvent], None]
ParkListener = Callable[[dict[str, Call]], None]
PresenceListener = Callable[[int, list[PresenceEntry]], None]


class ConnectionState(StrEnum):
    """The life cycle of a client."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class SubscriptionKind(StrEnum):
    """What a subscription watches."""

    LINES = "lines"
    USER = "user"
    QUEUE = "queue"
    PARK = "park"
    PRESENCE = "presence"


_CALL_OWNERS: Final = {  # the owner of the calls a subscription reports
    SubscriptionKind.USER: Subsystem.USER,
    SubscriptionKind.QUEUE: Subsystem.QUEUE,
    SubscriptionKind.PARK: Subsystem.PARK,
}


@dataclass(slots=True, eq=False)
class _Subscription:
    """A wanted subscription; it survives reconnects, its subscribe_id is per connection."""

    kind: SubscriptionKind
    key: str  # user/queue guid (or a queue name), "" for lines/park, the handle for presence
    timeout: int
    fill: Callable[[pb.Subscribe], None]
    flags: int = 0
    subscribe_id: int = 0
    ready: asyncio.Future[None] | None = None
    got_first: bool = False
    refresh: asyncio.TimerHandle | None = None
    failures: int = 0
    established_at: float = 0.0
    unconfirmed: set[int] | None = None  # calls to confirm after a re-subscription
    lrefs: dict[int, str] = field(default_factory=dict)  # presence: lref -> presentity
    by_name: bool = False  # a queue subscribed by name


def _guid_hex(raw: bytes) -> str:
    return raw.hex().upper()


def _normalize_guid(guid: str) -> str:
    return guid.replace("-", "").strip().upper()


class IPOfficeClient:
    """A connection to one IP Office over MTCTI-3 and a live model of what it reports."""

    def __init__(
        self,
        host: str,
        username: str,
        password: str,
        *,
        port: int = DEFAULT_PORT,
        session: aiohttp.ClientSession | None = None,
        tls: TLSMode = TLSMode.VERIFY,
        fingerprint: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        subprotocol: Subprotocol = Subprotocol.FRAMED,
        users: Collection[str] | None = None,
        queues: Collection[str] | None = None,
        user_flags: int = DEFAULT_USER_FLAGS,
        user_ccflags: int = DEFAULT_USER_CCFLAGS,
        queue_flags: int = DEFAULT_QUEUE_FLAGS,
        queue_ccflags: int = DEFAULT_QUEUE_CCFLAGS,
        park_server: bool = True,
        request_timeout: float = 10.0,
        subscription_timeout: int = 3600,
        heartbeat: float = 30.0,
        reconnect: bool = True,
    ) -> None:
        """Configure the client; nothing happens until :meth:`connect`.

        Raises :class:`ValueError` for a PINNED mode without a valid fingerprint, and
        :class:`CommandValidationError` (a ValueError naming the field: "host", "port", "username" or "password")
        for a host that is not a host name or an IP address (no scheme, port or path), a port outside 1-65535, a
        user name with a colon or a control character, an empty password, or credentials that HTTP Basic
        authentication cannot carry (Latin-1 only).
        """
        url_host(host)
        check_port(port)
        authorization(username, password)
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._ssl_arg = ssl_argument(TLSMode(tls), fingerprint, ssl_context)
        self._subprotocol = Subprotocol(subprotocol)
        self._user_filter = None if users is None else {_normalize_guid(g) for g in users}
        self._queue_filter = None if queues is None else {_normalize_guid(g) for g in queues}
        self._user_flags = int(user_flags)
        self._user_ccflags = int(user_ccflags)
        self._queue_flags = int(queue_flags)
        self._queue_ccflags = int(queue_ccflags)
        self._park_server = park_server
        self.request_timeout = request_timeout
        self._subscription_timeout = int(subscription_timeout)
        self._heartbeat = heartbeat
        self._reconnect = reconnect
        self.reconcile_delay = RECONCILE_DELAY
        self.backoff_base = BACKOFF_BASE
        self.backoff_cap = BACKOFF_CAP
        self.auth_retry_delay = AUTH_RETRY_DELAY
        self.connect_timeout = CONNECT_TIMEOUT
        self.stable_after = STABLE_AFTER
        self.max_users = MAX_USERS
        self.max_queues = MAX_QUEUES
        self.ready_wait_max = READY_WAIT_MAX
        self.lines_refused = 0
        """How many users and queues the last Lines notify that listed too many refused (0: none refused)."""
        self._attempt = 0  # reconnect attempts since the last connection that stayed up stable_after seconds
        self._connected_at = 0.0  # time.monotonic() of the last successful connect

        self._state = ConnectionState.DISCONNECTED
        self._answered: dict[str, None] = {}  # gcids answered on any subscribed phone: not missed by the others
        self.loss_reason = ""
        """Why the connection was last lost ("" before any loss): for whoever reports the loss."""
        self._conn: Connection | None = None
        self._lost_conns: list[Connection] = []  # lost connections still to close
        self._closing = False
        self._syncing = False
        self._added_syncing: list[LineEntry] = []  # what Lines added that is not planned to be subscribed yet
        self._park_turned_on = False
        self._ever_connected = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wanted: dict[tuple[SubscriptionKind, str], _Subscription] = {}
        self._subs: dict[int, _Subscription] = {}
        self._next_sub_id = 1
        self._next_reference = 1
        self._next_presence = 1
        self._stats = ClientStats()

        self.system = SystemInfo(host=host)
        self.directory: dict[str, LineEntry] = {}
        self.users: dict[str, User] = {}
        self.queues: dict[str, Queue] = {}
        self.parked_calls: dict[str, Call] = {}
        self._park_calls: dict[int, Call] = {}

        self._connection_listeners: list[ConnectionListener] = []
        self._failure_listeners: list[FailureListener] = []
        self._user_listeners: dict[str | None, list[UserListener]] = {}
        self._queue_listeners: dict[str | None, list[QueueListener]] = {}
        self._directory_listeners: list[DirectoryListener] = []
        self._call_listeners: list[CallListener] = []
        self._on_unknown = self._unknown_value  # (bound once: it goes with every call-control notify)
        self._park_listeners: list[ParkListener] = []
        self._presence_listeners: list[PresenceListener] = []

    def __repr__(self) -> str:
        """No credentials in the representation."""
        return f"<IPOfficeClient {self._host}:{self._port} {self._state.value}>"

    # --- properties ------------------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The IP Office host name or address."""
        return self._host

    @property
    def port(self) -> int:
        """The HTTPS port."""
        return self._port

    @property
    def state(self) -> ConnectionState:
        """Where the client is in its life cycle."""
        return self._state

    @property
    def connected(self) -> bool:
        """Whether the connection is up and every subscription has been made."""
        return self._state is ConnectionState.CONNECTED

    @property
    def stats(self) -> ClientStats:
        """Counters: frames_in, frames_out, bad_frames, notifies, acks, reconnects, ..."""
        return self._stats

    @property
    def unknown_fields(self) -> dict[str, dict[int, int]]:
        """How many times IP Office sent each field this schema does not know: ``{"CallInfo": {90: 12}}`` (message
        type, field number, count; a copy). A newer release's data that this version leaves unread."""
        return self._stats.unknown_fields.as_dict()

    def user_by_extn(self, extn: str) -> User | None:
        """The subscribed user with extension ``extn``."""
        return next((user for user in self.users.values() if user.extn == extn), None)

    def queue_by_extn(self, extn: str) -> Queue | None:
        """The subscribed queue with extension ``extn``."""
        return next((queue for queue in self.queues.values() if queue.extn == extn), None)

    def find_call(self, call_id: int) -> Call | None:
        """Any user's, queue's or park call with ``call_id``."""
        owners: list[User | Queue] = [*self.users.values(), *self.queues.values()]
        for owner in owners:
            if (call := owner.calls.get(call_id)) is not None:
                return call
        return self._park_calls.get(call_id)

    # --- listeners -------------------------------------------------------------------------------------------

    def add_connection_listener(self, callback: ConnectionListener) -> Callable[[], None]:
        """``callback(connected)`` when the connection is lost and when it is recovered."""
        return _add(self._connection_listeners, callback)

    def add_failure_listener(self, callback: FailureListener) -> Callable[[], None]:
        """``callback(error)`` when a reconnect attempt fails (AuthenticationError, TooManyConnectionsError, ...).

        The client goes on reconnecting (an AuthenticationError slows it down to one attempt every
        :attr:`auth_retry_delay` seconds); the listener decides whether a person must act.
        """
        return _add(self._failure_listeners, callback)

    def add_user_listener(self, callback: UserListener, guid: str | None = None) -> Callable[[], None]:
        """``callback(user)`` after any change to the user ``guid`` (None: any user)."""
        key = None if guid is None else _normalize_guid(guid)
        return _add(self._user_listeners.setdefault(key, []), callback)

    def add_queue_listener(self, callback: QueueListener, guid: str | None = None) -> Callable[[], None]:
        """``callback(queue)`` after any change to the queue ``guid`` (None: any queue)."""
        key = None if guid is None else _normalize_guid(guid)
        return _add(self._queue_listeners.setdefault(key, []), callback)

    def add_directory_listener(self, callback: DirectoryListener) -> Callable[[], None]:
        """``callback(added, removed, changed)`` when Lines reports users or queues added, deleted or changed."""
        return _add(self._directory_listeners, callback)

    def add_call_listener(self, callback: CallListener) -> Callable[[], None]:
        """``callback(event)`` for every call event of users, queues and the park server, in order."""
        return _add(self._call_listeners, callback)

    def add_park_listener(self, callback: ParkListener) -> Callable[[], None]:
        """``callback(parked)`` (park slot -> call) when the park server reports a change."""
        return _add(self._park_listeners, callback)

    def add_unknown_field_listener(self, callback: DriftListener) -> Callable[[], None]:
        """``callback(field)`` the first time IP Office sends each field (message type and number) that this schema
        does not know (see :attr:`unknown_fields`)."""
        return self._stats.unknown_fields.add_listener(callback)

    def add_presence_listener(self, callback: PresenceListener) -> Callable[[], None]:
        """``callback(handle, entries)`` for every presence notify of a :meth:`subscribe_presence` handle."""
        return _add(self._presence_listeners, callback)

    # --- life cycle ------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect, subscribe Lines, read the version, subscribe users/queues/park; return when all are made.

        Raises CannotConnectError / TLSError / AuthenticationError / TooManyConnectionsError / ServiceRefusedError /
        ProtocolError / ResultError / RequestTimeoutError; a connection lost while subscribing is a
        CannotConnectError naming why. After a successful connect the client reconnects on its own (when
        ``reconnect``) until :meth:`disconnect`.
        """
        if self._state is ConnectionState.CONNECTED:
            return
        self._closing = False
        self._state = ConnectionState.CONNECTING
        try:
            await self._establish(resume=False)
        except BaseException as err:
            await self._drop_connection()
            await self._close_own_session()
            self._state = ConnectionState.DISCONNECTED
            if isinstance(err, NotConnectedError):
                raise CannotConnectError(
                    f"lost the connection to {self._host}:{self._port} while subscribing: "
                    f"{self.loss_reason or 'closed'}"
                ) from None
            raise
        self._state = ConnectionState.CONNECTED
        self._connected_at = time.monotonic()
        self._ever_connected = True

    async def disconnect(self) -> None:
        """End the subscriptions politely, close the websocket (and an own session), cancel every task."""
        self._closing = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
            self._reconnect_task = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        conn = self._conn
        if conn is not None and not conn.closed:
            for sub in list(self._subs.values()):
                end = pb.Message()
                end.subscribeend.subscribe_id = sub.subscribe_id
                end.subscribeend.reason = "client disconnect"
                with contextlib.suppress(MTCTI3Error):
                    await conn.send(end)
        await self._drop_connection()
        await self._close_own_session()
        self._state = ConnectionState.CLOSED

    async def _close_own_session(self) -> None:
        if self._own_session is not None:
            session, self._own_session = self._own_session, None
            await session.close()

    async def _drop_connection(self) -> None:
        """Forget the current connection (no loss reported) and its per-connection subscription state."""
        conn, self._conn = self._conn, None
        self._clear_subscriptions(NotConnectedError("the MTCTI-3 connection was closed"))
        if conn is not None:
            await conn.close()
        await self._close_lost()

    async def _close_lost(self) -> None:
        while self._lost_conns:
            await self._lost_conns.pop().close()

    def _clear_subscriptions(self, error: Exception) -> None:
        for sub in self._wanted.values():
            if sub.refresh is not None:
                sub.refresh.cancel()
                sub.refresh = None
            if sub.ready is not None and not sub.ready.done():
                sub.ready.set_exception(error)
                sub.ready.exception()
        self._subs.clear()

    def _http_session(self) -> aiohttp.ClientSession:
        if self._session is not None:
            return self._session
        if self._own_session is None or self._own_session.closed:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    async def _establish(self, *, resume: bool) -> None:
        """Open a connection and make every wanted subscription (pipelined)."""
        conn = await Connection.open(
            self._http_session(),
            self._host,
            self._port,
            self._username,
            self._password,
            ssl_arg=self._ssl_arg,
            subprotocol=self._subprotocol,
            heartbeat=self._heartbeat,
            connect_timeout=self.connect_timeout,
            stats=self._stats,
            on_message=self._on_message,
            on_notify=self._on_notify,
            on_lost=self._on_lost,
        )
        self._conn = conn
        self._subs.clear()
        conn.start()
        self._syncing = True
        subs: list[_Subscription] = []
        made: set[_Subscription] = set()  # (by identity)
        try:
            version = asyncio.ensure_future(self._fetch_version())
            try:
                lines = self._want(SubscriptionKind.LINES, "", self._fill_lines)
                await self._await_ready([await self._start(lines)], [lines], required=True)
                # Twice: users and queues that Lines adds while the first ones are being subscribed are subscribed
                # too (what it adds during the second wait is subscribed once connected, as any later addition).
                self._added_syncing = []
                new = self._plan_subscriptions()
                for _ in range(2):
                    if not new:
                        break
                    if resume:
                        for sub in new:
                            self._mark_unconfirmed(sub)
                    readies = [await self._start(sub) for sub in new]
                    subs += new
                    made.update(new)
                    await self._await_ready(readies, new, required=False)
                    new = [sub for sub in self._subs_for_added() if sub not in made]
                await version
            finally:
                if not version.done():
                    version.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await version  # also retrieves the error of a version request that failed first
        finally:
            self._syncing = False
        if late := [sub for sub in self._subs_for_added() if sub not in made]:
            self._spawn(self._subscribe_new(late))
        if resume:
            self._spawn(self._reconcile_later(subs))

    async def _fetch_version(self) -> None:
        try:
            await self.get_version()
        except ResultError as err:
            _LOGGER.debug("getversioninfo failed: %s", err)

    def _plan_subscriptions(self) -> list[_Subscription]:
        """The user/queue/park/presence subscriptions to make now, from the directory and the wishes."""
        for kind, key in list(self._wanted):
            if kind in (SubscriptionKind.USER, SubscriptionKind.QUEUE) and key in self.directory:
                continue
            if kind is SubscriptionKind.QUEUE and self._wanted[(kind, key)].by_name:
                continue
            if kind in (SubscriptionKind.USER, SubscriptionKind.QUEUE):
                self._unwant(kind, key)
        for entry in self.directory.values():
            if entry.kind is LineKind.USER and self._wants_user(entry.guid):
                self._want_user(entry)
            elif entry.kind is LineKind.QUEUE and self._wants_queue(entry.guid):
                self._want_queue(entry.guid, entry)
        park = (SubscriptionKind.PARK, "")
        if self._park_server and self.system.park_server_available:
            self._want(SubscriptionKind.PARK, "", self._fill_park)
        elif park in self._wanted:
            self._unwant(*park)
        return [sub for sub in self._wanted.values() if sub.kind is not SubscriptionKind.LINES]

    def _wants_user(self, guid: str) -> bool:
        return self._user_filter is None or guid in self._user_filter

    def _wants_queue(self, guid: str) -> bool:
        return self._queue_filter is None or guid in self._queue_filter

    def _want(
        self, kind: SubscriptionKind, key: str, fill: Callable[[pb.Subscribe], None], flags: int = 0
    ) -> _Subscription:
        sub = self._wanted.get((kind, key))
        if sub is None:
            sub = _Subscription(kind, key, self._subscription_timeout, fill, flags)
            self._wanted[(kind, key)] = sub
        return sub

    def _unwant(self, kind: SubscriptionKind, key: str) -> _Subscription | None:
        sub = self._wanted.pop((kind, key), None)
        if sub is not None:
            if sub.refresh is not None:
                sub.refresh.cancel()
            if self._subs.get(sub.subscribe_id) is sub:
                del self._subs[sub.subscribe_id]
        return sub

    def _want_user(self, entry: LineEntry) -> _Subscription:
        guid = entry.guid
        if guid not in self.users:
            self.users[guid] = User(guid=guid, extn=entry.extn, name=entry.name)
        raw = bytes.fromhex(guid)

        def fill(subscribe: pb.Subscribe) -> None:
            subscribe.user.guid = raw
            subscribe.user.flags = self._user_flags
            subscribe.user.ccflags = self._user_ccflags

        return self._want(SubscriptionKind.USER, guid, fill, self._user_flags)

    def _want_queue(self, guid: str, entry: LineEntry | None, name: str = "") -> _Subscription:
        key = guid or name
        if key not in self.queues:
            self.queues[key] = Queue(guid=key, extn=entry.extn if entry else "", name=entry.name if entry else name)

        def fill(subscribe: pb.Subscribe) -> None:
            if guid:
                subscribe.queue.guid = bytes.fromhex(guid)
            else:
                subscribe.queue.name = name
            subscribe.queue.flags = self._queue_flags
            subscribe.queue.ccflags = self._queue_ccflags

        sub = self._want(SubscriptionKind.QUEUE, key, fill, self._queue_flags)
        sub.by_name = not guid
        return sub

    def _fill_lines(self, subscribe: pb.Subscribe) -> None:
        subscribe.lines.flags = LINES_FLAGS

    def _fill_park(self, subscribe: pb.Subscribe) -> None:
        subscribe.parkserver.ccflags = self._user_ccflags

    def _new_subscribe_id(self) -> int:
        while True:
            sid = self._next_sub_id
            self._next_sub_id = 1 if sid >= MAX_SUBSCRIBE_ID else sid + 1
            if sid not in self._subs:
                return sid

    async def _start(self, sub: _Subscription) -> asyncio.Future[None]:
        """Send the Subscribe of ``sub`` under a new subscribe_id; return the future of its first notify."""
        conn = self._require_connection()
        loop = asyncio.get_running_loop()
        if sub.refresh is not None:
            sub.refresh.cancel()
            sub.refresh = None
        if self._subs.get(sub.subscribe_id) is sub:
            del self._subs[sub.subscribe_id]
        sub.subscribe_id = self._new_subscribe_id()
        sub.got_first = False
        ready: asyncio.Future[None] = loop.create_future()
        sub.ready = ready
        self._subs[sub.subscribe_id] = sub
        requestid = conn.new_request_id()
        message = pb.Message()
        subscribe = message.subscribe
        subscribe.requestid = requestid
        subscribe.subscribe_id = sub.subscribe_id
        subscribe.timeout = sub.timeout
        sub.fill(subscribe)
        response = await conn.start_request(message, requestid)

        def answered(future: asyncio.Future[pb.RequestResponse]) -> None:
            if future.cancelled():
                return
            error = future.exception()
            if error is None and future.result().result:
                result = future.result()
                error = error_for_result(result.result, result.additional)
                if self._subs.get(sub.subscribe_id) is sub:
                    del self._subs[sub.subscribe_id]
            if error is not None and not ready.done():
                ready.set_exception(error)
            elif (
                error is None
                and sub.kind is SubscriptionKind.PARK
                and not sub.got_first
                and self._subs.get(sub.subscribe_id) is sub
            ):
                # The spec promises no first ParkServer notify (nothing parked, nothing to say): its success is
                # the answer. (Users, queues and Lines wait for the first notify: it is their state.)
                self._established(sub)

        response.add_done_callback(answered)
        return ready

    async def _await_ready(
        self, readies: list[asyncio.Future[None]], subs: list[_Subscription], *, required: bool
    ) -> None:
        """Await the first notify of each subscription (the answer when it failed)."""
        if not readies:
            return
        timeout = min(self.ready_wait_max, self.request_timeout * max(1.0, len(readies) / 1000))
        _done, pending = await asyncio.wait(readies, timeout=timeout)
        unanswered: list[str] = []
        failed: list[str] = []
        for ready, sub in zip(readies, subs, strict=True):
            if ready in pending:
                if required:
                    raise RequestTimeoutError(
                        f"no answer to the {sub.kind.value} subscription {sub.key or ''} within {timeout:g} s".replace(
                            "  ", " "
                        )
                    )
                unanswered.append(f"{sub.kind.value} {sub.key}".strip())
                continue
            exc = ready.exception()
            if exc is None or isinstance(exc, _TerminatedError):  # (terminated: already being made again)
                continue
            if required or isinstance(exc, NotConnectedError):
                raise exc
            failed.append(f"{sub.kind.value} {sub.key}: {exc}")
            self._subscription_failed(sub, exc, log=False)
            if self._wanted.get((sub.kind, sub.key)) is sub:  # still wanted: try again (backing off)
                self._spawn(self._resubscribe(sub))
        # One line each, however many (a peer that answers none of 20,000 subscriptions writes no 20,000 lines)
        if unanswered:
            _LOGGER.warning(
                "No answer to %d subscription(s) within %g s: %s", len(unanswered), timeout, _some(unanswered)
            )
        if failed:
            _LOGGER.warning("Could not subscribe to %d subscription(s): %s", len(failed), _some(failed))

    def _subscription_failed(self, sub: _Subscription, error: BaseException, *, log: bool = True) -> None:
        if log:
            _LOGGER.warning("Could not subscribe to %s %s: %s", sub.kind.value, sub.key, error)
        if isinstance(error, ResultError) and error.code in _GONE_CODES:
            self._unwant(sub.kind, sub.key)
            if sub.kind is SubscriptionKind.USER:
                self.users.pop(sub.key, None)
            elif sub.kind is SubscriptionKind.QUEUE:
                self.queues.pop(sub.key, None)

    def _require_connection(self) -> Connection:
        conn = self._conn
        if conn is None or conn.closed:
            raise NotConnectedError(f"not connected to IP Office {self._host}")
        return conn

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            _LOGGER.error("MTCTI-3 background task failed: %r", exc)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0 = first): exponential with jitter, capped."""
        delay = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return float(delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not cryptography

    # --- loss and reconnect ----------------------------------------------------------------------------------

    def _on_lost(self, reason: str) -> None:
        if self._closing:
            return
        if self._conn is not None and not self._conn.closed:
            # A connection reports its loss after marking itself closed: an open current connection means that the
            # report comes from an older one, which must not tear down the connection that replaced it.
            _LOGGER.debug("Ignored the late loss of a replaced MTCTI-3 connection: %s", reason)
            return
        # At debug level: whoever uses the client reports the loss (Home Assistant's coordinator once, at info)
        _LOGGER.debug("Lost the MTCTI-3 connection to %s: %s", self._host, reason)
        self.loss_reason = reason
        if self._state is ConnectionState.CONNECTED and time.monotonic() - self._connected_at >= self.stable_after:
            self._attempt = 0  # it stayed up a while: the backoff starts afresh (else it goes on growing)
        if self._conn is not None:
            self._lost_conns.append(self._conn)
        self._conn = None
        self._clear_subscriptions(NotConnectedError(f"the MTCTI-3 connection was lost: {reason}"))
        if self._state is ConnectionState.CONNECTED:
            self._state = ConnectionState.DISCONNECTED
            self._emit_connection(False)
        if self._reconnect and self._ever_connected and (self._reconnect_task is None or self._reconnect_task.done()):
            self._reconnect_task = asyncio.get_running_loop().create_task(
                self._reconnect_loop(), name="mtcti3-reconnect"
            )

    async def _reconnect_loop(self) -> None:
        """Reconnect until connected (or closed), backing off: the attempts count on across a connection that did
        not stay up :attr:`stable_after` seconds, so that one that dies soon after each connect is not made again
        every second for ever."""
        refused = False
        attempt = 0
        while not self._closing:
            await self._close_lost()
            await asyncio.sleep(self.auth_retry_delay if refused else self.backoff(self._attempt))
            self._attempt += 1
            attempt += 1
            try:
                await self._establish(resume=True)
            except MTCTI3Error as err:
                refused = isinstance(err, AuthenticationError)
                _LOGGER.debug(
                    "Reconnect %d to %s failed: %s%s",
                    attempt,
                    self._host,
                    err,
                    f"; next attempt in {self.auth_retry_delay:g} s" if refused else "",
                )
                await self._drop_connection()
                for listener in list(self._failure_listeners):
                    _call(listener, err)
                continue
            if self._conn is None:  # lost again while subscribing
                continue
            self._stats.reconnects += 1
            self._state = ConnectionState.CONNECTED
            self._connected_at = time.monotonic()
            _LOGGER.debug("Reconnected to %s after %d attempt(s)", self._host, attempt)
            self._emit_connection(True)
            return

    def _mark_unconfirmed(self, sub: _Subscription) -> None:
        calls = self._calls_of(sub)
        sub.unconfirmed = set(calls) if calls else None

    async def _reconcile_later(self, subs: Iterable[_Subscription]) -> None:
        made = [(sub, sub.subscribe_id) for sub in subs]
        await asyncio.sleep(self.reconcile_delay)
        for sub, subscribe_id in made:
            if sub.subscribe_id == subscribe_id:  # not made again meanwhile (a later reconnect reconciles that)
                self._reconcile(sub)

    def _reconcile(self, sub: _Subscription) -> None:
        """End (reconciled=True) the calls a fresh subscription did not report."""
        if not sub.got_first or self._subs.get(sub.subscribe_id) is not sub:
            return  # not subscribed (yet, or any more): whoever makes the subscription again reconciles it
        unconfirmed, sub.unconfirmed = sub.unconfirmed, None
        if not unconfirmed:
            return
        calls = self._calls_of(sub)
        if calls is None:
            return
        now = time.time()
        events: list[CallEvent] = []
        for call_id in sorted(unconfirmed):
            call = calls.pop(call_id, None)
            if call is not None:
                events.extend(end_events(call, now, reconciled=True))
        if events:
            self._after_calls(sub, events, self._holder_of(sub))

    def _holder_of(self, sub: _Subscription) -> User | Queue | None:
        """The user or queue whose calls ``sub`` reports (None: the park server's, or a subscription of no calls)."""
        if sub.kind is SubscriptionKind.USER:
            return self.users.get(sub.key)
        if sub.kind is SubscriptionKind.QUEUE:
            return self.queues.get(sub.key)
        return None

    def _calls_of(self, sub: _Subscription, holder: User | Queue | None = None) -> dict[int, Call] | None:
        """The calls ``sub`` reports: those of ``holder`` (its user or queue, looked up unless given) or the park
        server's; None: the user or queue is gone, or ``sub`` reports no calls."""
        if holder is None:
            holder = self._holder_of(sub)
        if holder is not None:
            return holder.calls
        return self._park_calls if sub.kind is SubscriptionKind.PARK else None

    # --- incoming --------------------------------------------------------------------------------------------

    def _on_message(self, message: pb.Message) -> None:
        kind = message.WhichOneof("payload")
        if kind == "notify":
            self._on_notify(message.notify)
        elif kind == "subscribeterminated":
            self._on_terminated(message.subscribeterminated)
        else:
            _LOGGER.debug("Ignored an unexpected %s message from IP Office", kind)

    def _on_notify(self, notify: pb.Notify) -> None:
        sub = self._subs.get(notify.subscribe_id)
        if sub is None:
            _LOGGER.debug("Ignored a notify of unknown subscription %d", notify.subscribe_id)
            return
        payload = notify.WhichOneof("payload")
        kind = sub.kind
        try:
            if payload == "callcontrol" and kind in (
                SubscriptionKind.USER,
                SubscriptionKind.QUEUE,
                SubscriptionKind.PARK,
            ):
                self._on_call_control(sub, notify.callcontrol)
            elif payload == "user" and kind is SubscriptionKind.USER:
                self._on_user(sub, notify.user)
            elif payload == "queue" and kind is SubscriptionKind.QUEUE:
                self._on_queue(sub, notify.queue)
            elif payload == "lines" and kind is SubscriptionKind.LINES:
                self._on_lines(sub, notify.lines)
            elif payload == "presence" and kind is SubscriptionKind.PRESENCE:
                self._on_presence(sub, notify.presence)
            elif payload != "refreshwrapper":
                _LOGGER.warning(
                    "Ignored a notify with %s on %s subscription %d",
                    f"payload {payload}" if payload else "no payload",
                    kind.value,
                    notify.subscribe_id,
                )
        finally:
            # Lines is made by its Lines notify (the full list), not by whatever else comes on its id first
            if not sub.got_first and (kind is not SubscriptionKind.LINES or payload == "lines"):
                self._established(sub)

    def _established(self, sub: _Subscription) -> None:
        """``sub`` is made and IP Office reports it: ready, refreshed in time, reconciled after a reconnect."""
        sub.got_first = True
        sub.established_at = time.monotonic()
        if sub.ready is not None and not sub.ready.done():
            sub.ready.set_result(None)
        self._schedule_refresh(sub)

    def _unknown_value(self, name: str, value: int) -> None:
        self._stats.unknown_values += 1
        _LOGGER.warning("Unknown value %d of %s (newer IP Office?); treated as unknown", value, name)

    def _on_lines(self, sub: _Subscription, lines: pb.NotifyLines) -> None:
        full = not sub.got_first
        available = bool(lines.flags & NOTIFY_LINES_PARK_AVAILABLE)
        park_turned_on = available and not self.system.park_server_available
        self.system.park_server_available = available
        added: list[LineEntry] = []
        removed: list[LineEntry] = []
        changed: list[LineEntry] = []
        directory = self.directory
        seen: set[str] = set()
        refused = 0
        for kind, adds, changes, limit in (
            (LineKind.USER, lines.adduser, lines.changeuser, self.max_users),
            (LineKind.QUEUE, lines.addqueue, lines.changequeue, self.max_queues),
        ):
            # At most ``limit`` entries of each list are read (the rest are refused unread: one message of a
            # million users costs no more than one of the limit), and no new entry once the directory has ``limit``
            # of this kind.
            count = sum(1 for entry in directory.values() if entry.kind is kind) if adds or changes else 0
            refused += max(0, len(adds) - limit) + max(0, len(changes) - limit)
            for items in (adds[:limit], changes[:limit]):
                for item in items:
                    entry = LineEntry(kind, _guid_hex(item.guid), item.extn, item.name)
                    old = directory.get(entry.guid)
                    if old is None and count >= limit:
                        refused += 1
                        continue
                    seen.add(entry.guid)
                    if old == entry:
                        continue
                    if old is None:
                        count += 1
                    directory[entry.guid] = entry
                    (added if old is None else changed).append(entry)
        for deleted in (lines.deleteuser, lines.deletequeue):
            for item in deleted[: self.max_users + self.max_queues]:
                gone = directory.pop(_guid_hex(item.guid), None)
                if gone is not None:
                    removed.append(gone)
        if refused:
            self._refuse_lines(refused)
        elif full:
            self.lines_refused = 0
        if full:  # the first notify of a Lines subscription lists everything: what it lacks is gone
            removed.extend(directory.pop(guid) for guid in [guid for guid in directory if guid not in seen])
        if not (added or removed or changed or park_turned_on):
            return
        for entry in changed:
            self._rename(entry)
        for entry in removed:
            self._forget(entry)
        self._added_syncing += added
        if park_turned_on:
            self._park_turned_on = True
        if not self._syncing and (new_subs := self._subs_for_added()) and self._conn is not None:
            self._spawn(self._subscribe_new(new_subs))
        if added or removed or changed:
            for listener in list(self._directory_listeners):
                _call(listener, added, removed, changed)

    def _subs_for_added(self) -> list[_Subscription]:
        """The subscriptions of what Lines added since the last call (wanted users and queues, the park server)."""
        added, self._added_syncing = self._added_syncing, []
        park, self._park_turned_on = self._park_turned_on, False
        new_subs: list[_Subscription] = []
        for added_entry in added:
            if (entry := self.directory.get(added_entry.guid)) is None:
                continue  # deleted since
            if entry.kind is LineKind.USER and self._wants_user(entry.guid):
                new_subs.append(self._want_user(entry))
            elif entry.kind is LineKind.QUEUE and self._wants_queue(entry.guid):
                new_subs.append(self._want_queue(entry.guid, entry))
        if park and self._park_server and (SubscriptionKind.PARK, "") not in self._wanted:
            new_subs.append(self._want(SubscriptionKind.PARK, "", self._fill_park))
        return new_subs

    def _refuse_lines(self, refused: int) -> None:
        """Lines listed ``refused`` users or queues beyond the limits: say so (log, failure listeners)."""
        self.lines_refused = refused
        error = TooManyLinesError(
            f"IP Office {self._host} listed {refused} users or queues beyond the {self.max_users} users and "
            f"{self.max_queues} queues this client accepts (IP Office's own maximum is 3,000 users on a system, "
            "20,000 in a network); they are not subscribed",
            refused=refused,
            limit_users=self.max_users,
            limit_queues=self.max_queues,
        )
        _LOGGER.error("%s", error)
        for listener in list(self._failure_listeners):
            _call(listener, error)

    def _rename(self, entry: LineEntry) -> None:
        owner: User | Queue | None = (self.users if entry.kind is LineKind.USER else self.queues).get(entry.guid)
        if owner is None or (owner.extn == entry.extn and owner.name == entry.name):
            return
        owner.extn = entry.extn
        owner.name = entry.name
        if isinstance(owner, User):
            self._emit_user(owner)
        else:
            self._emit_queue(owner)

    def _forget(self, entry: LineEntry) -> None:
        kind = SubscriptionKind.USER if entry.kind is LineKind.USER else SubscriptionKind.QUEUE
        sub = self._unwant(kind, entry.guid)
        owner: User | Queue | None = (self.users if entry.kind is LineKind.USER else self.queues).pop(entry.guid, None)
        if sub is not None and self._conn is not None and not self._syncing:
            self._spawn(self._end_subscription(sub.subscribe_id))
        if owner is not None and owner.calls and sub is not None:
            now = time.time()
            events = [e for call in owner.calls.values() for e in end_events(call, now, reconciled=True)]
            owner.calls.clear()
            self._emit_calls(events)

    async def _end_subscription(self, subscribe_id: int) -> None:
        conn = self._conn
        if conn is None:
            return
        message = pb.Message()
        message.subscribeend.subscribe_id = subscribe_id
        with contextlib.suppress(MTCTI3Error):
            await conn.send(message)

    async def _subscribe_new(self, subs: list[_Subscription]) -> None:
        """Subscribe (pipelined) what Lines added while connected."""
        try:
            readies = [await self._start(sub) for sub in subs]
            await self._await_ready(readies, subs, required=False)
        except NotConnectedError:
            return  # the reconnect subscribes everything wanted

    def _on_user(self, sub: _Subscription, notify: pb.NotifyUser) -> None:
        user = self.users.get(sub.key)
        if user is None:
            entry = self.directory.get(sub.key)
            user = User(guid=sub.key, extn=entry.extn if entry else "", name=entry.name if entry else "")
            self.users[sub.key] = user
        if notify.extn:
            user.extn = notify.extn
        if notify.name:
            user.name = notify.name
        user.fullname = notify.fullname
        user.email = notify.email
        user.language = notify.language
        user.features = UserFeature(notify.featuresavailable & 0xFFFFFFFF)
        user.dnd = notify.dnd
        user.barred = notify.barred
        user.xdirectory = notify.xdirectory
        user.voicemail = notify.voicemail
        user.logged_in_extn = notify.loggedinextn
        user.extn_fault = notify.extnfault
        user.logged_off = notify.loggedoff
        user.absence = (
            Absence(message=notify.absence.msg, text=notify.absence.str) if notify.HasField("absence") else None
        )
        user.mailbox = (
            Mailbox(notify.mailbox.newmessages, notify.mailbox.oldmessages, notify.mailbox.savedmessages)
            if notify.HasField("mailbox")
            else None
        )
        user.app = notify.app
        user.no_app_handler = notify.noapphandler
        user.ec500 = notify.ec500
        user.fwdu = notify.fwdu
        user.fwdb = notify.fwdb
        user.fwdna = notify.fwdna
        user.fwdhg = notify.fwdhg
        user.fwdu_number = notify.fwdunumber
        user.fwdb_number = notify.fwdbnumber
        user.fwd_to_voicemail = notify.fwdtovm
        user.offswitch = notify.offswitch
        user.synced = True
        self._emit_user(user)

    def _on_queue(self, sub: _Subscription, notify: pb.NotifyQueue) -> None:
        queue = self.queues.get(sub.key)
        if queue is None:
            queue = Queue(guid=sub.key, extn="", name="")
            self.queues[sub.key] = queue
        if notify.extn:
            queue.extn = notify.extn
        if notify.name:
            queue.name = notify.name
        queue.email = notify.email
        queue.ring_mode = notify.ringmode
        queue.no_answer_time = notify.noanswertime
        queue.voicemail = notify.voicemail
        queue.voicemail_time = notify.voicemailtime
        mode = _SERVICE_MODES.get(notify.servicemode)
        if mode is None:
            self._unknown_value("NotifyQueue.servicemode", notify.servicemode)
            mode = ServiceMode.UNSET
        queue.service_mode = mode
        queue.members = tuple(
            QueueMember(extn=member.extn, disabled=member.disabled) for member in notify.queuemembers.member
        )
        queue.mailbox = (
            Mailbox(notify.mailbox.newmessages, notify.mailbox.oldmessages, notify.mailbox.savedmessages)
            if notify.HasField("mailbox")
            else None
        )
        queue.synced = True
        self._emit_queue(queue)

    def _on_call_control(self, sub: _Subscription, notify: pb.NotifyCallControl) -> None:
        """Apply a call-control notify to its owner's calls, then tell the call listeners and the owner's.

        (The client's busiest path: one of these per call change.)
        """
        holder = self._holder_of(sub)
        calls = self._calls_of(sub, holder)
        if calls is None:
            return
        unconfirmed: set[int] | tuple[()] = ()
        if sub.unconfirmed:  # after a reconnect: the calls of before that this notify reports again
            _match_by_gcid(calls, sub.unconfirmed, notify)
            unconfirmed = {info.callid for info in notify.callinfo} & sub.unconfirmed
            sub.unconfirmed -= unconfirmed
        events = apply_call_control(
            calls, notify, _CALL_OWNERS[sub.kind], sub.key, time.time(), self._on_unknown, unconfirmed, self._answered
        )
        if len(self._answered) > _ANSWERED_MAX:
            self._answered.clear()
        self._after_calls(sub, events, holder)

    def _after_calls(self, sub: _Subscription, events: list[CallEvent], holder: User | Queue | None) -> None:
        """Tell the call listeners ``events``, then the listeners of the owner (``holder``, or the park server)."""
        self._emit_calls(events)
        if isinstance(holder, User):
            self._emit_user(holder)
        elif holder is not None:
            self._emit_queue(holder)
        elif sub.kind is SubscriptionKind.PARK:
            self._emit_parked()

    def _emit_parked(self) -> None:
        self.parked_calls = {call.park_slot: call for call in self._park_calls.values() if call.park_slot}
        parked = dict(self.parked_calls)
        for listener in list(self._park_listeners):
            _call(listener, parked)

    def _on_presence(self, sub: _Subscription, notify: pb.NotifyPresence) -> None:
        entries = [
            PresenceEntry(
                presentity=item.presentity or sub.lrefs.get(item.lref, ""),
                lref=item.lref,
                dnd=bool(item.sac),
                phone_state=_PHONE_STATES.get(item.phonestate, PhoneState.UNKNOWN),
                absence=Absence(message=item.absence.msg, text=item.absence.str) if item.HasField("absence") else None,
                app=item.app,
                fwdu=item.fwdu,
                voicemail_unread=item.vmunread_messages,
                no_app_handler=item.noapphandler if HAS_PRESENTITY_NO_APP_HANDLER else False,
            )
            for item in notify.entry
        ]
        handle = int(sub.key)
        for listener in list(self._presence_listeners):
            _call(listener, handle, entries)

    def _on_terminated(self, terminated: pb.SubscribeTerminated) -> None:
        sub = self._subs.pop(terminated.subscribe_id, None)
        if sub is None:
            return
        _LOGGER.info(
            "IP Office terminated the %s subscription %s%s",
            sub.kind.value,
            sub.key,
            f" ({printable(terminated.reason)})" if terminated.reason else "",
        )
        if sub.refresh is not None:
            sub.refresh.cancel()
            sub.refresh = None
        if sub.ready is not None and not sub.ready.done():
            sub.ready.set_exception(_TerminatedError("the subscription was terminated"))
            sub.ready.exception()
        if sub.got_first and time.monotonic() - sub.established_at >= STABLE_AFTER:
            sub.failures = 0
        self._spawn(self._resubscribe(sub))

    async def _resubscribe(self, sub: _Subscription) -> None:
        """Make ``sub`` again after IP Office ended it, backing off so that it cannot loop hot."""
        conn = self._conn
        while not self._closing and self._wanted.get((sub.kind, sub.key)) is sub:
            await asyncio.sleep(self.backoff(sub.failures))
            sub.failures += 1
            if self._conn is None or self._conn is not conn:
                return  # lost meanwhile: the reconnect makes (or made) every wanted subscription
            self._mark_unconfirmed(sub)
            try:
                ready = await self._start(sub)
                await self._await_one(ready)
            except NotConnectedError:
                return
            except MTCTI3Error as err:
                self._subscription_failed(sub, err)
                continue
            self._stats.resubscribes += 1
            subscribe_id = sub.subscribe_id
            await asyncio.sleep(self.reconcile_delay)
            if sub.subscribe_id == subscribe_id:
                self._reconcile(sub)
            return

    async def _await_one(self, ready: asyncio.Future[None]) -> None:
        try:
            async with asyncio.timeout(self.request_timeout):
                await ready
        except TimeoutError:
            raise RequestTimeoutError(f"no answer to a subscription within {self.request_timeout:g} s") from None

    def _schedule_refresh(self, sub: _Subscription, retry: bool = False) -> None:
        """Refresh ``sub`` after REFRESH_FRACTION of its timeout (at least a second), or a retry after
        REFRESH_RETRY_FRACTION of it."""
        if sub.timeout <= 0 or self._closing:
            return
        loop = asyncio.get_running_loop()
        subscribe_id = sub.subscribe_id
        delay = sub.timeout * REFRESH_RETRY_FRACTION if retry else max(1.0, sub.timeout * REFRESH_FRACTION)
        sub.refresh = loop.call_later(delay, lambda: self._spawn(self._refresh(sub, subscribe_id)))

    async def _refresh(self, sub: _Subscription, subscribe_id: int) -> None:
        """Refresh: the same subscribe_id with only a timeout.

        An id IP Office no longer knows (codes 100, 101) is subscribed afresh. A refresh not answered or refused for
        another reason is tried again soon on the same id: the subscription lives until its timeout, and a second
        one beside it would be refused (TOOMANY) or duplicate every notify.
        """
        sub.refresh = None
        if self._subs.get(subscribe_id) is not sub:
            return
        retry = True  # unless it succeeds: a refresh again soon
        try:
            conn = self._require_connection()
            requestid = conn.new_request_id()
            message = pb.Message()
            message.subscribe.requestid = requestid
            message.subscribe.subscribe_id = subscribe_id
            message.subscribe.timeout = sub.timeout
            await conn.request(message, requestid, self.request_timeout)
        except NotConnectedError:
            return
        except RequestTimeoutError:
            _LOGGER.debug("No answer to the refresh of subscription %d; trying again soon", subscribe_id)
        except ResultError as err:
            if err.code in _SUBSCRIPTION_GONE:
                _LOGGER.warning("Refresh of the %s subscription %s failed: %s", sub.kind.value, sub.key, err)
                if self._subs.get(subscribe_id) is sub:
                    del self._subs[subscribe_id]
                    await self._resubscribe(sub)
                return
            _LOGGER.debug(
                "Refresh of the %s subscription %s refused: %s; trying again soon", sub.kind.value, sub.key, err
            )
        else:
            retry = False
        if self._subs.get(subscribe_id) is sub:
            self._schedule_refresh(sub, retry)

    # --- emitting --------------------------------------------------------------------------------------------

    def _emit_connection(self, connected: bool) -> None:
        for listener in list(self._connection_listeners):
            _call(listener, connected)

    def _emit_user(self, user: User) -> None:
        listeners = self._user_listeners
        if own := listeners.get(user.guid):
            _call_each(own, user)
        if anyone := listeners.get(None):
            _call_each(anyone, user)

    def _emit_queue(self, queue: Queue) -> None:
        listeners = self._queue_listeners
        if own := listeners.get(queue.guid):
            _call_each(own, queue)
        if anyone := listeners.get(None):
            _call_each(anyone, queue)

    def _emit_calls(self, events: list[CallEvent]) -> None:
        if not events or not self._call_listeners:
            return
        listeners = tuple(self._call_listeners)  # the same listeners for every event of the notify
        for event in events:
            _call_each(listeners, event)

    # --- lower-level subscriptions ---------------------------------------------------------------------------

    async def subscribe_user(self, guid: str) -> User:
        """Subscribe one more user (by its Lines guid) and return it once its first notify arrived."""
        guid = _normalize_guid(guid)
        entry = self.directory.get(guid) or LineEntry(LineKind.USER, guid, "", "")
        if self._user_filter is not None:
            self._user_filter.add(guid)
        sub = self._want_user(entry)
        await self._make(sub)
        return self.users[guid]

    async def subscribe_queue(self, guid: str | None = None, *, name: str | None = None) -> Queue:
        """Subscribe a queue by guid, or by name (SubscribeQueue.name) when its guid is not known.

        A queue subscribed by a name that Lines does not list is keyed by that name in :attr:`queues`.
        """
        if guid is None and not name:
            raise CommandValidationError("guid", "a queue guid or a name")
        if guid is None and name:
            guid = next((e.guid for e in self.directory.values() if e.kind is LineKind.QUEUE and e.name == name), None)
        if guid is not None:
            guid = _normalize_guid(guid)
            if self._queue_filter is not None:
                self._queue_filter.add(guid)
            sub = self._want_queue(guid, self.directory.get(guid))
            key = guid
        else:
            key = name or ""
            sub = self._want_queue("", None, key)
        await self._make(sub)
        return self.queues[key]

    async def subscribe_presence(self, presentities: Iterable[str], *, expires: int = 3600, flags: int = 0) -> int:
        """Subscribe the presence of ``presentities`` (numbers, SIP URIs or emails); return a handle.

        Notifies reach :meth:`add_presence_listener` callbacks with the handle. ``expires`` (the subscription
        timeout) must be 60..86400 seconds; the client refreshes it.
        """
        cmd.presence_timeout(expires)
        names = list(presentities)
        handle = self._next_presence
        self._next_presence += 1
        lrefs = dict(enumerate(names, start=1))

        def fill(subscribe: pb.Subscribe) -> None:
            subscribe.presence.flags = flags
            for lref, name in lrefs.items():
                entry = subscribe.presence.entry.add()
                entry.presentity = name
                entry.lref = lref

        sub = _Subscription(SubscriptionKind.PRESENCE, str(handle), expires, fill, flags, lrefs=lrefs)
        self._wanted[(SubscriptionKind.PRESENCE, str(handle))] = sub
        try:
            await self._make(sub)
        except BaseException:
            self._unwant(SubscriptionKind.PRESENCE, str(handle))
            raise
        return handle

    async def update_presence(self, handle: int, add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        """Add presentities to, or remove them from, a presence subscription (UpdatePresence)."""
        sub = self._wanted.get((SubscriptionKind.PRESENCE, str(handle)))
        if sub is None:
            raise CommandValidationError("handle", "a presence handle of subscribe_presence", handle)
        conn = self._require_connection()
        requestid = conn.new_request_id()
        message = pb.Message()
        command = message.subscribecmd
        command.requestid = requestid
        command.subscribe_id = sub.subscribe_id
        command.presence.SetInParent()
        by_name = {name: lref for lref, name in sub.lrefs.items()}
        for name in add:
            lref = max(sub.lrefs, default=0) + 1
            sub.lrefs[lref] = name
            entry = command.presence.add.add()
            entry.presentity = name
            entry.lref = lref
        for name in remove:
            if name in by_name:
                command.presence.remove.add().lref = by_name[name]
                sub.lrefs.pop(by_name[name], None)
        await conn.request(message, requestid, self.request_timeout)

    async def end_presence(self, handle: int) -> None:
        """End a presence subscription."""
        sub = self._unwant(SubscriptionKind.PRESENCE, str(handle))
        if sub is not None:
            await self._end_subscription(sub.subscribe_id)

    async def _make(self, sub: _Subscription) -> None:
        ready = await self._start(sub)
        try:
            await self._await_one(ready)
        except ResultError as err:
            self._subscription_failed(sub, err)
            raise

    # --- commands: helpers -----------------------------------------------------------------------------------

    def _user(self, user: User | str) -> tuple[User, _Subscription]:
        guid = user.guid if isinstance(user, User) else _normalize_guid(user)
        sub = self._wanted.get((SubscriptionKind.USER, guid))
        found = self.users.get(guid)
        if sub is None or found is None:
            raise CommandValidationError("user", "a subscribed user (User or guid)", guid)
        return found, sub

    def _queue(self, queue: Queue | str) -> tuple[Queue, _Subscription]:
        key = queue.guid if isinstance(queue, Queue) else queue
        if (SubscriptionKind.QUEUE, key) not in self._wanted:
            key = _normalize_guid(key)
        sub = self._wanted.get((SubscriptionKind.QUEUE, key))
        found = self.queues.get(key)
        if sub is None or found is None:
            raise CommandValidationError("queue", "a subscribed queue (Queue or guid)", key)
        return found, sub

    def _owner(self, owner: User | Queue | str) -> tuple[dict[int, Call], _Subscription]:
        if isinstance(owner, User):
            return owner.calls, self._user(owner)[1]
        if isinstance(owner, Queue):
            return owner.calls, self._queue(owner)[1]
        if owner in ("", Subsystem.PARK):
            sub = self._wanted.get((SubscriptionKind.PARK, ""))
            if sub is None:
                raise CommandValidationError("owner", "a subscribed park server", owner)
            return self._park_calls, sub
        guid = _normalize_guid(owner)
        if (SubscriptionKind.USER, guid) in self._wanted:
            return self._user(guid)[0].calls, self._user(guid)[1]
        if (SubscriptionKind.QUEUE, guid) in self._wanted or (SubscriptionKind.QUEUE, owner) in self._wanted:
            found, sub = self._queue(owner)
            return found.calls, sub
        raise CommandValidationError("owner", "a subscribed user or queue (or its guid), or the park server", owner)

    async def _user_command(
        self, user: User | str, feature: UserFeature | None, fill: Callable[[pb.UpdateUser], None]
    ) -> None:
        found, sub = self._user(user)
        if feature is not None and not found.can(feature):
            raise FeatureNotAvailableError(
                "user", f"allowed to change {feature.name} (featuresavailable {int(found.features):#x})", found.extn
            )
        conn = self._require_connection()
        requestid = conn.new_request_id()
        message, update = cmd.user_command(sub.subscribe_id, requestid)
        fill(update)
        await conn.request(message, requestid, self.request_timeout)

    async def _queue_command(self, queue: Queue | str, fill: Callable[[pb.UpdateQueue], None]) -> None:
        _found, sub = self._queue(queue)
        conn = self._require_connection()
        requestid = conn.new_request_id()
        message, update = cmd.queue_command(sub.subscribe_id, requestid)
        fill(update)
        await conn.request(message, requestid, self.request_timeout)

    async def _call_function(
        self,
        owner: User | Queue | str,
        call_id: int,
        action: str,
        needed: CallFeature | None,
        arg1: str | None = None,
        fill: Callable[[pb.UpdateCallControl, pb.CallFunction], None] | None = None,
    ) -> None:
        cmd.check_call_id(call_id)
        calls, sub = self._owner(owner)
        call = calls.get(call_id)
        if call is not None and needed is not None:
            cmd.check_feature(call.features, needed, action, call_id)
        conn = self._require_connection()
        requestid = conn.new_request_id()
        message, function = cmd.call_function(sub.subscribe_id, requestid, call_id, action, arg1)
        if fill is not None:
            fill(message.subscribecmd.callcontrol, function)
        await conn.request(message, requestid, self.request_timeout)

    def _new_reference(self) -> int:
        reference = self._next_reference
        self._next_reference = 1 if reference >= cmd.INT32_MAX else reference + 1
        return reference

    # --- commands: users -------------------------------------------------------------------------------------

    async def set_dnd(self, user: User | str, on: bool) -> None:
        """Set or clear Do Not Disturb (UpdateUserSAC)."""

        def fill(update: pb.UpdateUser) -> None:
            update.sac.set = 1 if on else 0

        await self._user_command(user, UserFeature.SAC, fill)

    async def set_absence(self, user: User | str, message: AbsenceMessage | None, text: str = "") -> None:
        """Set the absence text (``message`` prefix + ``text`` of at most 21 characters); ``None`` clears it."""
        cmd.check_text("text", text, 0, ABSENCE_TEXT_MAX)
        if message is not None and message not in AbsenceMessage.__members__.values():
            raise CommandValidationError("message", "an AbsenceMessage (1 to 11) or None", message)
        await self._user_command(user, UserFeature.ABSENCE, lambda update: cmd.set_absence(update, message, text))

    async def set_mobile_twinning(self, user: User | str, on: bool) -> None:
        """Set or clear mobile twinning (EC500)."""

        def fill(update: pb.UpdateUser) -> None:
            update.ec500.set = 1 if on else 0

        await self._user_command(user, UserFeature.EC500, fill)

    async def send_short_code(self, user: User | str, code: int, value: str = "") -> None:
        """Send one ShortCodeData (see const.ShortCode for the codes the spec lists)."""
        cmd.check_count("code", code)
        cmd.check_text("value", value, 0, cmd.SHORT_CODE_VALUE_MAX)
        await self._user_command(user, UserFeature.SHORTCODE, lambda update: cmd.add_short_code(update, code, value))

    async def set_voicemail_counts(self, user: User | str, new: int, old: int = 0, saved: int = 0) -> None:
        """Show mailbox counters on the user (short code 70 ";new,old,saved")."""
        value = cmd.voicemail_counts_value(new, old, saved)
        await self._user_command(
            user, UserFeature.SHORTCODE, lambda update: cmd.add_short_code(update, ShortCode.SET_MAILBOX, value)
        )

    async def login_extension(
        self,
        user: User | str,
        extn: str,
        *,
        password: str | None = None,
        teleworker_number: str | None = None,
        hold_line_open: bool = False,
        test_connection: int = 0,
    ) -> None:
        """Hot-desk the user to extension ``extn``, with the user's login code (``password``) where it has one.

        ``teleworker_number``: log in as a teleworker, whose phone IP Office calls at that number (with
        ``hold_line_open``: keeps the line to it open between calls; ``test_connection`` as IP Office takes it). The
        password is never part of an error or the trace.
        """
        cmd.check_extension("extn", extn)
        login = cmd.login_extension(extn, password, teleworker_number, hold_line_open, test_connection)
        await self._user_command(user, UserFeature.LOGIN, lambda update: update.loginextn.CopyFrom(login))

    async def set_app_presence(self, user: User | str, text: str) -> None:
        """Set the application presence string (at most 34 characters)."""
        cmd.check_text("text", text, 0, APP_PRESENCE_MAX)

        def fill(update: pb.UpdateUser) -> None:
            update.app.value = text

        await self._user_command(user, UserFeature.APP, fill)

    async def set_forward_unconditional(
        self, user: User | str, on: bool, number: str | None = None, to_voicemail: bool | None = None
    ) -> None:
        """Set forward unconditional on/off; ``number``/``to_voicemail`` default to the user's current ones."""
        if number is not None:
            cmd.check_target("number", number, 0, TRANSFER_TARGET_MAX)
        found, _sub = self._user(user)

        def fill(update: pb.UpdateUser) -> None:
            update.fwdu.set = bool(on)
            update.fwdu.fwdu_number = found.fwdu_number if number is None else number
            update.fwdu.fwdtovm = found.fwd_to_voicemail if to_voicemail is None else bool(to_voicemail)

        await self._user_command(found, UserFeature.FWDU, fill)

    async def set_forward_busy(self, user: User | str, on: bool, number: str | None = None) -> None:
        """Set forward on busy on/off (short codes 2/3), first setting its number when given (114)."""
        if number is not None:
            cmd.check_target("number", number, 1, TRANSFER_TARGET_MAX)
        await self._user_command(user, UserFeature.SHORTCODE, lambda update: cmd.forward_busy(update, on, number))

    async def set_forward_no_answer(self, user: User | str, on: bool) -> None:
        """Set forward on no answer on/off (short codes 4/5)."""
        code = ShortCode.SET_FWDNA if on else ShortCode.UNSET_FWDNA
        await self._user_command(user, UserFeature.SHORTCODE, lambda update: cmd.add_short_code(update, code))

    # --- commands: queues ------------------------------------------------------------------------------------

    async def set_queue_service_mode(self, queue: Queue | str, mode: ServiceMode) -> None:
        """Put the queue in service, night service or out of service."""
        probe = pb.UpdateQueue()
        cmd.service_mode(probe, mode)
        await self._queue_command(queue, lambda update: cmd.service_mode(update, mode))

    async def set_queue_voicemail(self, queue: Queue | str, on: bool) -> None:
        """Enable or disable the queue's voicemail."""

        def fill(update: pb.UpdateQueue) -> None:
            update.setvoicemail.enabled = bool(on)

        await self._queue_command(queue, fill)

    async def add_queue_member(self, queue: Queue | str, extn: str, disabled: bool = False) -> None:
        """Add an agent to the queue (or update its disabled flag)."""
        cmd.check_extension("extn", extn)

        def fill(update: pb.UpdateQueue) -> None:
            member = update.addmember.add()
            member.extn = extn
            member.disabled = bool(disabled)

        await self._queue_command(queue, fill)

    async def set_queue_member_enabled(self, queue: Queue | str, extn: str, enabled: bool) -> None:
        """Enable or disable an agent of the queue (addmember with its disabled flag)."""
        await self.add_queue_member(queue, extn, disabled=not enabled)

    async def remove_queue_member(self, queue: Queue | str, extn: str) -> None:
        """Remove an agent from the queue."""
        cmd.check_extension("extn", extn)

        def fill(update: pb.UpdateQueue) -> None:
            update.deletemember.add().extn = extn

        await self._queue_command(queue, fill)

    # --- commands: calls -------------------------------------------------------------------------------------

    async def make_call(
        self,
        user: User | str,
        target: str,
        *,
        call_type: MakeCallType | None = None,
        account_code: str | None = None,
        auth_code: str | None = None,
        tag: str | None = None,
        withhold_cli: bool = False,
        privacy: bool = False,
        allow_cli: bool = False,
        explicit_cli: str | None = None,
    ) -> int:
        """Make a call from ``user``; return the referencecallid it carries (Call.reference_id)."""
        probe = pb.UpdateCallControl()
        options: dict[str, Any] = {
            "account_code": account_code,
            "auth_code": auth_code,
            "tag": tag,
            "withhold_cli": withhold_cli,
            "privacy": privacy,
            "allow_cli": allow_cli,
            "explicit_cli": explicit_cli,
        }
        cmd.make_call(probe, target, call_type, **options)
        found, sub = self._user(user)
        if not found.can(UserFeature.MAKECALL):
            raise FeatureNotAvailableError("user", "allowed to make calls (MAKECALL)", found.extn)
        conn = self._require_connection()
        requestid = conn.new_request_id()
        reference = self._new_reference()
        message, update = cmd.call_command(sub.subscribe_id, requestid, reference_id=reference)
        update.makecall.CopyFrom(probe.makecall)
        await conn.request(message, requestid, self.request_timeout)
        return reference

    async def unpark_call(self, user: User | str, slot: str) -> int:
        """Unpark the call in ``slot`` to ``user``; return the referencecallid it will carry."""
        cmd.check_digits("slot", slot, 1, PARK_SLOT_MAX)
        _found, sub = self._user(user)
        conn = self._require_connection()
        requestid = conn.new_request_id()
        reference = self._new_reference()
        message, update = cmd.call_command(sub.subscribe_id, requestid, reference_id=reference)
        update.unparkcall.parkid = slot
        await conn.request(message, requestid, self.request_timeout)
        return reference

    async def answer_call(self, owner: User | Queue | str, call_id: int, device_hint: str | int | None = None) -> None:
        """Answer a ringing call (optionally on a device kind: "deskphoneany", "softphoneany", "mobileany")."""
        hint = cmd.device_hint(device_hint)

        def fill(update: pb.UpdateCallControl, _function: pb.CallFunction) -> None:
            if hint:
                update.devicehint = hint  # type: ignore[assignment]

        await self._call_function(owner, call_id, "AnswerCall", CallFeature.ANSWER, fill=fill)

    async def drop_call(self, owner: User | Queue | str, call_id: int) -> None:
        """Drop the call (a ringing user call goes to coverage)."""
        await self._call_function(owner, call_id, "DropCall", CallFeature.DROP)

    async def hold_call(self, owner: User | Queue | str, call_id: int) -> None:
        """Put the call on hold."""
        await self._call_function(owner, call_id, "HoldCall", CallFeature.HOLD)

    async def unhold_call(self, owner: User | Queue | str, call_id: int) -> None:
        """Take the call off hold."""
        await self._call_function(owner, call_id, "UnHoldCall", CallFeature.UNHOLD)

    async def blind_transfer(
        self,
        owner: User | Queue | str,
        call_id: int,
        target: str,
        transfer_type: TransferType | None = None,
        pin: str | None = None,
    ) -> None:
        """Blind-transfer the call to ``target`` (1-78 characters), or with ``transfer_type`` to its destination
        (a callflow name, a conference number with an optional ``pin``, an extension): the client composes the
        "/type/destination" form and refuses it given as ``target``."""
        arg1 = cmd.transfer_target(target, transfer_type, pin)
        await self._call_function(owner, call_id, "BlindTransfer", CallFeature.BLIND_TRANSFER, arg1)

    async def redirect_call(self, owner: User | Queue | str, call_id: int, target: str) -> None:
        """Redirect a ringing call to ``target`` (1-78 characters)."""
        cmd.check_target("target", target, 1, TRANSFER_TARGET_MAX)
        await self._call_function(owner, call_id, "Redirect", CallFeature.REDIRECT, target)

    async def dial_digits(self, owner: User | Queue | str, call_id: int, digits: str) -> None:
        """Overlap-dial ``digits`` (1-78 of 0-9 * #) on a call in dial tone or dialling."""
        cmd.check_digits("digits", digits, 1, TRANSFER_TARGET_MAX)
        await self._call_function(owner, call_id, "Dial", CallFeature.DIAL, digits)

    async def park_call(self, owner: User | Queue | str, call_id: int, slot: str) -> None:
        """Park the call in ``slot`` (1-9 of 0-9 * #)."""
        cmd.check_digits("slot", slot, 1, PARK_SLOT_MAX)
        await self._call_function(owner, call_id, "Park", CallFeature.PARK, slot)

    async def setup_transfer(self, owner: User | Queue | str, call_id: int, target: str | None = None) -> None:
        """Hold the call pending a transfer and make the assistant call (to ``target``, 0-78, or dial tone)."""
        if target is not None:
            cmd.check_target("target", target, 0, TRANSFER_TARGET_MAX)
        await self._call_function(owner, call_id, "SetupTransfer", CallFeature.SETUP_TRANSFER, target or None)

    async def complete_transfer(
        self, owner: User | Queue | str, call_id: int, other_call_id: int | None = None
    ) -> None:
        """Join the call with its related call (or ``other_call_id``) and leave."""
        others = () if other_call_id is None else (other_call_id,)

        def fill(_update: pb.UpdateCallControl, function: pb.CallFunction) -> None:
            cmd.call_instances(function, others, "other_call_id")

        for other in others:
            cmd.check_count("other_call_id", other, 1)
        await self._call_function(owner, call_id, "CompleteTransfer", CallFeature.COMPLETE_TRANSFER, fill=fill)

    async def setup_conference(self, owner: User | Queue | str, call_id: int, target: str | None = None) -> None:
        """Hold the call pending a conference and make the assistant call (to ``target``, 0-78, or dial tone)."""
        if target is not None:
            cmd.check_target("target", target, 0, TRANSFER_TARGET_MAX)
        await self._call_function(owner, call_id, "SetupConf", CallFeature.SETUP_TRANSFER, target or None)

    async def complete_conference(
        self, owner: User | Queue | str, call_id: int, other_call_ids: Iterable[int] = ()
    ) -> None:
        """Join the call with its related call (or ``other_call_ids``) into a conference."""
        others = tuple(other_call_ids)
        for other in others:
            cmd.check_count("other_call_ids", other, 1)

        def fill(_update: pb.UpdateCallControl, function: pb.CallFunction) -> None:
            cmd.call_instances(function, others, "other_call_ids")

        await self._call_function(owner, call_id, "CompleteConf", CallFeature.COMPLETE_CONF, fill=fill)

    async def add_to_conference(self, owner: User | Queue | str, call_id: int, target: str) -> None:
        """Invite ``target`` (1-78 characters) into the conference of the call."""
        cmd.check_target("target", target, 1, TRANSFER_TARGET_MAX)
        await self._call_function(owner, call_id, "AddToConf", CallFeature.ADD_TO_CONF, target)

    async def conference_member(
        self, owner: User | Queue | str, call_id: int, lref: int, action: cmd.MemberAction
    ) -> None:
        """Drop, mute or unmute the conference member ``lref``."""
        probe = pb.CallFunction()
        cmd.member_function(probe, lref, action)

        def fill(_update: pb.UpdateCallControl, function: pb.CallFunction) -> None:
            function.memberfunctiondata.CopyFrom(probe.memberfunctiondata)

        await self._call_function(owner, call_id, "MemberFunction", CallFeature.ADMIN_CONF_MEMBER, fill=fill)

    async def send_dtmf(self, owner: User | Queue | str, call_id: int, digits: str) -> None:
        """Send DTMF ``digits`` (1-32 of 0-9 * #) to the far end (GenerateDigits)."""
        cmd.check_digits("digits", digits, 1, DTMF_MAX)
        await self._call_function(owner, call_id, "GenerateDigits", CallFeature.GENERATE_DIGITS, digits)

    async def set_tag(self, owner: User | Queue | str, call_id: int, tag: str) -> None:
        """Set the call's tag (0-127 characters; empty clears it)."""
        cmd.check_text("tag", tag, 0, TAG_MAX)
        await self._call_function(owner, call_id, "SetTag", CallFeature.SET_TAG, tag)

    async def set_account_code(self, owner: User | Queue | str, call_id: int, code: str) -> None:
        """Set the call's account code (0-15 characters; empty clears it)."""
        cmd.check_text("code", code, 0, ACCOUNT_CODE_MAX)
        await self._call_function(owner, call_id, "SetAccountCode", CallFeature.SET_ACCOUNT_CODE, code)

    async def set_auth_code(self, owner: User | Queue | str, call_id: int, code: str) -> None:
        """Set the call's authorization code (0-15 characters; empty clears it)."""
        cmd.check_text("code", code, 0, AUTH_CODE_MAX)
        await self._call_function(owner, call_id, "SetAuthCode", CallFeature.SET_AUTH_CODE, code)

    async def set_recording(self, owner: User | Queue | str, call_id: int, on: bool) -> None:
        """Start or stop the user's personal recording of the call."""
        if on:
            await self._call_function(owner, call_id, "CallRecordingOn", CallFeature.CALL_RECORDING_ON)
        else:
            await self._call_function(owner, call_id, "CallRecordingOff", CallFeature.CALL_RECORDING_OFF)

    async def set_recording_paused(self, owner: User | Queue | str, call_id: int, paused: bool) -> None:
        """Pause or resume the system recording of the call (AgentRecordingControl)."""

        def fill(_update: pb.UpdateCallControl, function: pb.CallFunction) -> None:
            if paused:
                function.agentrecording.pause = True
            else:
                function.agentrecording.resume = True

        await self._call_function(
            owner, call_id, "AgentRecordingControl", CallFeature.RECORDING_PAUSE_CONTROL, fill=fill
        )

    async def set_privacy(self, owner: User | Queue | str, call_id: int, on: bool) -> None:
        """Make the call private (or not)."""
        if on:
            await self._call_function(owner, call_id, "PrivacyOn", CallFeature.PRIVACY_ON)
        else:
            await self._call_function(owner, call_id, "PrivacyOff", CallFeature.PRIVACY_OFF)

    async def set_mute(self, owner: User | Queue | str, call_id: int, on: bool) -> None:
        """Mute (or unmute) this party in a conference."""
        if on:
            await self._call_function(owner, call_id, "MuteOn", CallFeature.MUTE_ON)
        else:
            await self._call_function(owner, call_id, "MuteOff", CallFeature.MUTE_OFF)

    async def push_to_mobile(self, owner: User | Queue | str, call_id: int) -> None:
        """Push the call to the user's mobile twin (PushToEC500)."""
        await self._call_function(owner, call_id, "PushToEC500", CallFeature.PUSH_TO_EC500)

    async def force_clear(self, owner: User | Queue | str, call_id: int) -> None:
        """Clear the call all the way (ends a conference)."""
        await self._call_function(owner, call_id, "ForceClear", CallFeature.FORCE_CLEAR)

    async def set_priority(self, owner: User | Queue | str, call_id: int, priority: int) -> None:
        """Set a queue call's priority: 1 low, 2 medium, 3 high."""
        arg = cmd.priority_arg(priority)
        await self._call_function(owner, call_id, "SetPriority", CallFeature.SET_PRIORITY, arg)

    async def finish_call(self, owner: User | Queue | str, call_id: int, immediately: bool = False) -> None:
        """End the queue's association with the call (arg1 "1": report it on a new queue at once)."""
        await self._call_function(owner, call_id, "Finish", CallFeature.FINISH, "1" if immediately else None)

    # --- general commands ------------------------------------------------------------------------------------

    async def get_version(self) -> str | None:
        """The IP Office version ("IP Office 11.1.0.0 build 600"); None when the system does not answer, or when
        the schema in use has no version request (Avaya's Version 1.0 has none)."""
        conn = self._require_connection()
        if not HAS_VERSION_INFO:
            return None
        requestid = conn.new_request_id()
        message = pb.Message()
        message.generalcmd.requestid = requestid
        message.generalcmd.getversioninfo = True
        try:
            data = await conn.request_data(message, requestid, self.request_timeout)
        except RequestTimeoutError:
            return None
        if data is None or data.WhichOneof("payload") != "versioninfo":
            return None
        self.system.version = data.versioninfo
        return data.versioninfo

    async def get_account_codes(self) -> list[str]:
        """The account codes configured on IP Office (GeneralCmd GetFile "nasystem/AccountCode")."""
        conn = self._require_connection()
        requestid = conn.new_request_id()
        message = pb.Message()
        message.generalcmd.requestid = requestid
        message.generalcmd.getfile.cmdinst = requestid
        message.generalcmd.getfile.fname = ACCOUNT_CODE_FILE
        data = await conn.request_data(message, requestid, self.request_timeout)
        if data is None or data.WhichOneof("payload") != "getfile":
            return []
        if data.getfile.result:
            raise error_for_result(data.getfile.result, f"could not read {ACCOUNT_CODE_FILE}")
        text = data.getfile.payload.decode("utf-8", errors="replace")
        return [line.strip() for line in text.splitlines() if line.strip()]


def _some(items: list[str], shown: int = 5) -> str:
    """The first ``shown`` of ``items`` joined, and how many more."""
    text = "; ".join(items[:shown])
    return text if len(items) <= shown else f"{text}; and {len(items) - shown} more"


def _match_by_gcid(calls: dict[int, Call], unconfirmed: set[int], notify: pb.NotifyCallControl) -> None:
    """Find the calls of before a re-subscription (``unconfirmed``, by id in ``calls``) by gcid in ``notify``, when
    the fresh subscription numbers its calls afresh.

    Call ids are unique only within a subscription: a fresh one may number the same calls otherwise. It does when
    the notify gives the id of a call of before to a call with another gcid, and gives no call of before its own id
    (a system whose call ids are its own keeps them: there a call of before under another id with the same gcid is
    another appearance of that call, as a queue call that is queued again, and not moved). Then a call of before
    that the notify reports under another id (the same gcid) is moved to that id, so that it goes on (no NEW, no
    reconciled ENDED) under the id its commands now need; a call of before whose id the notify gives to another
    call is set aside under a negative key, still unconfirmed: it may be reported later, else the reconcile ends it.
    Calls without a gcid are matched by id, as before.
    """
    reported = {info.callid: info.gcid.hex().upper() for info in notify.callinfo if info.gcid}
    renumbered = False
    for key in unconfirmed:
        if (call := calls.get(key)) is None or not call.gcid or (gcid := reported.get(key)) is None:
            continue
        if gcid == call.gcid:
            return  # a call of before keeps its id: ids are not numbered afresh
        renumbered = True
    if not renumbered:
        return
    by_gcid: dict[str, int] = {}
    for key in unconfirmed:
        if (call := calls.get(key)) is not None and call.gcid:
            by_gcid.setdefault(call.gcid, key)
    moves: list[tuple[int, int]] = []
    for call_id, gcid in reported.items():
        old = by_gcid.pop(gcid, None)
        if old is not None and old != call_id:
            moves.append((old, call_id))
    if not moves:
        return
    moving = {old: calls.pop(old) for old, _ in moves}
    unconfirmed.difference_update(moving)
    for old, new in moves:
        call = moving[old]
        if new in calls:
            aside = min(0, min(calls, default=0)) - 1
            if new not in unconfirmed:  # a call confirmed at that id already: the notify contradicts itself
                calls[aside] = call
                unconfirmed.add(aside)
                continue
            calls[aside] = calls.pop(new)
            unconfirmed.discard(new)
            unconfirmed.add(aside)
        calls[new] = call
        unconfirmed.add(new)  # confirmed by the snapshot that follows


def _add[T](listeners: list[T], callback: T) -> Callable[[], None]:
    listeners.append(callback)

    def remove() -> None:
        with contextlib.suppress(ValueError):
            listeners.remove(callback)

    return remove


def _call(listener: Callable[..., object], *args: object) -> None:
    """Call a listener; an exception is logged and does not stop the others or the client."""
    try:
        result = listener(*args)
    except Exception:
        _LOGGER.exception("MTCTI-3 listener %r failed", listener)
        return
    if result is not None:
        _returned(listener, result)


def _call_each[T](listeners: Sequence[Callable[[T], object]], argument: T) -> None:
    """:func:`_call` of each listener (a copy of the list: one may remove itself) with one argument, inlined."""
    for listener in tuple(listeners):
        try:
            result = listener(argument)
        except Exception:
            _LOGGER.exception("MTCTI-3 listener %r failed", listener)
            continue
        if result is not None:
            _returned(listener, result)


def _returned(listener: Callable[..., object], result: object) -> None:
    """A listener returned something: an awaitable is a mistake (closed, logged); anything else is ignored."""
    if isinstance(result, Awaitable):  # pragma: no cover - listeners are plain functions
        _LOGGER.warning("MTCTI-3 listener %r returned an awaitable; listeners must be plain functions", listener)
        if asyncio.iscoroutine(result):
            result.close()
