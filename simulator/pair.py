"""A resilient pair of simulated IP Offices: a primary and a secondary sharing users and queues.

Both systems render the same users and queues: a change of a user's or a queue's settings on either system, by a
command or through the pair, is replicated to the other (phone registration and calls are each system's own). Calls
of users are
on the system that registers the phones: the primary while it is up, else the secondary. Calls queueing on a queue
are on the system they are placed on (each system sees only its own). ``take_down`` stops one system (every
connection dropped, new ones refused) and ``bring_up`` starts it again on the same port, with its state kept.
"""

from __future__ import annotations

import copy
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from .model import Call, CallEvent, ModelListener
from .scenario import Queue, User
from .server import Simulator, SimulatorConfig
from .tls import generate_certificate

PRIMARY = "primary"
SECONDARY = "secondary"
# The secondary numbers its calls and gcids far from the primary's, as two real systems do.
SECONDARY_CALL_IDS = 100_001
SECONDARY_GCIDS = 0x100000
# The settings a resilient pair keeps the same on both systems (the rest is each system's: registration, calls).
USER_SETTINGS = (
    "dnd", "dnd_exceptions", "fwdu", "fwdb", "fwdna", "fwdhg", "fwdunumber", "fwdbnumber", "fwdtovm", "voicemail",
    "mobile", "offswitch", "noanswertime", "absence_set", "absence_msg", "absence_str",
    "mailbox_new", "mailbox_old", "mailbox_saved",
)  # fmt: skip
QUEUE_SETTINGS = (
    "ringmode", "noanswertime", "voicemail", "voicemailtime", "servicemode", "members",
    "mailbox_new", "mailbox_old", "mailbox_saved",
)  # fmt: skip


class _Replicator:
    """The model listener of one system of the pair: passes every change on and copies settings to the other."""

    def __init__(self, system: Simulator, other: Simulator) -> None:
        self.system = system
        self.other = other

    def lines_changed(self, kind: str, users: list[User], queues: list[Queue]) -> None:
        self.system.lines_changed(kind, users, queues)

    def calls_changed(self, event: CallEvent) -> None:
        self.system.calls_changed(event)

    def user_changed(self, user: User) -> None:
        self.system.user_changed(user)
        twin = self.other.model.users.get(user.guid)
        if twin is not None and (diff := _diff(user, twin, USER_SETTINGS)):
            self.other.model.update_user(twin, **diff)

    def queue_changed(self, queue: Queue) -> None:
        self.system.queue_changed(queue)
        twin = self.other.model.queues.get(queue.guid)
        if twin is not None and (diff := _diff(queue, twin, QUEUE_SETTINGS)):
            self.other.model.update_queue(twin, **diff)


def _diff(source: object, target: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields of ``source`` whose value ``target`` does not have (copied, lists included)."""
    diff: dict[str, Any] = {}
    for name in fields:
        value = getattr(source, name)
        if getattr(target, name) != value:
            diff[name] = copy.deepcopy(value)
    return diff


class SimulatorPair:
    """Two simulators of one resilient IP Office pair."""

    def __init__(self, primary: SimulatorConfig | None = None, secondary: SimulatorConfig | None = None) -> None:
        self._certs = Path(tempfile.mkdtemp(prefix="ipoffice-pair-"))
        self.primary = Simulator(self._keep_certificate(primary or SimulatorConfig(), PRIMARY))
        self.secondary = Simulator(self._keep_certificate(secondary or SimulatorConfig(), SECONDARY))
        self.secondary.model._callids = itertools.count(SECONDARY_CALL_IDS)
        self.secondary.model._gcids = itertools.count(SECONDARY_GCIDS)
        replicators: list[ModelListener] = [
            _Replicator(self.primary, self.secondary),
            _Replicator(self.secondary, self.primary),
        ]
        self.primary.model.listener, self.secondary.model.listener = replicators
        self.up = {PRIMARY: False, SECONDARY: False}
        self._traffic: tuple[int, float] | None = None  # (seed, rate) of the demo traffic, which follows the phones

    def _keep_certificate(self, config: SimulatorConfig, name: str) -> SimulatorConfig:
        """Each system keeps its own certificate across restarts (clients pin it)."""
        if not config.certfile:
            cert_pem, key_pem = generate_certificate()
            certfile, keyfile = self._certs / f"{name}.crt", self._certs / f"{name}.key"
            certfile.write_bytes(cert_pem)
            keyfile.write_bytes(key_pem)
            config.certfile, config.keyfile = str(certfile), str(keyfile)
        return config

    def system(self, name: str) -> Simulator:
        """The simulator named "primary" or "secondary"."""
        return self.primary if name == PRIMARY else self.secondary

    async def start(self) -> None:
        for name in (PRIMARY, SECONDARY):
            await self.bring_up(name)

    async def stop(self) -> None:
        for name in (PRIMARY, SECONDARY):
            await self.take_down(name)
        shutil.rmtree(self._certs, ignore_errors=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------------------------------------ faults

    async def take_down(self, name: str) -> None:
        """The system fails: its connections close and it refuses new ones until :meth:`bring_up`."""
        if self.up[name]:
            sim = self.system(name)
            sim.config.port = sim.port  # come back on the same address
            await sim.stop()
            self.up[name] = False
            await self._move_traffic()

    async def bring_up(self, name: str) -> None:
        """The system is back (its users, queues and queued calls as they were)."""
        if not self.up[name]:
            await self.system(name).start()
            self.up[name] = True
            await self._move_traffic()

    def start_traffic(self, seed: int = 1, rate: float = 0.5) -> None:
        """Generate demo traffic on the system the phones are registered on (it moves with them)."""
        self._traffic = (seed, rate)
        if self.up[PRIMARY] or self.up[SECONDARY]:
            self.registrar.start_traffic(seed=seed, rate=rate)

    async def _move_traffic(self) -> None:
        if self._traffic is None:
            return
        for name in (PRIMARY, SECONDARY):
            if self.system(name) is not self.registrar:
                await self.system(name).stop_traffic()
        if self.up[PRIMARY] or self.up[SECONDARY]:
            seed, rate = self._traffic
            self.registrar.start_traffic(seed=seed, rate=rate)

    # ------------------------------------------------------------------------------------------------ control

    @property
    def registrar(self) -> Simulator:
        """The system the phones are registered on: the primary while it is up."""
        return self.primary if self.up[PRIMARY] else self.secondary

    def update_user(self, extn: str, **fields: Any) -> None:
        """Change a user on both systems."""
        for sim in (self.primary, self.secondary):
            sim.update_user(extn, **fields)

    def update_queue(self, extn: str, **fields: Any) -> None:
        """Change a queue's configuration on both systems."""
        for sim in (self.primary, self.secondary):
            sim.update_queue(extn, **fields)

    def queue_call(self, name: str, to: str, caller: str = "01707123456") -> Call:
        """A trunk call queueing on queue ``to`` of the system ``name``."""
        return self.system(name).incoming_call(to=to, caller=caller)

    def user_call(self, to: str, caller: str = "01707123456") -> Call:
        """A trunk call to a user, on the system the phones are registered on."""
        return self.registrar.incoming_call(to=to, caller=caller)

    async def wait_quiet(self) -> None:
        """Until every system that is up sent everything and had it acknowledged."""
        for name in (PRIMARY, SECONDARY):
            if self.up[name]:
                await self.system(name).wait_quiet()


class PairAdmin:
    """The admin interface of a pair (plain HTTP on 127.0.0.1): take a system down, bring it back, place calls.

    Endpoints: ``GET /pair`` (each system: up, url, fingerprint, connections), ``POST /pair/{system}/down``,
    ``POST /pair/{system}/up``, ``POST /pair/{system}/calls/incoming`` {to, caller?} (a queue call on that
    system), ``POST /pair/calls/incoming`` {to, caller?} (a user call, on the system the phones are registered on).
    """

    def __init__(self, pair: SimulatorPair, port: int) -> None:
        self.pair = pair
        self._requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/pair", self._state)
        app.router.add_post("/pair/calls/incoming", self._user_call)
        app.router.add_post("/pair/{system}/calls/incoming", self._queue_call)
        app.router.add_post("/pair/{system}/{action}", self._up_down)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self._requested_port).start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _system(self, request: web.Request) -> str:
        name = request.match_info["system"]
        if name not in (PRIMARY, SECONDARY):
            raise web.HTTPNotFound(text=f'{{"error": "no system {name!r}: primary or secondary"}}')
        return name

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                name: {
                    "up": self.pair.up[name],
                    "url": self.pair.system(name).url,
                    "fingerprint": self.pair.system(name).fingerprint,
                    "connections": self.pair.system(name).connection_count,
                }
                for name in (PRIMARY, SECONDARY)
            }
        )

    async def _up_down(self, request: web.Request) -> web.Response:
        name = self._system(request)
        action = request.match_info["action"]
        if action == "down":
            await self.pair.take_down(name)
        elif action == "up":
            await self.pair.bring_up(name)
        else:
            return web.json_response({"error": f"unknown action {action!r}: down or up"}, status=404)
        return web.json_response({"system": name, "up": self.pair.up[name]})

    async def _queue_call(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        call = self.pair.queue_call(self._system(request), str(body["to"]), str(body.get("caller", "01707123456")))
        return web.json_response({"gcid": call.gcid, "callids": call.callids})

    async def _user_call(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        call = self.pair.user_call(str(body["to"]), str(body.get("caller", "01707123456")))
        return web.json_response({"gcid": call.gcid, "callids": call.callids})
