"""A seeded fault campaign against the running integration, checked against the simulator's truth.

One cycle: some telephony traffic on the simulated IP Office, one fault (chosen and timed by the seeded random
generator), recovery (the fault is lifted; the integration must reconnect, re-subscribe and reconcile on its own),
then the invariants:

- every call the client reported (NEW) produced exactly one ENDED, or is still live on the IP Office and shown live
  with the IP Office's state; no call is live in the integration that the IP Office no longer has;
- Home Assistant's ``ipoffice_call`` events: at most one ``ended`` per call, and one for every reported call that is
  gone;
- the entities (active calls, do not disturb, voicemail, calls waiting, system active calls) show the truth and are
  available;
- no log record at ERROR or above (an unhandled exception, "Task exception was never retrieved", ...).

The campaign is deterministic given its seed except for timing; a failing cycle names the seed and the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.ipoffice.const import DOMAIN, EVENT_CALL
from custom_components.ipoffice.coordinator import IPOfficeCoordinator
from custom_components.ipoffice.mtcti3 import (
    CallEvent,
    CallEventType,
    CallState,
    IPOfficeClient,
    MTCTI3Error,
    NotConnectedError,
    RequestTimeoutError,
    ResultCode,
    ResultError,
)
from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER, FrameError, Subprotocol, decode_frame, encode_message
from custom_components.ipoffice.mtcti3.const import RINGING_STATES
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator
from simulator.faults import MALFORMED_KINDS
from simulator.model import CallError

_LOGGER = logging.getLogger(__name__)

LIVE_CALLS_MAX = 8
FAKE_CALL_BASE = 50_000_000
# Codes a real IP Office answers for a user/queue that exists would never be "not found": a spurious one makes the
# client forget the user (as it must when the user is really gone), which is not a state to compare with the truth.
_GONE = {ResultCode.MTCTISESS_NOTFOUND, ResultCode.MTCTISESS_USERNOTFOUND}
RESULT_CODES = [int(code) for code in ResultCode if code and code not in _GONE]
REQUEST_KINDS = [None, "subscribe", "subscribecmd", "generalcmd", "lines", "user", "queue", "parkserver"]


class InvariantError(AssertionError):
    """An invariant does not hold after a fault and its recovery."""


@dataclass
class CampaignReport:
    """What a campaign did."""

    seed: int
    cycles: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    traffic_ops: int = 0
    calls_reported: int = 0
    calls_ended: int = 0
    reconciled_ends: int = 0
    reconnects: int = 0
    resubscribes: int = 0
    bad_frames: int = 0
    unknown_values: int = 0
    command_errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    memory_growth: int | None = None
    memory_top: list[str] = field(default_factory=list)
    connections_alive: int = 0

    def summary(self) -> str:
        """One paragraph of figures."""
        kinds = ", ".join(f"{name} {count}" for name, count in sorted(self.faults.items()))
        errors = ", ".join(f"{name} {count}" for name, count in sorted(self.command_errors.items())) or "none"
        memory = "not measured" if self.memory_growth is None else f"{self.memory_growth / 1024:.1f} KiB"
        return (
            f"seed {self.seed}: {sum(self.faults.values())} faults in {self.cycles} cycles, {self.elapsed:.1f} s "
            f"({self.elapsed / max(self.cycles, 1) * 1000:.0f} ms/cycle)\n"
            f"  faults: {kinds}\n"
            f"  traffic operations {self.traffic_ops}; calls reported {self.calls_reported}, ended "
            f"{self.calls_ended} ({self.reconciled_ends} reconciled); reconnects {self.reconnects}, "
            f"re-subscriptions {self.resubscribes}, bad frames skipped {self.bad_frames}, unknown values "
            f"{self.unknown_values}\n"
            f"  command errors seen by the caller: {errors}\n"
            f"  integration memory growth after warm-up: {memory}; connection objects alive {self.connections_alive}"
            + "".join(f"\n    {line}" for line in self.memory_top)
        )


type CallKey = tuple[str, int, str]  # owner guid, call id, gcid


class Campaign:
    """Drives faults into ``sim`` while the config entry's coordinator runs; checks invariants after each."""

    def __init__(
        self,
        hass: HomeAssistant,
        sim: Simulator,
        coordinator: IPOfficeCoordinator,
        *,
        seed: int,
        system_id: str,
        error_records: Callable[[], list[logging.LogRecord]],
        clear_records: Callable[[], None],
    ) -> None:
        self.hass = hass
        self.sim = sim
        self.coordinator = coordinator
        self.client: IPOfficeClient = coordinator.client
        self.rng = random.Random(seed)
        self.report = CampaignReport(seed=seed)
        self.system_id = system_id
        self._error_records = error_records
        self._clear_records = clear_records  # captured records keep their arguments (exceptions, frames) alive
        self._fake_ids = itertools.count(FAKE_CALL_BASE)
        self._generation = 0
        self.started: Counter[CallKey] = Counter()
        self.ended: Counter[CallKey] = Counter()
        self.bus_started: Counter[tuple[str, int, str]] = Counter()
        self.bus_ended: Counter[tuple[str, int, str]] = Counter()
        self.history: dict[CallKey, list[str]] = {}  # what happened to each call, for a failure message
        self._fault = ""
        self._unsubs = [
            self.client.add_call_listener(self._on_call),
            hass.bus.async_listen(EVENT_CALL, self._on_bus),
        ]
        self.users = {guid: user.extn for guid, user in self.client.users.items()}
        self.queues = {guid: queue.extn for guid, queue in self.client.queues.items()}
        registry = er.async_get(hass)

        def entity(platform: str, unique_id: str) -> str:
            found = registry.async_get_entity_id(platform, DOMAIN, unique_id)
            assert found is not None, unique_id
            return found

        self.entities: dict[str, dict[str, str]] = {
            guid: {
                "active_calls": entity("sensor", f"{guid}_active_calls"),
                "dnd": entity("switch", f"{guid}_do_not_disturb"),
                "voicemail": entity("sensor", f"{guid}_voicemail_new"),
            }
            for guid in self.users
        }
        self.entities.update(
            {guid: {"calls_waiting": entity("sensor", f"{guid}_calls_waiting")} for guid in self.queues}
        )
        self.system_active = entity("sensor", f"{system_id}_active_calls")
        self.faults: list[tuple[str, float, Callable[[], Awaitable[None]]]] = [
            ("drop_mid_notify", 10, self.fault_drop_mid_notify),
            ("drop_between_request_and_response", 8, self.fault_drop_in_request),
            ("drop_during_startup", 6, self.fault_drop_during_startup),
            ("stall", 2, self.fault_stall),
            ("malformed_frame", 10, self.fault_malformed),
            ("truncated_frame", 8, self.fault_truncated),
            ("unknown_payload_and_values", 8, self.fault_unknown_values),
            ("subscribe_terminated", 10, self.fault_terminated),
            ("error_code_on_command", 8, self.fault_error_on_command),
            ("error_code_on_subscribe", 6, self.fault_error_on_subscribe),
            ("auth_refused_then_recovers", 4, self.fault_auth),
            ("service_refused_then_recovers", 2, self.fault_service),
            ("connection_limit_reached", 3, self.fault_connection_limit),
            ("ip_office_restart_new_call_ids", 4, self.fault_restart),
        ]

    def close(self) -> None:
        """Remove the campaign's listeners."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    # --- ledgers ----------------------------------------------------------------------------------------------

    def _on_call(self, event: CallEvent) -> None:
        call = event.call
        key = (call.owner_guid, call.call_id, call.gcid)
        self.history.setdefault(key, []).append(
            f"{self.report.cycles}:{self._fault}:{event.type.name}{'(reconciled)' if event.reconciled else ''}"
            f":{call.state.name}"
        )
        if event.type is CallEventType.NEW:
            self.started[key] += 1
            self.report.calls_reported += 1
        elif event.type is CallEventType.ENDED:
            self.ended[key] += 1
            self.report.calls_ended += 1
            self.report.reconciled_ends += event.reconciled

    def _on_bus(self, event: Event[dict[str, Any]]) -> None:
        data = event.data
        key = (str(data["extension"]), int(data["call_id"]), str(data["gcid"] or ""))
        if data["type"] in ("incoming", "outgoing", "queued"):
            self.bus_started[key] += 1
        elif data["type"] == "ended":
            self.bus_ended[key] += 1

    # --- running ----------------------------------------------------------------------------------------------

    async def run(self, faults: int, *, warmup: int = 0, measure_memory: bool = False) -> CampaignReport:
        """Run ``faults`` fault cycles (after ``warmup`` unmeasured ones)."""
        import tracemalloc

        started = time.monotonic()
        baseline = 0
        first: Any = None
        try:
            for cycle in range(warmup + faults):
                if measure_memory and cycle == warmup:
                    gc.collect()
                    tracemalloc.start(5)
                    first = tracemalloc.take_snapshot()
                    baseline = self._integration_memory(first)
                await self.cycle(cycle)
        except BaseException:
            # Never leave allocation tracing on for the tests that run after a failed campaign: it slows them ~100x.
            tracemalloc.stop()
            raise
        if measure_memory and tracemalloc.is_tracing():
            await self.settle()
            gc.collect()
            last = tracemalloc.take_snapshot()
            self.report.memory_growth = self._integration_memory(last) - baseline
            tracemalloc.stop()
            code = [tracemalloc.Filter(True, "*custom_components*ipoffice*")]
            top = last.filter_traces(code).compare_to(first.filter_traces(code), "traceback")[:8]
            from custom_components.ipoffice.mtcti3.connection import Connection

            live = [obj for obj in gc.get_objects() if isinstance(obj, Connection)]
            self.report.connections_alive = len(live)
            self.report.memory_top = [f"{stat.size_diff:+d} B {stat.traceback.format()[-2:]}" for stat in top]
        stats = self.client.stats
        self.report.reconnects = stats.reconnects
        self.report.resubscribes = stats.resubscribes
        self.report.bad_frames = stats.bad_frames
        self.report.unknown_values = stats.unknown_values
        self.report.elapsed = time.monotonic() - started
        return self.report

    @staticmethod
    def _integration_memory(snapshot: Any) -> int:
        import tracemalloc

        filtered = snapshot.filter_traces([tracemalloc.Filter(True, "*custom_components*ipoffice*")])
        return sum(stat.size for stat in filtered.statistics("filename"))

    async def cycle(self, number: int) -> None:
        """Traffic, one fault, recovery, invariants."""
        self.report.cycles += 1
        for _ in range(self.rng.randint(0, 3)):
            self.traffic()
        name, _, fault = self.rng.choices(self.faults, weights=[w for _, w, _ in self.faults])[0]
        self.report.faults[name] += 1
        self._fault = name
        try:
            await fault()
            await self.recover()
            self.check()
        except InvariantError as err:
            raise InvariantError(
                f"cycle {number} fault {name} (IPOFFICE_SEED={self.report.seed}): {err}\n{self.report.summary()}"
            ) from None

    # --- traffic ----------------------------------------------------------------------------------------------

    def traffic(self) -> None:
        """One random change on the IP Office: a call starts, moves on or ends, or a user setting changes."""
        sim, rng = self.sim, self.rng
        live = sim.active_calls
        users = list(self.users.values())
        queues = list(self.queues.values())
        ops: list[Callable[[], object]] = [
            lambda: sim.set_mailbox(rng.choice(users), new=rng.randint(0, 3)),
            lambda: sim.update_user(ext := rng.choice(users), dnd=not sim.model.user(ext).dnd),
        ]
        if len(live) < LIVE_CALLS_MAX:
            ops += [
                lambda: sim.incoming_call(to=rng.choice(users + queues), caller=f"0170{rng.randrange(10**6):06d}"),
                lambda: sim.internal_call(*rng.sample(users, 2)),
                lambda: sim.outgoing_call(rng.choice(users), f"0161{rng.randrange(10**6):06d}"),
            ]
        if live:
            call = rng.choice(live)
            parties = [label for label in call.callids if label in users]
            ops += [lambda: sim.hangup(call, by=rng.choice(["caller", *parties]))] * 2
            ringing = [label for label in parties if call.state(label) == "RINGING"]
            if ringing:
                ops.append(lambda: sim.answer(call, by=rng.choice(ringing)))
                ops.append(lambda: sim.to_voicemail(call))
            connected = [label for label in parties if call.state(label) == "CONNECTED"]
            if connected:
                ops.append(lambda: sim.hold(call, by=rng.choice(connected)))
            held = [label for label in parties if call.state(label) == "ONHOLD"]
            if held:
                ops.append(lambda: sim.unhold(call, by=rng.choice(held)))
            if call.b is None and not ringing and not call.queue_extn:
                ops.append(lambda: sim.answer(call))
        op = rng.choice(ops)
        try:
            op()
            self.report.traffic_ops += 1
        except (ValueError, KeyError, CallError) as err:
            _LOGGER.debug("traffic: %s", err)

    # --- faults -----------------------------------------------------------------------------------------------

    async def _sleep(self, high: float) -> None:
        await asyncio.sleep(self.rng.uniform(0, high))

    async def fault_drop_mid_notify(self) -> None:
        """A burst of changes, then the connection is cut while its notifies are on their way."""
        for _ in range(self.rng.randint(1, 5)):
            self.traffic()
        await self._sleep(0.02)
        self.sim.faults.drop_all()

    async def fault_drop_in_request(self) -> None:
        """A command is sent; the connection dies before its RequestResponse (or while it is being sent)."""
        guid, extn = self.rng.choice(list(self.users.items()))
        wanted = not self.sim.model.user(extn).dnd
        answered = self.rng.random() < 0.5
        if answered:  # IP Office acts on the request but the answer never comes
            self.sim.faults.no_responses = True
        task = asyncio.ensure_future(self.client.set_dnd(guid, wanted))
        if answered:
            with contextlib.suppress(AssertionError):
                await _until(lambda: self.sim.model.user(extn).dnd == wanted, 2.0)
        else:
            for _ in range(self.rng.randint(0, 3)):
                await asyncio.sleep(0)
        self.sim.faults.drop_all()
        try:
            await task
        except (NotConnectedError, RequestTimeoutError) as err:
            self.report.command_errors[type(err).__name__] += 1
        else:
            self.report.command_errors["succeeded before the drop"] += 1

    async def fault_drop_during_startup(self) -> None:
        """The connection is cut, and cut again while the client connects and subscribes."""
        self.sim.faults.drop_all()
        for _ in range(self.rng.randint(1, 3)):
            with contextlib.suppress(AssertionError):
                await _until(lambda: not self.client.connected, 2.0)
                await _until(lambda: self.sim.connection_count > 0, 3.0)
            await self._sleep(0.03)
            if self.rng.random() < 0.5:
                self.traffic()
            self.sim.faults.drop_all()

    async def fault_stall(self) -> None:
        """IP Office stops answering (pings included) for longer than the keepalive allows."""
        heartbeat = self.client._heartbeat
        self.sim.faults.stall(heartbeat * self.rng.uniform(1.8, 2.5))
        self.traffic()
        await _until(lambda: not self.client.connected, heartbeat * 4)

    async def fault_malformed(self) -> None:
        """A malformed frame of each kind the simulator knows, or random garbage."""
        stats = self.client.stats
        bad_before, frames_before = stats.bad_frames, stats.frames_in
        bad = True  # every kind of the simulator's is a bad frame, framed or not
        if self.rng.random() < 0.7:
            self.sim.faults.send_malformed(self.rng.choice(MALFORMED_KINDS))
        else:
            junk = bytes(self.rng.randrange(256) for _ in range(self.rng.randint(0, 64)))
            self.sim.faults.send_raw(junk)
            conn = self.client._conn
            with contextlib.suppress(FrameError):
                decode_frame(junk, Subprotocol.FRAMED if conn is None else conn.subprotocol)
                bad = False  # random junk that happens to be a valid message (for no subscription)
        self.traffic()
        if bad:
            await _until(lambda: stats.bad_frames > bad_before, 2.0, "the malformed frame to be skipped")
        else:  # counted as a frame, not a bad one
            await _until(lambda: stats.frames_in > frames_before, 2.0, "the frame to arrive")

    async def fault_truncated(self) -> None:
        """A real notify cut short at a random byte (for a subscription that does not exist, so that a cut that
        still parses cannot pass off wrong data as true)."""
        message = pb.Message()
        message.notify.subscribe_id = 0x7FFFFFF0
        message.notify.notify_id = 0
        info = message.notify.callcontrol.callinfo.add()
        info.callid = 1
        info.state = pb.CallInfo.State.CONNECTED  # type: ignore[assignment]
        info.callingparty.number = "01707123456"
        info.callingparty.name = "Truncated Caller"
        info.gcid = b"\x01\x02\x03\x04"
        data = encode_message(message, Subprotocol.FRAMED)
        self.sim.faults.send_raw(data[: self.rng.randrange(len(data))])
        self.traffic()

    async def fault_unknown_values(self) -> None:
        """A message with a payload this schema does not know; a call with enum values it does not know (which
        must still be reported and ended); unknown fields inside a known message."""
        subs = [sub for sub in self.client._subs.values() if sub.kind.value == "user" and sub.key in self.users]
        if self.rng.random() < 0.3 or not subs:
            self.sim.faults.send_malformed("unknown_payload")
            return
        sub = self.rng.choice(subs)
        call_id = next(self._fake_ids)
        appear = pb.Message()
        appear.notify.subscribe_id = sub.subscribe_id
        info = appear.notify.callcontrol.callinfo.add()
        info.callid = call_id
        info.state = self.rng.choice([99, 4, 1000])  # type: ignore[assignment]
        info.direction = self.rng.choice([7, 1, 250])  # type: ignore[assignment]
        info.failedcause = self.rng.choice([42, 0])  # type: ignore[assignment]
        gone = pb.Message()
        gone.notify.subscribe_id = sub.subscribe_id
        lost = gone.notify.callcontrol.calllost.add()
        lost.callid = call_id
        lost.reason = self.rng.choice([0, 1, 77])
        unknown_field = b"\xf8\x3e\x01"  # field 999, varint 1: a field a newer IP Office might add
        self.sim.faults.send_raw(FRAME_HEADER + appear.SerializeToString() + unknown_field)
        if self.rng.random() < 0.5:
            self.traffic()
        self.sim.faults.send_raw(FRAME_HEADER + gone.SerializeToString())
        key = (sub.key, call_id, "")  # no gcid
        await _until(lambda: self.ended[key] > 0, 2.0, f"the call with unknown values {key} to be reported ended")
        if self.started[key] != 1 or self.ended[key] != 1:
            raise InvariantError(f"the call with unknown values {key} was reported: {self.history.get(key)}")
        if any(call_id in user.calls for user in self.client.users.values()):
            raise InvariantError(f"the call with unknown values {key} is still shown after its CallLost")

    async def fault_terminated(self) -> None:
        """IP Office ends subscriptions (SubscribeTerminated) while things happen."""
        self.sim.faults.terminate_subscriptions(self.rng.choice([None, "user", "queue", "lines", "parkserver"]))
        for _ in range(self.rng.randint(0, 3)):
            self.traffic()
            await self._sleep(0.01)

    async def fault_error_on_command(self) -> None:
        """A command is answered with an error code: the caller gets the named error, nothing else changes."""
        code = self.rng.choice(RESULT_CODES)
        guid, extn = self.rng.choice(list(self.users.items()))
        self.sim.faults.fail_next(code, self.rng.choice([None, "subscribecmd", "user"]))
        try:
            await self.client.set_dnd(guid, not self.sim.model.user(extn).dnd)
        except ResultError as err:
            if err.code != code:
                raise InvariantError(f"command failed with {int(err.code)}, the IP Office answered {code}") from None
            self.report.command_errors[f"ResultError {code}"] += 1
        except MTCTI3Error as err:
            raise InvariantError(f"command failed with {err!r}, not ResultError {code}") from None
        else:
            raise InvariantError(f"a command answered with error {code} succeeded")

    async def fault_error_on_subscribe(self) -> None:
        """A (re)subscription or a reconnect's subscription is answered with an error code."""
        for _ in range(self.rng.randint(1, 3)):
            self.sim.faults.fail_next(self.rng.choice(RESULT_CODES), self.rng.choice(REQUEST_KINDS))
        if self.rng.random() < 0.5:
            self.sim.faults.terminate_subscriptions(self.rng.choice([None, "user", "queue", "lines"]))
        else:
            self.sim.faults.drop_all()
        await self._sleep(0.1)

    async def fault_auth(self) -> None:
        """The service user is refused (HTTP 401) for a while, then accepted again."""
        self.sim.faults.refuse_auth = True
        self.sim.faults.drop_all()
        await self._sleep(0.3)

    async def fault_service(self) -> None:
        """The service is refused (HTTP 403) for a while."""
        self.sim.faults.refuse_service = True
        self.sim.faults.drop_all()
        await self._sleep(0.2)

    async def fault_connection_limit(self) -> None:
        """All MTCTI-3 connections are taken (HTTP 503) when the client comes back."""
        self.sim.config.max_connections = 0
        self.sim.faults.drop_all()
        await self._sleep(0.3)

    async def fault_restart(self) -> None:
        """IP Office restarts: every call is gone without a CallLost, call ids count afresh (so an old id may come
        back on a new call) and new calls arrive before the integration is back."""
        sim = self.sim
        sim.faults.refuse_service = True  # down while it restarts
        sim.faults.drop_all()
        await _until(lambda: sim.connection_count == 0, 5.0)
        for call in list(sim.active_calls):
            with contextlib.suppress(ValueError, KeyError, CallError):
                sim.hangup(call, by="caller")
        for call in list(sim.active_calls):  # anything the hang-ups left (a voicemail leg, ...)
            call.ended = True
        sim.model.calls.clear()
        self._generation += 1
        sim.model._callids = itertools.count(self.rng.randint(1, 20))
        sim.model._gcids = itertools.count(0x1000_0000 * self._generation)
        for _ in range(self.rng.randint(0, 4)):
            self.traffic()
        sim.faults.refuse_service = False

    # --- recovery and invariants --------------------------------------------------------------------------------

    async def recover(self) -> None:
        """Lift the fault and wait until the integration has caught up with the IP Office."""
        self.sim.faults.reset()
        self.sim.config.max_connections = 10
        await self.settle()

    async def settle(self) -> None:
        """Until connected, every background task (re-subscription, reconciliation) done, every notify acked, and
        the client's subscriptions exactly the ones the IP Office holds for its one connection.

        A fault (a dropped TCP connection) takes a few loop iterations to reach the client: until then the client
        rightly still believes in its connection, so "connected" alone is not settled. A client that goes on
        believing in subscriptions the IP Office does not hold (the bug this campaign once found) never agrees
        with the simulator, and fails here after the timeout.
        """
        client = self.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while True:
            if client.connected and self.coordinator.connected and not client._tasks:
                await self.sim.wait_quiet()
                await self.hass.async_block_till_done()
                if self._agreement() is None:
                    return
            if loop.time() > deadline:
                raise InvariantError(
                    f"the integration does not settle: {self._agreement() or 'not connected and re-subscribed'}"
                )
            await asyncio.sleep(0.005)

    def _agreement(self) -> str | None:
        """None when the client is connected with no background task and its subscriptions are those that the one
        open simulator session holds; otherwise what differs."""
        client = self.client
        if not client.connected or client._tasks:
            return f"client {client.state.value} with {len(client._tasks)} background task(s)"
        conn = client._conn
        if conn is None or conn.closed:
            return "client connected without a connection"
        sessions = list(self.sim.sessions)
        if len(sessions) != 1 or sessions[0].closed or self.sim._pending_upgrades:
            return f"simulator sessions {[(s.closed, len(s.subs)) for s in sessions]}"
        session = sessions[0]
        transport = session.request.transport
        if transport is None or transport.is_closing():
            return "the simulator's connection is being dropped"  # the client is about to learn it
        if not session.is_quiet():
            return "simulator session not quiet"
        held = {sid for sid, sub in session.subs.items() if not sub.closed}
        believed = set(client._subs)
        if held != believed:
            return (
                f"client believes subscriptions {sorted(believed)}, the IP Office holds {sorted(held)} "
                f"(client: {[(s.kind.value, s.key[-4:], s.subscribe_id) for s in client._subs.values()]})"
            )
        return None

    def truth(self) -> dict[tuple[str, int], tuple[str, CallState]]:
        """(owner guid, call id) -> (gcid, state) of every live call appearance of an exposed user or queue."""
        result: dict[tuple[str, int], tuple[str, CallState]] = {}
        for call in self.sim.model.calls:
            if call.ended:
                continue
            for app in call.apps:
                if app.owner_kind in ("user", "queue") and isinstance(app.owner, bytes):
                    guid = app.owner.hex().upper()
                    if guid in self.users or guid in self.queues:
                        result[(guid, app.callid)] = (call.gcid, CallState(app.state))
        return result

    def check(self) -> None:
        """Every invariant, against the simulator's truth."""
        if self.report.cycles % 10 == 0:
            gc.collect()  # a task whose exception nobody retrieved is reported when it is collected
        errors = [record for record in self._error_records() if record.levelno >= logging.ERROR]
        if errors:
            raise InvariantError(f"error logged: {errors[0].name}: {errors[0].getMessage()}")
        self._clear_records()
        truth = self.truth()
        shown: dict[tuple[str, int], tuple[str, CallState]] = {}
        for owners in (self.client.users, self.client.queues):
            for guid, owner in owners.items():
                for call_id, call in owner.calls.items():
                    shown[(guid, call_id)] = (call.gcid, call.state)
        if shown != truth:
            extra = {k: v for k, v in shown.items() if truth.get(k) != v}
            missing = {k: v for k, v in truth.items() if shown.get(k) != v}
            told = {k: self.history.get((*k, v[0])) for k, v in extra.items()}
            told["subscriptions"] = [  # type: ignore[assignment]
                (
                    sub.kind.value,
                    sub.key[-4:],
                    sub.subscribe_id,
                    sub.got_first,
                    self.client._subs.get(sub.subscribe_id) is sub,
                )
                for sub in self.client._wanted.values()
                if sub.key in {k[0] for k in (*extra, *missing)}
            ]
            told["simulator"] = [  # type: ignore[assignment]
                (sid, sub.kind, sub.user.extn if sub.user else "", sub.closed)
                for session in self.sim.sessions
                for sid, sub in session.subs.items()
            ]
            conn = self.client._conn
            told["connection"] = [  # type: ignore[assignment]
                self.sim.connection_count,
                conn is not None and conn.closed,
                conn is not None and conn._ws.closed,
                [(s.closed, len(s.subs)) for s in self.sim.sessions],
            ]
            told["client"] = [(sub.kind.value, sub.key[-4:], sub.subscribe_id) for sub in self.client._subs.values()]  # type: ignore[assignment]
            raise InvariantError(f"calls differ from the IP Office: shown {extra}, true {missing}; events {told}")
        live = {(guid, call_id, gcid) for (guid, call_id), (gcid, _) in truth.items()}
        for key, count in self.started.items():
            if count != 1:
                raise InvariantError(f"call {key} was reported new {count} times: {self.history.get(key)}")
            ends = self.ended.get(key, 0)
            if key in live and ends:
                raise InvariantError(f"live call {key} was reported ended")
            if key not in live and ends != 1:
                raise InvariantError(
                    f"call {key} that is gone was reported ended {ends} times: {self.history.get(key)}"
                )
        for key in self.ended:
            if key not in self.started:
                raise InvariantError(f"call {key} ended without having been reported")
        extns = {**self.users, **self.queues}
        live_bus = {(extns[guid], call_id, gcid) for guid, call_id, gcid in live}
        for key, count in self.bus_ended.items():
            if count != 1:
                raise InvariantError(f"{EVENT_CALL} ended {count} times for {key}")
        for key in self.bus_started:
            if key not in live_bus and self.bus_ended.get(key) != 1:
                raise InvariantError(f"{EVENT_CALL} never ended {key}")
        self._check_entities(truth)

    def _check_entities(self, truth: dict[tuple[str, int], tuple[str, CallState]]) -> None:
        states = self.hass.states
        model = self.sim.model

        def expect(entity_id: str, wanted: str) -> None:
            state = states.get(entity_id)
            got = None if state is None else state.state
            if got != wanted:
                raise InvariantError(f"{entity_id} is {got}, the IP Office says {wanted}")

        for guid, extn in self.users.items():
            user = model.user(extn)
            ids = self.entities[guid]
            expect(ids["active_calls"], str(sum(1 for owner, _ in truth if owner == guid)))
            expect(ids["dnd"], STATE_ON if user.dnd else STATE_OFF)
            expect(ids["voicemail"], str(user.mailbox_new))
        for guid, extn in self.queues.items():
            waiting = sum(1 for (owner, _), (_, state) in truth.items() if owner == guid and state in RINGING_STATES)
            expect(self.entities[guid]["calls_waiting"], str(waiting))
            del extn
        expect(self.system_active, str(len({gcid for gcid, _ in truth.values()})))
        if (state := states.get(self.system_active)) is None or state.state == STATE_UNAVAILABLE:
            raise InvariantError("system entity unavailable after recovery")


async def _until(predicate: Callable[[], bool], timeout: float, what: str = "condition") -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.005)
