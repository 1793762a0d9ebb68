"""A small hostile MTCTI-3 peer for the tests: a TLS websocket server on 127.0.0.1 whose every answer a test writes.

The simulator plays a faithful IP Office (with faults); this plays whatever a broken or malicious server would do:
a test gives a handler that gets each message the client sends and answers what it likes, when it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from custom_components.ipoffice.mtcti3.codec import Subprotocol, decode_message, encode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator.tls import fingerprint, generate_certificate, server_context

PATH = "/tpkt/openapi"


@dataclass
class Peer:
    """One client connection to the hostile server: what it sent, and a way to answer."""

    ws: web.WebSocketResponse
    received: list[pb.Message] = field(default_factory=list)

    async def send(self, message: pb.Message) -> None:
        """Send one framed message."""
        await self.ws.send_bytes(encode_message(message, Subprotocol.FRAMED))

    async def respond(self, requestid: int, result: int = 0, additional: str = "") -> None:
        """Send the RequestResponse of ``requestid``."""
        await self.send(
            pb.Message(response=pb.RequestResponse(requestid=requestid, result=result, additional=additional))
        )

    async def notify(self, subscribe_id: int, notify: pb.Notify, notify_id: int = 0) -> None:
        """Send a notify on ``subscribe_id`` (``notify_id`` 0: no NotifyAck wanted)."""
        body = pb.Notify()
        body.CopyFrom(notify)
        body.subscribe_id = subscribe_id
        body.notify_id = notify_id
        await self.send(pb.Message(notify=body))


Handler = Callable[[Peer, pb.Message], Awaitable[None]]


def lines_notify(users: int, *, start: int = 0, queues: int = 0, flags: int = 0) -> pb.Notify:
    """A Lines notify listing ``users`` users (and ``queues`` queues), guids and extensions counted from ``start``."""
    notify = pb.Notify()
    lines = notify.lines
    lines.flags = flags
    for number in range(start, start + users):
        user = lines.adduser.add()
        user.guid = number.to_bytes(16, "big")
        user.extn = str(10_000 + number)
        user.name = f"User {number}"
    for number in range(queues):
        queue = lines.addqueue.add()
        queue.guid = (1 << 120 | number).to_bytes(16, "big")
        queue.extn = str(90_000 + number)
        queue.name = f"Queue {number}"
    return notify


def user_notify(extn: str = "10000", name: str = "User") -> pb.Notify:
    """A NotifyUser (the first notify of a user subscription)."""
    notify = pb.Notify()
    notify.user.extn = extn
    notify.user.name = name
    return notify


@dataclass
class HostileServer:
    """The running server: its port, the certificate's fingerprint, the connections it had."""

    port: int
    fingerprint: str
    peers: list[Peer]
    requests: list[str]  # "METHOD path" of every HTTP request that reached it


@contextlib.asynccontextmanager
async def hostile_server(
    handler: Handler | None = None, *, route: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
) -> AsyncIterator[HostileServer]:
    """Serve MTCTI-3 over TLS on 127.0.0.1 with ``handler`` answering each message (``route``: any HTTP answer)."""
    cert, key = generate_certificate()
    peers: list[Peer] = []
    requests: list[str] = []
    tasks: set[asyncio.Task[Any]] = set()

    async def upgrade(request: web.Request) -> web.StreamResponse:
        requests.append(f"{request.method} {request.path}")
        if route is not None:
            return await route(request)
        ws = web.WebSocketResponse(protocols=(Subprotocol.FRAMED.value,), autoping=True, max_msg_size=0)
        await ws.prepare(request)
        peer = Peer(ws)
        peers.append(peer)
        async for frame in ws:
            if frame.type is not WSMsgType.BINARY:
                continue
            message = decode_message(frame.data, Subprotocol.FRAMED)
            peer.received.append(message)
            if handler is not None:
                task = asyncio.create_task(handler(peer, message))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        return ws

    app = web.Application()
    app.router.add_route("*", PATH, upgrade)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cert, key))
    await site.start()
    try:
        yield HostileServer(int(runner.addresses[0][1]), fingerprint(cert), peers, requests)
    finally:
        for task in list(tasks):
            task.cancel()
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.ws.close()
        await runner.cleanup()


def subscribe_kind(message: pb.Message) -> str | None:
    """The payload of a Subscribe ("lines", "user", ...; "refresh" for a refresh), None for another message."""
    if message.WhichOneof("payload") != "subscribe":
        return None
    return message.subscribe.WhichOneof("payload") or "refresh"
