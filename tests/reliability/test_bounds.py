"""Connecting is bounded in time and memory whatever one message or one peer says (SECURITY.md gives the
figures, benchmarks/bench_hostile.py measures them): users and queues accepted from Lines, the largest message, the
wait for the first notifies, the log lines of a peer that answers nothing."""

from __future__ import annotations

import asyncio
import logging

import pytest

from custom_components.ipoffice.mtcti3 import (
    CannotConnectError,
    IPOfficeClient,
    MTCTI3Error,
    TLSMode,
    TooManyLinesError,
)
from custom_components.ipoffice.mtcti3.client import MAX_QUEUES, MAX_USERS, READY_WAIT_MAX
from custom_components.ipoffice.mtcti3.connection import MAX_MESSAGE_SIZE
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from tests.hostile import Peer, hostile_server, lines_notify, subscribe_kind

from .conftest import PASSWORD, USERNAME


def _lines_server(notify: pb.Notify, *, answer_users: bool = True):  # type: ignore[no-untyped-def]
    async def handler(peer: Peer, message: pb.Message) -> None:
        kind = subscribe_kind(message)
        if kind == "lines":
            await peer.respond(message.subscribe.requestid)
            await peer.notify(message.subscribe.subscribe_id, notify)
        elif kind is not None and answer_users:
            await peer.respond(message.subscribe.requestid)
        elif message.WhichOneof("payload") == "generalcmd":
            await peer.respond(message.generalcmd.requestid)

    return hostile_server(handler)


def _client(port: int, **options: object) -> IPOfficeClient:
    return IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=port, tls=TLSMode.INSECURE, **options)  # type: ignore[arg-type]


def test_the_limits_are_ip_offices_own() -> None:
    """20,000 users: IP Office's maximum in a network (Lines lists the network's users); far more queues than any
    system has; a message of the most users accepted fits the largest message well."""
    assert MAX_USERS == 20_000
    assert MAX_QUEUES == 2_000
    assert len(lines_notify(MAX_USERS, queues=MAX_QUEUES).SerializeToString()) < MAX_MESSAGE_SIZE / 2
    assert MAX_MESSAGE_SIZE <= 4 * 1024 * 1024
    assert READY_WAIT_MAX <= 60


async def test_lines_beyond_the_limits_are_refused_with_a_clear_error(socket_enabled: None) -> None:
    """A Lines of 25,000 users and 2,500 queues: the first 20,000 and 2,000 are taken, the rest refused, and the
    failure listeners (the integration's repair issue) hear a TooManyLinesError naming the numbers."""
    async with _lines_server(lines_notify(25_000, queues=2_500)) as server:
        client = _client(server.port, users=(), queues=(), park_server=False)
        errors: list[MTCTI3Error] = []
        client.add_failure_listener(errors.append)
        try:
            await client.connect()
            kinds = [entry.kind.value for entry in client.directory.values()]
            assert kinds.count("user") == MAX_USERS
            assert kinds.count("queue") == MAX_QUEUES
            assert client.lines_refused == 5_500
        finally:
            await client.disconnect()
    (error,) = errors
    assert isinstance(error, TooManyLinesError)
    assert error.refused == 5_500
    assert "5500 users or queues beyond the 20000 users and 2000 queues" in str(error)


async def test_a_message_larger_than_the_limit_ends_the_connection(socket_enabled: None) -> None:
    """One Lines message of 200,000 users (about 7.5 MiB) is refused unread: connecting fails with the reason."""
    huge = lines_notify(200_000)
    assert len(huge.SerializeToString()) > MAX_MESSAGE_SIZE
    async with _lines_server(huge) as server:
        client = _client(server.port, users=(), queues=())
        with pytest.raises(CannotConnectError, match=r"while subscribing: .*(size|too big|exceeds)"):
            await client.connect()


async def test_the_wait_for_the_first_notifies_is_capped(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    """5,000 users whose subscriptions are answered but never notified: connecting waits ready_wait_max, not
    request_timeout per thousand subscriptions (10 s x 5 = 50 s here), and says so in one log line."""
    async with _lines_server(lines_notify(5_000), answer_users=True) as server:
        client = _client(server.port, park_server=False, request_timeout=10.0)
        client.ready_wait_max = 1.0
        try:
            async with asyncio.timeout(30):
                await client.connect()
            assert len(client.users) == 5_000
            assert not any(user.synced for user in client.users.values())
        finally:
            await client.disconnect()
    unanswered = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components.ipoffice")
    ]
    assert len([m for m in unanswered if m.startswith("No answer to 5000 subscription(s) within 1 s")]) == 1
    assert len(unanswered) < 10
