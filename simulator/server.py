"""The simulator: an HTTPS/websocket server speaking MTCTI-3 like IP Office 11.1, and its control API."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from custom_components.ipoffice.mtcti3.codec import Subprotocol
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb

from . import commands
from .faults import Faults
from .model import Call, CallEvent, SystemModel
from .scenario import Queue, Scenario, User, load_scenario
from .session import Session
from .tls import fingerprint, generate_certificate, server_context

_LOGGER = logging.getLogger(__name__)

PATH = "/tpkt/openapi"


@dataclass
class SimulatorConfig:
    """How to run a simulator (see docs/simulator-contract.md)."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str = "ha"
    password: str = "secret-pass"  # noqa: S105
    scenario: Scenario = field(default_factory=lambda: load_scenario(None))
    release: str = "11.1.0.0"
    certfile: str | None = None
    keyfile: str | None = None
    max_connections: int = 10
    # The description makes call ids unique only within a subscription: with this set, each subscription numbers
    # the calls it reports from 1 (the system's own ids stay internal), so that two subscriptions (two systems of
    # a pair, a user's and a queue's) report the same id for different calls.
    per_subscription_call_ids: bool = False
    admin_port: int | None = None  # None/0 = no admin interface; -1 = any free port


class Simulator:
    """A simulated IP Office MTCTI-3 service."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.release = self.config.release
        self.model = SystemModel(self.config.scenario, self)
        self.faults = Faults(self)
        self.sessions: set[Session] = set()
        self.bad_messages = 0
        self.bad_acks = 0
        self.certificate_pem = ""
        self.fingerprint = ""
        self._runner: web.AppRunner | None = None
        self._pending_upgrades = 0
        self._port = 0
        self._handlers: set[asyncio.Task[Any]] = set()
        self.admin: Any = None
        self.traffic: Any = None
        self.timers: Any = None
        if self.release.startswith("11.0"):
            self.faults.no_responses = True

    # ------------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Generate or load the certificate and start listening."""
        if self.config.certfile:
            cert_pem, key_pem = self._read_certificate(self.config.certfile, self.config.keyfile)
        else:
            cert_pem, key_pem = generate_certificate()
        self.certificate_pem = cert_pem.decode()
        self.fingerprint = fingerprint(cert_pem)
        context = server_context(cert_pem, key_pem)
        app = web.Application()
        app.router.add_get(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, ssl_context=context)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        if self.config.admin_port:
            from .admin import AdminServer  # noqa: PLC0415

            self.admin = AdminServer(self, max(self.config.admin_port, 0))
            await self.admin.start()

    @staticmethod
    def _read_certificate(certfile: str, keyfile: str | None) -> tuple[bytes, bytes]:
        return Path(certfile).read_bytes(), Path(keyfile or certfile).read_bytes()

    async def stop(self) -> None:
        """Close every connection and the listener; stop traffic and the admin interface."""
        await self.stop_traffic()
        await self.stop_timers()
        if self.admin is not None:
            await self.admin.stop()
            self.admin = None
        for session in list(self.sessions):
            session.close_subscriptions()
            if not session.ws.closed:
                await session.ws.close(code=1001, message=b"simulator stopping")
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=2)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"wss://{self.config.host}:{self._port}{PATH}"

    @property
    def connection_count(self) -> int:
        return len(self.sessions)

    async def wait_quiet(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Return when every queued notify was sent and acknowledged (TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while not all(session.is_quiet() for session in self.sessions):
            if time.monotonic() > deadline:
                raise TimeoutError("simulator did not become quiet")
            await asyncio.sleep(0.005)

    # ------------------------------------------------------------------------------------------------ http

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_auth or not self._authorized(request):
            return web.Response(
                status=401, text="authentication required", headers={"WWW-Authenticate": 'Basic realm="IP Office"'}
            )
        if self.faults.refuse_service:
            return web.Response(status=403, text="MTCTI3 service not licensed (CTI Link Pro)")
        requested = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        protocol = next((p for p in requested if p in (Subprotocol.FRAMED, Subprotocol.UNFRAMED)), None)
        ws = web.WebSocketResponse(
            protocols=(Subprotocol.FRAMED.value, Subprotocol.UNFRAMED.value),
            autoping=False,
            max_msg_size=64 * 1024 * 1024,
        )
        if protocol is None or not ws.can_prepare(request).ok:
            return web.Response(status=400, text="websocket upgrade with subprotocol openapi or openapinoframing")
        if len(self.sessions) + self._pending_upgrades >= self.config.max_connections:
            return web.Response(status=503, text=f"too many MTCTI3 connections ({self.config.max_connections} allowed)")
        self._pending_upgrades += 1
        try:
            await ws.prepare(request)
        finally:
            self._pending_upgrades -= 1
        session = Session(self, ws, request, protocol)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if task is not None:
                self._handlers.discard(task)
        return ws

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except binascii.Error, UnicodeDecodeError:
            return False
        user, _, password = decoded.partition(":")
        return hmac.compare_digest(user.encode(), self.config.username.encode()) and hmac.compare_digest(
            password.encode(), self.config.password.encode()
        )

    # ------------------------------------------------------------------------------------------------ listener

    def _subs(self, kind: str) -> list[tuple[Session, Any]]:
        return [(s, sub) for s in self.sessions for sub in list(s.subs_of(kind))]

    def lines_changed(self, kind: str, users: list[User], queues: list[Queue]) -> None:
        for session, sub in self._subs("lines"):
            body = commands.render_lines(self.model, sub.flags, kind, users, queues)
            if any((body.adduser, body.deleteuser, body.changeuser, body.addqueue, body.deletequeue, body.changequeue)):
                session.enqueue(sub, pb.Notify(lines=body))
        if kind == "delete":
            gone_users = {u.guid for u in users}
            gone_queues = {q.guid for q in queues}
            for session in list(self.sessions):
                for sid, sub in list(session.subs.items()):
                    if (sub.user is not None and sub.user.guid in gone_users) or (
                        sub.queue is not None and sub.queue.guid in gone_queues
                    ):
                        session.terminate(sid, "deleted")

    def user_changed(self, user: User) -> None:
        for session in list(self.sessions):
            for sub in list(session.owner_subs("user", user.guid)):
                if sub.user is user:
                    session.notify_user(sub)
        for session, sub in self._subs("presence"):
            keys = [k for k in sub.presentities if commands.find_presentity(self.model, k[0]) is user]
            if keys:
                session.notify_presence(sub, keys, full=False)

    def queue_changed(self, queue: Queue) -> None:
        for session in list(self.sessions):
            for sub in list(session.owner_subs("queue", queue.guid)):
                if sub.queue is queue:
                    session.notify_queue(sub)

    def calls_changed(self, event: CallEvent) -> None:
        # Only the subscriptions that own an appearance of the event hear it (a park appearance: every park
        # server subscription), in their order of subscription.
        owners: set[tuple[str, bytes]] = set()
        park = False
        for app in itertools.chain(event.changed, (lost for lost, _ in event.lost)):
            if app.owner_kind == "park":
                park = True
            elif isinstance(app.owner, bytes):
                owners.add((app.owner_kind, app.owner))
        for session in list(self.sessions):
            subs = [sub for key in owners for sub in session.by_owner.get(key, ())]
            if park:
                subs.extend(session.subs_of("parkserver"))
            if len(subs) > 1:
                subs.sort(key=lambda sub: sub.seq)
            for sub in subs:
                if sub.callcontrol and not sub.closed:
                    session.notify_calls(sub, event)

    # ------------------------------------------------------------------------------------------------ control API

    def add_user(self, extn: str, name: str, **fields: Any) -> str:
        """Add a user (Lines adduser); returns its guid as 32 upper-case hex characters."""
        return self.model.add_user(extn, name, **fields).guid.hex().upper()

    def remove_user(self, extn: str) -> None:
        """Remove a user (Lines deleteuser; its subscriptions are terminated)."""
        self.model.remove_user(extn)

    def change_user(self, current: str, /, name: str | None = None, extn: str | None = None) -> None:
        """Rename a user or change its extension (Lines changeuser, and a NotifyUser)."""
        self.model.change_user(current, name=name, new_extn=extn)

    def add_queue(self, extn: str, name: str, members: list[str] | None = None) -> str:
        """Add a queue (Lines addqueue); returns its guid hex."""
        return self.model.add_queue(extn, name, members).guid.hex().upper()

    def remove_queue(self, extn: str) -> None:
        """Remove a queue (Lines deletequeue)."""
        self.model.remove_queue(extn)

    def update_user(self, extn: str, **fields: Any) -> None:
        """Change any NotifyUser field: dnd, fwdu, fwdunumber, voicemail, app, ec500, absence=(msg, str)|None,
        mailbox=(new, old, saved), ..."""
        user = self.model.user(extn)
        if "absence" in fields:
            absence = fields.pop("absence")
            if absence is None:
                fields.update(absence_set=False, absence_msg=0, absence_str="")
            else:
                msg, text = (absence["msg"], absence["str"]) if isinstance(absence, dict) else absence
                fields.update(absence_set=True, absence_msg=int(msg), absence_str=str(text))
        if "mailbox" in fields:
            new, old, saved = fields.pop("mailbox")
            fields.update(mailbox_new=new, mailbox_old=old, mailbox_saved=saved)
        self.model.update_user(user, **fields)

    def set_phone_state(
        self,
        extn: str,
        *,
        logged_in: bool | None = None,
        extnfault: bool | None = None,
        loggedinextn: str | None = None,
    ) -> None:
        """Log a user's phone in or out, or mark its extension faulty."""
        user = self.model.user(extn)
        fields: dict[str, Any] = {}
        if logged_in is not None:
            fields["loggedoff"] = not logged_in
            fields["loggedinextn"] = (loggedinextn or user.extn) if logged_in else ""
        elif loggedinextn is not None:
            fields["loggedinextn"] = loggedinextn
        if extnfault is not None:
            fields["extnfault"] = extnfault
        self.model.update_user(user, **fields)

    def update_queue(self, extn: str, **fields: Any) -> None:
        """Change a queue: servicemode ("Active", "NS", "OOS"), voicemail, members=[extn, ...], ringmode, ..."""
        self.model.update_queue(self.model.queue(extn), **fields)

    def set_mailbox(self, extn: str, new: int = 0, old: int = 0, saved: int = 0) -> None:
        """Set the voicemail counters of a user (or a queue)."""
        queue = self.model.find_queue(extn)
        if queue is not None:
            self.model.update_queue(queue, mailbox_new=new, mailbox_old=old, mailbox_saved=saved)
            return
        self.model.update_user(self.model.user(extn), mailbox_new=new, mailbox_old=old, mailbox_saved=saved)

    def incoming_call(
        self,
        to: str,
        caller: str = "01707123456",
        caller_name: str = "",
        did: str | None = None,
        *,
        withheld: bool = False,
    ) -> Call:
        """A trunk call to a user or a queue, dialled in on ``did`` (default: ``to``); ``withheld``: the caller
        withheld its number (the call carries none)."""
        return self.model.incoming_call(to, caller, caller_name, did, withheld=withheld)

    def internal_call(self, from_: str, to: str) -> Call:
        """A call between two users (or from a user to a queue)."""
        return self.model.internal_call(from_, to)

    def outgoing_call(self, from_: str, to: str) -> Call:
        """A call from a user out of a trunk."""
        return self.model.outgoing_call(from_, to)

    def answer(self, call: Call, by: str | None = None) -> None:
        """Answer: the ringing user (``by``) or, for an outgoing call, the far end."""
        self.model.answer(call, by)

    def hold(self, call: Call, by: str) -> None:
        self.model.hold(call, by)

    def unhold(self, call: Call, by: str) -> None:
        self.model.unhold(call, by)

    def hangup(self, call: Call, by: str = "caller") -> None:
        """The caller (``"caller"``) or a user (extension) hangs up."""
        self.model.hangup(call, by)

    def to_voicemail(self, call: Call) -> None:
        """A ringing call is not answered and goes to voicemail (RINGINVOICEMAIL, then ANSWEREDBYVOICEMAIL)."""
        self.model.to_voicemail(call)

    def park(self, call: Call, by: str, slot: str) -> None:
        """A user parks the call on ``slot``."""
        self.model.park(call, by, slot)

    def unpark(self, slot: str, by: str) -> Call:
        """A user picks up the call parked on ``slot``."""
        return self.model.unpark(slot, by)

    def transfer(self, call: Call, by: str, to: str) -> None:
        """A user blind-transfers the call to ``to``."""
        from .model import CallError  # noqa: PLC0415

        app = self.model._user_app(call, by)
        try:
            commands.blind_transfer(self.model, app, to)
        except CallError as err:
            raise ValueError(str(err)) from err
        finally:
            self.model.commit()

    @property
    def active_calls(self) -> list[Call]:
        return self.model.active_calls

    # ------------------------------------------------------------------------------------------------ traffic

    def start_traffic(self, seed: int = 1, rate: float = 0.5, max_calls: int = 8, speed: float = 1.0) -> None:
        """Start the demo traffic generator (``rate`` new events per second on average, at ``speed`` times real
        time)."""
        from .traffic import TrafficGenerator  # noqa: PLC0415

        if self.traffic is None:
            self.traffic = TrafficGenerator(self, seed=seed, rate=rate, max_calls=max_calls, speed=speed)
            self.traffic.start()

    def start_timers(self, speed: float = 1.0) -> None:
        """Run IP Office's own call timers (no answer, queue voicemail time, caller patience; simulator/timers.py)."""
        from .timers import CallTimers  # noqa: PLC0415

        if self.timers is None:
            self.timers = CallTimers(self, speed=speed)
            self.timers.start()

    async def stop_timers(self) -> None:
        if self.timers is not None:
            await self.timers.stop()
            self.timers = None

    async def stop_traffic(self) -> None:
        if self.traffic is not None:
            await self.traffic.stop()
            self.traffic = None
