"""Helpers shared by the tests that drive the simulator with a bare client (tests/client, tests/reliability)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from custom_components.ipoffice.mtcti3.schema import HAS_VERSION_INFO
from simulator import Simulator, SimulatorConfig

ClientFactory = Callable[..., Awaitable[IPOfficeClient]]

SIM_VERSION = "IP Office 11.1.0.0 build 600" if HAS_VERSION_INFO else None
"""The release a client learns of the default simulator: none on a schema without the version request."""

needs_version_request = pytest.mark.skipif(
    not HAS_VERSION_INFO, reason="this schema has no version request (as Avaya's Version 1.0)"
)


@dataclass(frozen=True, slots=True)
class Timings:
    """How fast the clients of a test folder recover (far faster than a real installation's defaults)."""

    reconcile_delay: float
    backoff_base: float
    backoff_cap: float
    auth_retry_delay: float


def trust(sim: Simulator) -> ssl.SSLContext:
    """A verifying context that trusts the simulator's self-signed certificate."""
    return ssl.create_default_context(cadata=sim.certificate_pem)


async def wait_for(
    predicate: Callable[[], bool],
    timeout: float = 5.0,  # noqa: ASYNC109
    message: str = "condition",
    poll: float = 0.01,
) -> None:
    """Poll ``predicate`` until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(poll)


def guid_of(sim: Simulator, extn: str) -> str:
    """The guid (upper-case hex) of a user or queue of the simulator."""
    model = sim.model
    for item in (*model.users.values(), *model.queues.values()):
        if item.extn == extn:
            return item.guid.hex().upper()
    raise KeyError(extn)


def ignore_refused_handshakes() -> None:
    """Ignore, in the running loop, the simulator's side of a TLS handshake that a client cut short.

    A client that verifies certificates drops the simulator's self-signed one mid-handshake, as it must (and a
    dropped connection can cut one short too); asyncio then reports "Error on transport creation for incoming
    connection" for the listening socket, which Home Assistant's test harness would count as an error.
    """
    loop = asyncio.get_running_loop()
    handler = loop.get_exception_handler()

    def filtered(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == "Error on transport creation for incoming connection":
            return
        if handler is not None:
            handler(loop, context)
        else:  # pragma: no cover - Home Assistant's test harness always installs one
            loop.default_exception_handler(context)

    loop.set_exception_handler(filtered)


def make_sim(username: str, password: str, **config: Any) -> Simulator:
    """A simulator with a test folder's credentials."""
    return Simulator(SimulatorConfig(username=username, password=password, **config))


@asynccontextmanager
async def running(simulator: Simulator) -> AsyncIterator[Simulator]:
    """Run ``simulator`` for the duration of the block."""
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@asynccontextmanager
async def client_factory(
    sim: Simulator, username: str, password: str, timings: Timings
) -> AsyncIterator[ClientFactory]:
    """Build (and by default connect) clients of ``sim``; every one is disconnected when the block ends."""
    made: list[IPOfficeClient] = []

    async def factory(*, connect: bool = True, target: Simulator | None = None, **options: Any) -> IPOfficeClient:
        server = target or sim
        options.setdefault("port", server.port)
        options.setdefault("request_timeout", 3.0)
        if "tls" not in options:
            options.setdefault("ssl_context", trust(server))
        client = IPOfficeClient(
            "127.0.0.1", options.pop("username", username), options.pop("password", password), **options
        )
        client.reconcile_delay = timings.reconcile_delay
        client.backoff_base = timings.backoff_base
        client.backoff_cap = timings.backoff_cap
        client.auth_retry_delay = timings.auth_retry_delay
        made.append(client)
        if connect:
            await client.connect()
        return client

    try:
        yield factory
    finally:
        for client in made:
            await client.disconnect()
