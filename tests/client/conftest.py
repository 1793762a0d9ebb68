"""Fixtures of the client tests: a simulator on 127.0.0.1 over real TLS, and clients that clean up after themselves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from simulator import Simulator
from tests import simtools
from tests.simtools import ClientFactory, Timings, client_factory, running, trust, wait_for

USERNAME = "ha"
PASSWORD = "secret-pass"

CLIENT_TIMINGS = Timings(reconcile_delay=0.2, backoff_base=0.05, backoff_cap=0.5, auth_retry_delay=0.5)

__all__ = ["PASSWORD", "USERNAME", "ClientFactory", "make_sim", "settle", "trust", "wait_for"]


async def settle(sim: Simulator) -> None:
    """Until the simulator sent everything and the client acked (and so handled) it."""
    await sim.wait_quiet()
    await asyncio.sleep(0.02)


def make_sim(**config: Any) -> Simulator:
    """A simulator with the test credentials."""
    return simtools.make_sim(USERNAME, PASSWORD, **config)


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A running simulator of the default office."""
    async with running(make_sim()) as simulator:
        yield simulator


@pytest.fixture
async def make_client(sim: Simulator) -> AsyncIterator[ClientFactory]:
    """Build (and by default connect) clients of ``sim``; every one is disconnected at teardown."""
    async with client_factory(sim, USERNAME, PASSWORD, CLIENT_TIMINGS) as factory:
        yield factory


@pytest.fixture
async def client(make_client: ClientFactory, sim: Simulator) -> IPOfficeClient:
    """A connected client of the default office, settled."""
    result = await make_client()
    await settle(sim)
    return result


@pytest.fixture
async def http(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A caller-owned aiohttp session."""
    async with aiohttp.ClientSession() as session:
        yield session
