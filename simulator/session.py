"""One MTCTI-3 connection: its subscriptions, notify flow control and request handling."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from custom_components.ipoffice.mtcti3.codec import FrameError, Subprotocol, decode_message, encode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb

from . import commands
from .model import Appearance, CallError, CallEvent
from .scenario import Queue, User

if TYPE_CHECKING:
    from .server import Simulator

_LOGGER = logging.getLogger(__name__)

# Result codes (the spec's appendix).
SUCCESS = 0
ERRUNKNOWN = 1
NOTINSTRUMENTED = 3
NOTFOUND = 4
TOOMANY = 5
USERNOTFOUND = 7
SUBSCRIPTION_INVALID = 100
SUBSCRIPTION_INVALID_ID = 101
TIMEOUT_TOO_SMALL = 102
GENCMD_INVALID_PAYLOAD = 151
GENCMD_REQUIRED_DATA_MISSING = 152
REQUEST_INVALID_PAYLOAD = 5002
REQUEST_INVALID_CONTEXT = 5003

ACTIVAPP = 0x800


@dataclass
class Pending:
    """A notify waiting for its turn on a subscription."""

    notify: pb.Notify
    replaceable: bool


@dataclass
class Subscription:
    """One subscription of a connection."""

    sid: int
    kind: str  # lines, user, queue, presence, parkserver, refreshwrapper
    flags: int = 0
    ccflags: int = 0
    label: str = ""
    user: User | None = None
    queue: Queue | None = None
    timeout: int = 0
    timer: asyncio.TimerHandle | None = None
    next_id: int = 1
    awaiting: int | None = None
    pending: deque[Pending] = field(default_factory=deque)
    last_config: bytes | None = None
    seen_calls: dict[int, bytes] = field(default_factory=dict)
    presentities: list[tuple[str, int]] = field(default_factory=list)
    presence_last: dict[tuple[str, int], bytes] = field(default_factory=dict)
    activapp: bool = False
    closed: bool = False
    seq: int = 0  # order of subscription within its session (notifies of one event go out in this order)
    # With per-subscription call ids (SimulatorConfig.per_subscription_call_ids): the system's call id -> this
    # subscription's, and back.
    local_ids: dict[int, int] = field(default_factory=dict)
    system_ids: dict[int, int] = field(default_factory=dict)
    next_local: int = 1

    def local_id(self, system_id: int) -> int:
        """The id this subscription reports for the system's call ``system_id`` (0 stays 0)."""
        if not system_id:
            return 0
        local = self.local_ids.get(system_id)
        if local is None:
            local = self.local_ids[system_id] = self.next_local
            self.system_ids[local] = system_id
            self.next_local += 1
        return local

    def system_id(self, local_id: int) -> int:
        """The system's id of the call this subscription reports as ``local_id`` (unknown: an id no call has)."""
        if not local_id:
            return 0
        return self.system_ids.get(local_id, -1)

    @property
    def callcontrol(self) -> bool:
        if self.kind == "user":
            return self.ccflags != 0
        if self.kind == "queue":
            return bool(self.ccflags & 0x01)
        return self.kind == "parkserver"

    def owns(self, app: Appearance) -> bool:
        if self.kind == "user" and self.user is not None:
            return app.owner_kind == "user" and app.owner == self.user.guid
        if self.kind == "queue" and self.queue is not None:
            return app.owner_kind == "queue" and app.owner == self.queue.guid and not app.finished
        return self.kind == "parkserver" and app.owner_kind == "park"


class Session:
    """A websocket connection speaking MTCTI-3."""

    def __init__(self, sim: Simulator, ws: web.WebSocketResponse, request: web.Request, protocol: str) -> None:
        self.sim = sim
        self.ws = ws
        self.request = request
        self.subprotocol = Subprotocol(protocol)
        self.framed = self.subprotocol is Subprotocol.FRAMED
        self.subs: dict[int, Subscription] = {}
        # Indexes of ``subs``: by owner (("user", guid) / ("queue", guid)) and by kind, so that a change reaches
        # its own subscriptions without a scan of every subscription of a 3000-user system.
        self.by_owner: dict[tuple[str, bytes], list[Subscription]] = {}
        self.by_kind: dict[str, list[Subscription]] = {}
        self._seq = 0
        self._out: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self._sending = False
        self._writer: asyncio.Task[None] | None = None
        self.bad_messages = 0
        self.closed = False
        self._holding = False

    # ------------------------------------------------------------------------------------------------ io

    async def run(self) -> None:
        """Read and handle messages until the connection ends."""
        self._writer = asyncio.create_task(self._write_loop(), name="mtcti3-sim-writer")
        if (drop_after := self.sim.faults.drop_after) is not None:  # a connection that dies soon after each connect
            asyncio.get_running_loop().call_later(drop_after, self.abort)
        try:
            while True:
                msg = await self.ws.receive()
                if msg.type == WSMsgType.PING:
                    if not self.sim.faults.stalled:
                        await self.ws.pong(msg.data)
                    continue
                if msg.type == WSMsgType.PONG:
                    continue
                if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                await self.sim.faults.wait_unstalled()
                if msg.type == WSMsgType.TEXT:
                    self._bad(f"text frame {str(msg.data)[:40]!r}")
                    continue
                try:
                    message = decode_message(msg.data, self.subprotocol)
                except FrameError as err:
                    self._bad(str(err))
                    continue
                self.handle(message)
        finally:
            self.close_subscriptions()
            self.closed = True
            self._out.put_nowait(None)
            if self._writer is not None:
                await self._writer

    def _bad(self, text: str) -> None:
        self.bad_messages += 1
        self.sim.bad_messages += 1
        _LOGGER.warning("MTCTI3 simulator: unparseable message from client: %s", text)

    async def _write_loop(self) -> None:
        while True:
            data = await self._out.get()
            if data is None:
                return
            self._sending = True
            try:
                await self.sim.faults.wait_unstalled()
                if self.ws.closed:
                    continue
                if isinstance(data, str):
                    await self.ws.send_str(data)
                else:
                    await self.ws.send_bytes(data)
            except (ConnectionError, RuntimeError) as err:
                _LOGGER.debug("MTCTI3 simulator: send failed: %s", err)
            finally:
                self._sending = False

    def send(self, message: pb.Message) -> None:
        if not self.closed:
            self._out.put_nowait(encode_message(message, self.subprotocol))

    def send_bytes(self, data: bytes) -> None:
        if not self.closed:
            self._out.put_nowait(data)

    def send_text(self, data: str) -> None:
        if not self.closed:
            self._out.put_nowait(data)

    def abort(self) -> None:
        """Abort the TCP connection (no close frame)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    def is_quiet(self) -> bool:
        if self.closed:
            return True
        if not self._out.empty() or self._sending:
            return False
        return all(sub.awaiting is None and not sub.pending for sub in self.subs.values())

    # ------------------------------------------------------------------------------------------------ notify

    def respond(self, requestid: int, result: int, additional: str = "") -> None:
        if requestid and not self.sim.faults.no_responses:
            response = pb.RequestResponse(requestid=requestid, result=result, additional=additional)
            self.send(pb.Message(response=response))

    def enqueue(self, sub: Subscription, notify: pb.Notify, *, replaceable: bool = False) -> None:
        """Queue ``notify`` on ``sub``; a replaceable (config snapshot) notify replaces an unsent older one."""
        if sub.closed:
            return
        if replaceable:
            for index, item in enumerate(sub.pending):
                if item.replaceable:
                    sub.pending[index] = Pending(notify, replaceable)
                    break
            else:
                sub.pending.append(Pending(notify, replaceable))
        else:
            sub.pending.append(Pending(notify, replaceable))
        self.pump(sub)

    def pump(self, sub: Subscription) -> None:
        if sub.closed or sub.awaiting is not None or not sub.pending or self._holding:
            return
        item = sub.pending.popleft()
        notify = pb.Notify()
        notify.CopyFrom(item.notify)
        notify.subscribe_id = sub.sid
        notify.notify_id = sub.next_id
        notify.label = sub.label
        if self.sim.faults.adds_unknown_fields:
            self.sim.faults.append_unknown_fields(notify)
        sub.awaiting = sub.next_id
        sub.next_id += 1
        self.send(pb.Message(notify=notify))

    def _ack(self, ack: pb.NotifyAck) -> None:
        sub = self.subs.get(ack.subscribe_id)
        if sub is None:
            _LOGGER.info("MTCTI3 simulator: NotifyAck for unknown subscription %s", ack.subscribe_id)
            self.sim.bad_acks += 1
            return
        if sub.awaiting != ack.notify_id:
            _LOGGER.info("MTCTI3 simulator: NotifyAck %s/%s not outstanding", ack.subscribe_id, ack.notify_id)
            self.sim.bad_acks += 1
            return
        sub.awaiting = None
        self.pump(sub)

    # ------------------------------------------------------------------------------------------------ render

    def notify_user(self, sub: Subscription, *, force: bool = False) -> None:
        assert sub.user is not None
        body = commands.render_user(self.sim.model, sub.user, sub.flags)
        data = body.SerializeToString(deterministic=True)
        if data == sub.last_config and not force:
            return
        sub.last_config = data
        self.enqueue(sub, pb.Notify(user=body), replaceable=True)

    def notify_queue(self, sub: Subscription, *, force: bool = False) -> None:
        assert sub.queue is not None
        body = commands.render_queue(sub.queue, sub.flags)
        data = body.SerializeToString(deterministic=True)
        if data == sub.last_config and not force:
            return
        sub.last_config = data
        self.enqueue(sub, pb.Notify(queue=body), replaceable=True)

    def notify_presence(self, sub: Subscription, entries: list[tuple[str, int]], *, full: bool) -> None:
        body = pb.NotifyPresence(full=1 if full else 0)
        for key in entries:
            entry = commands.render_presentity(self.sim.model, key, sub.flags)
            data = entry.SerializeToString(deterministic=True)
            if not full and sub.presence_last.get(key) == data:
                continue
            sub.presence_last[key] = data
            body.entry.append(entry)
        if full or body.entry:
            self.enqueue(sub, pb.Notify(presence=body))

    def notify_calls(self, sub: Subscription, event: CallEvent | None) -> None:
        """Send ``event`` (or, with None, every current call: the first call-control notify)."""
        model = self.sim.model
        view = sub.kind if sub.kind != "parkserver" else "park"
        if event is None:
            apps = [a for c in model.calls for a in c.apps if sub.owns(a)]
            lost: list[tuple[Appearance, pb.CallLost]] = []
        else:
            apps = [a for a in event.changed if sub.owns(a)]
            lost = event.lost
            seen = sub.seen_calls
            if not apps and not any(app.callid in seen for app, _ in lost):
                return  # nothing of this subscription (every subscription hears every call event)
        body = pb.NotifyCallControl()
        body.refreshinstance = 0 if event is None else event.refreshinstance
        local = self.sim.config.per_subscription_call_ids
        for app in apps:
            info = model.callinfo(app, sub.ccflags, view)
            if local:
                info.callid = sub.local_id(info.callid)
                info.relatedcallid = sub.local_id(info.relatedcallid)
            data = info.SerializeToString(deterministic=True)
            if sub.seen_calls.get(app.callid) == data:
                continue
            sub.seen_calls[app.callid] = data
            body.callinfo.append(info)
        for app, calllost in lost:
            if app.callid in sub.seen_calls:
                del sub.seen_calls[app.callid]
                body.calllost.append(calllost)
                if local:
                    body.calllost[-1].callid = sub.local_id(app.callid)
                    sub.system_ids.pop(sub.local_ids.pop(app.callid), None)
        first_park = event is None and sub.kind == "parkserver" and not self.sim.faults.quiet_park
        if body.callinfo or body.calllost or first_park:
            self.enqueue(sub, pb.Notify(callcontrol=body))

    # ------------------------------------------------------------------------------------------------ requests

    def handle(self, message: pb.Message) -> None:
        kind = message.WhichOneof("payload")
        faults = self.sim.faults
        if kind == "notifyack":
            self._ack(message.notifyack)
            return
        if kind == "subscribe":
            req = message.subscribe
            kinds = {"subscribe", req.WhichOneof("payload") or "refresh"}
            requestid = req.requestid
        elif kind == "subscribecmd":
            requestid = message.subscribecmd.requestid
            kinds = {"subscribecmd", message.subscribecmd.WhichOneof("payload") or ""}
        elif kind == "subscribeend":
            requestid = message.subscribeend.requestid
            kinds = {"subscribeend"}
        elif kind == "generalcmd":
            requestid = message.generalcmd.requestid
            kinds = {"generalcmd"}
        else:
            _LOGGER.warning("MTCTI3 simulator: unexpected %s from client", kind)
            self.sim.bad_messages += 1
            return
        failure = faults.take_failure(kinds)
        if failure is not None:
            self.respond(requestid, *failure)
            return
        try:
            if kind == "subscribe":
                self._subscribe(message.subscribe)
            elif kind == "subscribecmd":
                self._subscribecmd(message.subscribecmd)
            elif kind == "subscribeend":
                self._subscribeend(message.subscribeend)
            else:
                self._generalcmd(message.generalcmd)
        except Exception:
            _LOGGER.exception("MTCTI3 simulator: failed to handle %s", kind)
            self._holding = False
            self.respond(requestid, ERRUNKNOWN)
            for sub in list(self.subs.values()):
                self.pump(sub)

    def _set_timer(self, sub: Subscription, timeout: int) -> None:
        if sub.timer is not None:
            sub.timer.cancel()
            sub.timer = None
        sub.timeout = timeout
        if timeout > 0:
            loop = asyncio.get_running_loop()
            sub.timer = loop.call_later(timeout, self.terminate, sub.sid, "timeout")

    def _subscribe(self, req: pb.Subscribe) -> None:
        model = self.sim.model
        payload = req.WhichOneof("payload")
        existing = self.subs.get(req.subscribe_id)
        if payload is None:
            if existing is None:
                self.respond(req.requestid, SUBSCRIPTION_INVALID)
                return
            if existing.kind == "presence" and not 60 <= req.timeout <= 86400:
                self.respond(req.requestid, TIMEOUT_TOO_SMALL)
                return
            self._set_timer(existing, req.timeout)
            self.respond(req.requestid, SUCCESS)
            return
        if existing is not None:
            self.respond(req.requestid, SUBSCRIPTION_INVALID_ID)
            return
        if payload in ("lines", "parkserver", "refreshwrapper") and any(s.kind == payload for s in self.subs.values()):
            self.respond(req.requestid, TOOMANY)
            return
        sub = Subscription(sid=req.subscribe_id, kind=payload, label=req.label)
        if payload == "presence":
            if not 60 <= req.timeout <= 86400:
                self.respond(req.requestid, TIMEOUT_TOO_SMALL)
                return
            sub.flags = req.presence.flags
            sub.presentities = [(e.presentity, e.lref) for e in req.presence.entry]
        elif payload == "lines":
            sub.flags = req.lines.flags
        elif payload == "user":
            user = model.users.get(req.user.guid)
            if user is None:
                self.respond(req.requestid, USERNOTFOUND)
                return
            sub.user, sub.flags, sub.ccflags = user, req.user.flags, req.user.ccflags
        elif payload == "queue":
            queue = model.queues.get(req.queue.guid) if req.queue.guid else None
            if queue is None and not req.queue.guid and req.queue.name:
                queue = next((q for q in model.queues.values() if q.name == req.queue.name), None)
            if queue is None:
                self.respond(req.requestid, NOTFOUND)
                return
            sub.queue, sub.flags, sub.ccflags = queue, req.queue.flags, req.queue.ccflags
        elif payload == "parkserver":
            sub.flags, sub.ccflags = req.parkserver.flags, req.parkserver.ccflags
        else:
            sub.flags = 0  # SubscribeRefreshWrapper carries a placeholder only
        self._register(sub)
        self._set_timer(sub, req.timeout)
        self.respond(req.requestid, SUCCESS)
        # First notifies.
        if payload == "lines":
            self.enqueue(sub, pb.Notify(lines=commands.render_lines(model, sub.flags, "add")))
        elif payload == "user":
            assert sub.user is not None
            if sub.flags & ACTIVAPP:
                self.set_activapp(sub, on=True)
            self.notify_user(sub, force=True)
        elif payload == "queue":
            self.notify_queue(sub, force=True)
        elif payload == "presence":
            self.notify_presence(sub, sub.presentities, full=True)
        if sub.callcontrol:
            self.notify_calls(sub, None)

    def _register(self, sub: Subscription) -> None:
        self.subs[sub.sid] = sub
        self._seq += 1
        sub.seq = self._seq
        self.by_kind.setdefault(sub.kind, []).append(sub)
        key = self._owner_key(sub)
        if key is not None:
            self.by_owner.setdefault(key, []).append(sub)

    def _unregister(self, sub: Subscription) -> None:
        kept = [other for other in self.by_kind.get(sub.kind, []) if other is not sub]
        if kept:
            self.by_kind[sub.kind] = kept
        else:
            self.by_kind.pop(sub.kind, None)
        key = self._owner_key(sub)
        if key is not None:
            owners = [other for other in self.by_owner.get(key, []) if other is not sub]
            if owners:
                self.by_owner[key] = owners
            else:
                self.by_owner.pop(key, None)

    @staticmethod
    def _owner_key(sub: Subscription) -> tuple[str, bytes] | None:
        if sub.kind == "user" and sub.user is not None:
            return ("user", sub.user.guid)
        if sub.kind == "queue" and sub.queue is not None:
            return ("queue", sub.queue.guid)
        return None

    def subs_of(self, kind: str) -> list[Subscription]:
        """This session's subscriptions of ``kind``."""
        return self.by_kind.get(kind, [])

    def owner_subs(self, kind: str, guid: bytes) -> list[Subscription]:
        """This session's subscriptions to user or queue ``guid``."""
        return self.by_owner.get((kind, guid), [])

    def set_activapp(self, sub: Subscription, *, on: bool) -> None:
        if sub.user is None or sub.activapp == on:
            return
        sub.activapp = on
        sub.user.app_handlers += 1 if on else -1
        self.sim.user_changed(sub.user)

    def _subscribeend(self, req: pb.SubscribeEnd) -> None:
        sub = self.subs.pop(req.subscribe_id, None)
        if sub is None:
            self.respond(req.requestid, SUBSCRIPTION_INVALID_ID)
            return
        self._close(sub)
        self.respond(req.requestid, SUCCESS)

    def _close(self, sub: Subscription) -> None:
        self._unregister(sub)
        sub.closed = True
        sub.pending.clear()
        sub.awaiting = None
        if sub.timer is not None:
            sub.timer.cancel()
            sub.timer = None
        if sub.activapp and sub.user is not None:
            sub.activapp = False
            sub.user.app_handlers -= 1
            self.sim.user_changed(sub.user)

    def terminate(self, sid: int, reason: str = "") -> None:
        """End a subscription from the IP Office side (SubscribeTerminated)."""
        sub = self.subs.pop(sid, None)
        if sub is None:
            return
        self._close(sub)
        self.send(pb.Message(subscribeterminated=pb.SubscribeTerminated(subscribe_id=sid, reason=reason)))

    def terminate_subscriptions(self, kind: str | None, reason: str = "terminated") -> None:
        for sid, sub in list(self.subs.items()):
            if kind is None or sub.kind == kind:
                self.terminate(sid, reason)

    def close_subscriptions(self) -> None:
        for sub in list(self.subs.values()):
            self._close(sub)
        self.subs.clear()

    def _subscribecmd(self, req: pb.SubscribeCmd) -> None:
        sub = self.subs.get(req.subscribe_id)
        if sub is None:
            self.respond(req.requestid, SUBSCRIPTION_INVALID_ID)
            return
        payload = req.WhichOneof("payload")
        model = self.sim.model
        self._holding = True
        try:
            if payload is None:
                code = REQUEST_INVALID_PAYLOAD
            elif payload == "user":
                code = commands.update_user(self, sub, req.user) if sub.kind == "user" else REQUEST_INVALID_CONTEXT
            elif payload == "queue":
                code = (
                    commands.update_queue(model, sub.queue, req.queue)
                    if sub.kind == "queue" and sub.queue is not None
                    else REQUEST_INVALID_CONTEXT
                )
            elif payload == "presence":
                if sub.kind != "presence":
                    code = REQUEST_INVALID_CONTEXT
                else:
                    self._update_presence(sub, req.presence)
                    code = SUCCESS
            elif not sub.callcontrol:
                code = NOTINSTRUMENTED
            else:
                command = req.callcontrol
                if self.sim.config.per_subscription_call_ids:  # this subscription's ids to the system's
                    command = pb.UpdateCallControl()
                    command.CopyFrom(req.callcontrol)
                    command.callid = sub.system_id(command.callid)
                    for inst in command.callfunction.callinst:
                        inst.callid = sub.system_id(inst.callid)
                code = commands.call_control(model, sub, command)
        except CallError as err:
            code = err.code
        finally:
            # The RequestResponse goes before the notifies that the command caused.
            self._holding = True
            try:
                model.commit()
            finally:
                self._holding = False
        self.respond(req.requestid, code)
        for sub in list(self.subs.values()):
            self.pump(sub)

    def _update_presence(self, sub: Subscription, update: pb.UpdatePresence) -> None:
        removed = {(e.lref if e.lref else e.presentity) for e in update.remove}
        sub.presentities = [
            p for p in sub.presentities if (p[1] if p[1] else p[0]) not in removed and p[0] not in removed
        ]
        added = [(e.presentity, e.lref) for e in update.add]
        sub.presentities.extend(added)
        if added:
            for key in added:
                sub.presence_last.pop(key, None)
            self.notify_presence(sub, added, full=False)

    def _generalcmd(self, req: pb.GeneralCmd) -> None:
        cmd = req.WhichOneof("payload")
        model = self.sim.model
        if cmd is None:
            self.respond(req.requestid, GENCMD_REQUIRED_DATA_MISSING)
        elif cmd == "getversioninfo":
            if self.sim.release.startswith("11.0"):
                return  # "It does not work on versions before 11.1.0.0"
            text = f"IP Office {self.sim.release} build {model.build}"
            self.send(pb.Message(generaldata=pb.GeneralData(responseid=req.requestid, versioninfo=text)))
            self.respond(req.requestid, SUCCESS)
        elif req.getfile.fname == "nasystem/AccountCode":
            payload = "".join(f"{code}\n" for code in model.account_codes).encode()
            answer = pb.GetFileResponse(cmdinst=req.getfile.cmdinst, fname=req.getfile.fname, payload=payload)
            self.send(pb.Message(generaldata=pb.GeneralData(responseid=req.requestid, getfile=answer)))
            self.respond(req.requestid, SUCCESS)
        else:
            self.respond(req.requestid, NOTFOUND)
