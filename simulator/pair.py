"""A resilient pair of simulated IP Offices (issue 9): a primary and a secondary sharing users and queues.

Both systems render the same users and queues (a change made through the pair is made on both). Calls of users are
on the system that registers the phones: the primary while it is up, else the secondary. Calls queueing on a queue
are on the system they are placed on (each system sees only its own). ``take_down`` stops one system (every
connection dropped, new ones refused) and ``bring_up`` starts it again on the same port, with its state kept.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

from .model import Call
from .server import Simulator, SimulatorConfig
from .tls import generate_certificate

PRIMARY = "primary"
SECONDARY = "secondary"
# The secondary numbers its calls and gcids far from the primary's, as two real systems do.
SECONDARY_CALL_IDS = 100_001
SECONDARY_GCIDS = 0x100000


class SimulatorPair:
    """Two simulators of one resilient IP Office pair."""

    def __init__(self, primary: SimulatorConfig | None = None, secondary: SimulatorConfig | None = None) -> None:
        self._certs = Path(tempfile.mkdtemp(prefix="ipoffice-pair-"))
        self.primary = Simulator(self._keep_certificate(primary or SimulatorConfig(), PRIMARY))
        self.secondary = Simulator(self._keep_certificate(secondary or SimulatorConfig(), SECONDARY))
        self.secondary.model._callids = itertools.count(SECONDARY_CALL_IDS)
        self.secondary.model._gcids = itertools.count(SECONDARY_GCIDS)
        self.up = {PRIMARY: False, SECONDARY: False}

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

    async def bring_up(self, name: str) -> None:
        """The system is back (its users, queues and queued calls as they were)."""
        if not self.up[name]:
            await self.system(name).start()
            self.up[name] = True

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
