"""A resilient pair of IP Offices, live-live (the spec's "Resilient solutions").

One connection to each system (two of the ten MTCTI-3 connections each allows). Either system renders the same
users and accepts commands for them, so users are served from the primary while it is up and from the secondary
while it is not; each system sees and controls only the calls queueing on it, so queue calls are merged from both
and every call command goes to the system that holds the call.

Call events of users come from the system that serves users, deduplicated by gcid: a user's call seen on both systems is
one call, so a switch of systems reports only what really changed (a NEW for a call only the new system has, an
ENDED with ``reconciled=True`` for a call only the old one had). The switch back to the primary waits until the
primary's client has reconciled its calls after reconnecting, so that its stale calls never show.

Queue calls are each system's own. While a system is down nobody can see or control its queue calls: they end
(``reconciled=True``) when it goes, and those still there when it is back are reported NEW once its client has
reconciled. :attr:`PairClient.queues` shows each queue with the calls of both connected systems.

Call ids are unique only within a subscription (the description says no more), so the two systems may report the
same id for two calls of one queue. The pair keys every queue call by system, queue and id; the calls it shows
(events, :attr:`PairClient.queues`) keep IP Office's id unless the other system's call of that queue has it already,
and then get an id of the pair's own (from :data:`PAIR_CALL_IDS`). :meth:`PairClient.command_target` gives the
system and the id to command a call by. Every call event of the pair is a :class:`PairCallEvent` that says which
system reported it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Final

from .calls import end_events
from .client import (
    CallListener,
    ConnectionListener,
    DirectoryListener,
    IPOfficeClient,
    ParkListener,
    QueueListener,
    UserListener,
)
from .errors import MTCTI3Error
from .models import Call, CallEvent, CallEventType, LineEntry, Queue, SystemInfo, User

_LOGGER = logging.getLogger(__name__)

PRIMARY: Final = "primary"
SECONDARY: Final = "secondary"
FAILBACK_MARGIN: Final = 0.5  # seconds after the primary's reconcile delay before users are served from it again
RETRY_CAP: Final = 60.0
PAIR_CALL_IDS: Final = 1_000_000_000
"""The first id the pair gives a queue call whose IP Office id the other system's call of that queue has already."""

type SystemFailureListener = Callable[[str, MTCTI3Error], None]


def call_key(call: Call) -> str:
    """The identity of a user's call across both systems: the user and the gcid (the call id when it has none)."""
    return f"{call.owner_guid}/{call.gcid or call.call_id}"


def queue_call_key(system: str, call: Call) -> str:
    """The identity of a queue call: each system's queue calls are its own."""
    return f"{system}:{call.owner_guid}/{call.call_id}"


@dataclass(slots=True, frozen=True)
class PairCallEvent(CallEvent):
    """A call event of a resilient pair: ``system`` is the IP Office that reported it ("primary" or "secondary")."""

    system: str = ""


def _add[T](items: list[T], item: T) -> Callable[[], None]:
    items.append(item)

    def remove() -> None:
        if item in items:
            items.remove(item)

    return remove


class PairClient:
    """Two :class:`IPOfficeClient` of a primary and a secondary IP Office, seen as one system."""

    def __init__(self, primary: IPOfficeClient, secondary: IPOfficeClient) -> None:
        """Compose the two clients (nothing connects before :meth:`connect`)."""
        self.primary = primary
        self.secondary = secondary
        self.failback_delay = primary.reconcile_delay + FAILBACK_MARGIN
        self._active = primary
        self._connected = False
        self._live: dict[str, Call] = {}  # users' calls reported and not ended, by call_key
        self._live_queue_calls: dict[str, Call] = {}  # queue calls reported and not ended, by queue_call_key
        self._queues: dict[str, Queue] = {}  # the serving system's queues with the calls of both
        self._last_ended = ""  # the call whose ENDED was reported last (its MISSED follows)
        self._connection_listeners: list[ConnectionListener] = []
        self._user_listeners: list[tuple[UserListener, str | None]] = []
        self._queue_listeners: list[tuple[QueueListener, str | None]] = []
        self._call_listeners: list[CallListener] = []
        self._park_listeners: list[ParkListener] = []
        self._directory_listeners: list[DirectoryListener] = []
        self._failure_listeners: list[SystemFailureListener] = []
        self._system_listeners: list[Callable[[], None]] = []
        self._unsubs: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._resyncs: dict[str, asyncio.TimerHandle] = {}
        # Queue calls, keyed by system, queue and IP Office id: the id the pair shows each by, and back.
        self._shown_ids: dict[tuple[str, str, int], int] = {}
        self._system_ids: dict[tuple[str, int], tuple[str, int]] = {}  # (queue, shown id) -> (system, its id)
        self._next_pair_id = PAIR_CALL_IDS
        for client in (primary, secondary):
            self._unsubs += [
                client.add_connection_listener(partial(self._on_connection, client)),
                client.add_failure_listener(partial(self._on_failure, client)),
                client.add_directory_listener(partial(self._on_directory, client)),
                client.add_user_listener(partial(self._on_user, client)),
                client.add_queue_listener(partial(self._on_queue, client)),
                client.add_call_listener(partial(self._on_call, client)),
                client.add_park_listener(partial(self._on_park, client)),
            ]

    # --- life cycle --------------------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect to both; succeed when either answers (the other is retried in the background).

        When neither connects, the primary's error is raised.
        """
        results = await asyncio.gather(self.primary.connect(), self.secondary.connect(), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, MTCTI3Error):
                await self.disconnect()
                raise result
        failed = [client for client, result in zip((self.primary, self.secondary), results, strict=True) if result]
        if len(failed) == 2:
            await self.disconnect()
            error = results[0]
            assert isinstance(error, BaseException)
            raise error
        self._active = self.primary if self.primary.connected else self.secondary
        self._connected = True
        self._live = {call_key(call): call for call in self._user_calls(self._active)}
        for client in (self.primary, self.secondary):
            if client.connected:
                self._live_queue_calls.update(self._queue_calls_of(client))
        self._merge_queues()
        for client, result in zip((self.primary, self.secondary), results, strict=True):
            if isinstance(result, MTCTI3Error):
                _LOGGER.warning("IP Office %s: %s; retrying in the background", self.name_of(client), result)
                self._on_failure(client, result)
                task = asyncio.get_running_loop().create_task(self._retry(client), name="mtcti3-pair-retry")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _retry(self, client: IPOfficeClient) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(min(RETRY_CAP, client.backoff(attempt)))
            attempt += 1
            try:
                await client.connect()
            except MTCTI3Error as err:
                _LOGGER.debug("IP Office %s still unreachable: %s", self.name_of(client), err)
                self._on_failure(client, err)
                continue
            self._on_connection(client, True)
            return

    async def disconnect(self) -> None:
        """Disconnect from both and stop every task."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        for handle in self._resyncs.values():
            handle.cancel()
        self._resyncs.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(self.primary.disconnect(), self.secondary.disconnect())

    # --- what the pair shows -----------------------------------------------------------------------------------

    def name_of(self, client: IPOfficeClient) -> str:
        """The name of a client: primary or secondary."""
        return PRIMARY if client is self.primary else SECONDARY

    @property
    def active(self) -> IPOfficeClient:
        """The client that serves users, the directory and the park server."""
        return self._active

    @property
    def connected(self) -> bool:
        """Whether either system is connected."""
        return self.primary.connected or self.secondary.connected

    @property
    def system(self) -> SystemInfo:
        """The system that serves users."""
        return self._active.system

    @property
    def directory(self) -> dict[str, LineEntry]:
        """Every user and queue Lines lists, as the serving system reports them."""
        return self._active.directory

    @property
    def users(self) -> dict[str, User]:
        """The users, from the system that serves them."""
        return self._active.users

    @property
    def queues(self) -> dict[str, Queue]:
        """The queues: their configuration from the system that serves users, their calls from both systems."""
        return self._queues

    @property
    def parked_calls(self) -> dict[str, Call]:
        """The parked calls of the serving system."""
        return self._active.parked_calls

    def queue_calls(self, guid: str) -> list[tuple[str, Call]]:
        """The calls queueing on a queue, on each system that shows them (connected, reconciled), tagged by system
        (each with the id the pair shows it by)."""
        return [
            (self.name_of(client), self._shown_call(self.name_of(client), call))
            for client in (self.primary, self.secondary)
            if self._shows_calls(client) and (queue := client.queues.get(guid)) is not None
            for call in queue.calls.values()
        ]

    def command_target(self, owner: str, call_id: int) -> tuple[IPOfficeClient, int]:
        """The client of the system that holds the call of ``owner`` (user or queue guid) that the pair shows with
        ``call_id``, and that call's id on that system: what to send a call command with."""
        target = self._system_ids.get((owner, call_id))
        if target is not None:
            system, system_id = target
            client = self.primary if system == PRIMARY else self.secondary
            if client.connected:
                return client, system_id
        return self.client_for_call(owner, call_id), call_id

    def client_for_call(self, owner: str, call_id: int) -> IPOfficeClient:
        """The client of the system that holds the call of ``owner`` (user or queue guid) with ``call_id``.

        A queue call is found by the id the pair shows it by (each system's queue calls are its own; see
        :meth:`command_target` for the id to send). Users' calls are looked up on the serving system first; a call
        that neither connected system holds goes to the serving one, which answers with its error.
        """
        if (target := self._system_ids.get((owner, call_id))) is not None:
            client = self.primary if target[0] == PRIMARY else self.secondary
            if client.connected:
                return client
        for client in (self._active, self.secondary if self._active is self.primary else self.primary):
            if not client.connected:
                continue
            holder = client.users.get(owner)
            if holder is not None and call_id in holder.calls:
                return client
        return self._active

    # --- listeners ---------------------------------------------------------------------------------------------

    def add_connection_listener(self, callback: ConnectionListener) -> Callable[[], None]:
        """``callback(connected)`` when the pair goes from "either up" to "both down" and back."""
        return _add(self._connection_listeners, callback)

    def add_user_listener(self, callback: UserListener, guid: str | None = None) -> Callable[[], None]:
        """``callback(user)`` on a change of a user of the serving system (and for every user on a switch)."""
        return _add(self._user_listeners, (callback, guid))

    def add_queue_listener(self, callback: QueueListener, guid: str | None = None) -> Callable[[], None]:
        """``callback(queue)`` on a change of a queue on either system (its calls differ on each)."""
        return _add(self._queue_listeners, (callback, guid))

    def add_call_listener(self, callback: CallListener) -> Callable[[], None]:
        """``callback(event)``: users' calls once (by gcid), queue calls of both systems."""
        return _add(self._call_listeners, callback)

    def add_park_listener(self, callback: ParkListener) -> Callable[[], None]:
        """``callback(parked)`` for the serving system's park server."""
        return _add(self._park_listeners, callback)

    def add_directory_listener(self, callback: DirectoryListener) -> Callable[[], None]:
        """``callback(added, removed, changed)`` when the serving system's Lines change."""
        return _add(self._directory_listeners, callback)

    def add_failure_listener(self, callback: SystemFailureListener) -> Callable[[], None]:
        """``callback(system, error)`` when connecting to "primary" or "secondary" failed (it is retried)."""
        return _add(self._failure_listeners, callback)

    def add_system_listener(self, callback: Callable[[], None]) -> Callable[[], None]:
        """``callback()`` when either system connects or disconnects, or users are served from the other system."""
        return _add(self._system_listeners, callback)

    # --- from the two clients ----------------------------------------------------------------------------------

    def _user_calls(self, client: IPOfficeClient) -> list[Call]:
        return [call for user in client.users.values() for call in user.calls.values()]

    def _queue_calls_of(self, client: IPOfficeClient) -> dict[str, Call]:
        name = self.name_of(client)
        return {queue_call_key(name, call): call for queue in client.queues.values() for call in queue.calls.values()}

    def _other(self, client: IPOfficeClient) -> IPOfficeClient:
        return self.secondary if client is self.primary else self.primary

    def _shows_calls(self, client: IPOfficeClient) -> bool:
        """Whether the queue calls of ``client`` are shown: it is connected and has reconciled its calls."""
        return client.connected and self.name_of(client) not in self._resyncs

    def _shown_call(self, system: str, call: Call) -> Call:
        """A queue call of ``system`` as the pair shows it: its IP Office id, unless the other system's call of that
        queue is shown with it already (then an id of the pair's own, kept while the system holds the call)."""
        key = (system, call.owner_guid, call.call_id)
        shown = self._shown_ids.get(key)
        if shown is None:
            shown = call.call_id
            while (call.owner_guid, shown) in self._system_ids:
                shown = self._next_pair_id
                self._next_pair_id += 1
            self._shown_ids[key] = shown
            self._system_ids[(call.owner_guid, shown)] = (system, call.call_id)
        return call if shown == call.call_id else replace(call, call_id=shown)

    def _forget_ids(self, guid: str) -> None:
        """Forget the shown ids of the calls of queue ``guid`` that their system no longer holds."""
        for key in [key for key in self._shown_ids if key[1] == guid]:
            system, _, system_id = key
            queue = (self.primary if system == PRIMARY else self.secondary).queues.get(guid)
            if queue is None or system_id not in queue.calls:
                self._system_ids.pop((guid, self._shown_ids.pop(key)), None)

    def _merge_queue(self, guid: str) -> Queue | None:
        """Rebuild the shown queue ``guid``: the serving system's, with the calls of each system that shows them
        (by the id the pair shows each by: the two systems' ids may be the same)."""
        self._forget_ids(guid)
        base = self._active.queues.get(guid)
        if base is None:
            self._queues.pop(guid, None)
            return None
        calls: dict[int, Call] = {}
        for client in (self._active, self._other(self._active)):
            if self._shows_calls(client) and (queue := client.queues.get(guid)) is not None:
                name = self.name_of(client)
                for call in queue.calls.values():
                    shown = self._shown_call(name, call)
                    calls[shown.call_id] = shown
        if len(calls) != len(base.calls) or any(base.calls.get(key) is not call for key, call in calls.items()):
            base = replace(base, calls=calls)
        self._queues[guid] = base
        return base

    def _merge_queues(self) -> None:
        self._queues = {}
        for guid in list(self._active.queues):
            self._merge_queue(guid)

    def _on_connection(self, client: IPOfficeClient, up: bool) -> None:
        name = self.name_of(client)
        if (resync := self._resyncs.pop(name, None)) is not None:
            resync.cancel()
        if up:
            # Once the client has reconciled its calls: its surviving queue calls show again, and users fail back
            # to the primary (the secondary serves meanwhile).
            self._resyncs[name] = asyncio.get_running_loop().call_later(
                self.failback_delay, partial(self._reconciled, client)
            )
            if not self._active.connected:
                self._switch(client)
        else:
            self._end_queue_calls(client)
            if client is self._active and self._other(client).connected:
                self._switch(self._other(client))
        self._merge_queues()
        for queue in list(self._queues.values()):
            self._emit_queue(queue)
        connected = self.connected
        if connected != self._connected:
            self._connected = connected
            for listener in list(self._connection_listeners):
                listener(connected)
        self._emit_system()

    def _end_queue_calls(self, client: IPOfficeClient) -> None:
        """A system is gone: the queue calls reported from it end (nobody can see or control them now)."""
        prefix = self.name_of(client) + ":"
        now = time.time()
        for key, call in list(self._live_queue_calls.items()):
            if key.startswith(prefix):
                del self._live_queue_calls[key]
                for event in end_events(self._shown_call(self.name_of(client), call), now, reconciled=True):
                    self._emit_call(event, client)

    def _reconciled(self, client: IPOfficeClient) -> None:
        """The client of a system that came back has reconciled: show its queue calls, serve users from it."""
        self._resyncs.pop(self.name_of(client), None)
        if not client.connected:
            return
        now = time.time()
        name = self.name_of(client)
        for key, call in self._queue_calls_of(client).items():
            if key not in self._live_queue_calls:
                self._live_queue_calls[key] = call
                self._emit_call(CallEvent(CallEventType.NEW, self._shown_call(name, call), now), client)
        if client is self.primary and self._active is not self.primary:
            self._switch(self.primary)
        self._merge_queues()
        for queue in list(self._queues.values()):
            self._emit_queue(queue)
        self._emit_system()

    def _emit_system(self) -> None:
        for listener in list(self._system_listeners):
            listener()

    def _on_failure(self, client: IPOfficeClient, error: MTCTI3Error) -> None:
        for listener in list(self._failure_listeners):
            listener(self.name_of(client), error)

    def _on_directory(
        self, client: IPOfficeClient, added: list[LineEntry], removed: list[LineEntry], changed: list[LineEntry]
    ) -> None:
        if client is not self._active:
            return
        for line in removed:
            self._queues.pop(line.guid, None)
        for listener in list(self._directory_listeners):
            listener(added, removed, changed)

    def _switch(self, client: IPOfficeClient) -> None:
        """Serve users from ``client``: report only the calls that differ, then refresh every user entity."""
        _LOGGER.info("Users now served by the %s IP Office", self.name_of(client))
        old = self._active
        self._active = client
        now = time.time()
        current = {call_key(call): call for call in self._user_calls(client)}
        events: list[tuple[CallEvent, IPOfficeClient]] = []
        for key, call in list(self._live.items()):
            if key not in current:
                del self._live[key]
                events.extend((event, old) for event in end_events(call, now, reconciled=True))
        for key, call in current.items():
            if key not in self._live:
                self._live[key] = call
                events.append((CallEvent(CallEventType.NEW, call, now), client))
        for event, system in events:
            self._emit_call(event, system)
        for user in list(client.users.values()):
            self._emit_user(user)

    def _on_user(self, client: IPOfficeClient, user: User) -> None:
        if client is self._active:
            self._emit_user(user)

    def _emit_user(self, user: User) -> None:
        for callback, guid in list(self._user_listeners):
            if guid is None or guid == user.guid:
                callback(user)

    def _on_queue(self, client: IPOfficeClient, queue: Queue) -> None:
        if client is not self._active and not client.connected:
            return
        if (shown := self._merge_queue(queue.guid)) is not None:
            self._emit_queue(shown)

    def _emit_queue(self, queue: Queue) -> None:
        for callback, guid in list(self._queue_listeners):
            if guid is None or guid == queue.guid:
                callback(queue)

    def _on_call(self, client: IPOfficeClient, event: CallEvent) -> None:
        call = event.call
        if call.owner_guid in client.queues:
            if not self._shows_calls(client):
                # Connecting or reconciling: what it reports now is reported once its calls show (_reconciled).
                # (A client that reconciled before a subscription's call snapshot came reports a call that went on
                # as NEW: admitted now, it would be in progress for the pair's listeners but shown nowhere.)
                return
            name = self.name_of(client)
            admitted = self._admit(self._live_queue_calls, queue_call_key(name, call), event)
            if admitted and (shown := self._shown_call(name, call)) is not call:
                event = replace(event, call=shown)
        elif client is not self._active:
            return
        elif call.owner_guid in client.users:
            admitted = self._admit(self._live, call_key(call), event)
        else:
            admitted = True
        if admitted:
            self._emit_call(event, client)

    def _admit(self, live: dict[str, Call], key: str, event: CallEvent) -> bool:
        """Whether to report ``event``: once per call and moment, NEW and ENDED alternating (``live`` kept)."""
        if event.type is CallEventType.NEW:
            if key in live:
                return False
            live[key] = event.call
        elif event.type in (CallEventType.MISSED, CallEventType.ABANDONED):
            if key != self._last_ended:
                return False
            self._last_ended = ""
        elif key not in live:
            return False  # already reported ended (or never reported)
        elif event.type is CallEventType.ENDED:
            del live[key]
            self._last_ended = key
        else:
            live[key] = event.call
        return True

    def _emit_call(self, event: CallEvent, client: IPOfficeClient) -> None:
        """Tell the call listeners ``event`` as a :class:`PairCallEvent` of the system of ``client``."""
        shown = PairCallEvent(
            event.type,
            event.call,
            event.timestamp,
            event.previous_state,
            event.reason,
            event.this_end_dropped,
            event.description,
            event.reconciled,
            self.name_of(client),
        )
        for listener in list(self._call_listeners):
            listener(shown)

    def _on_park(self, client: IPOfficeClient, parked: dict[str, Call]) -> None:
        if client is self._active:
            for listener in list(self._park_listeners):
                listener(parked)
