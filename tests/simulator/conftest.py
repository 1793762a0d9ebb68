"""Fixtures for the simulator tests: a running simulator and a plain MTCTI-3 websocket client."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from custom_components.ipoffice.mtcti3.codec import Subprotocol, decode_message, encode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator, SimulatorConfig

USERNAME = "ha"
PASSWORD = "secret-pass"


class Client:
    """A bare MTCTI-3 client: send messages, read messages, ack notifies on request."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, subprotocol: Subprotocol) -> None:
        self.ws = ws
        self.subprotocol = subprotocol
        self._requestid = 0
        self.backlog: list[pb.Message] = []

    def next_requestid(self) -> int:
        self._requestid += 1
        return self._requestid

    async def send(self, message: pb.Message) -> None:
        await self.ws.send_bytes(encode_message(message, self.subprotocol))

    async def recv_raw(self, within: float = 2.0) -> aiohttp.WSMessage:
        return await self.ws.receive(timeout=within)

    async def recv(self, within: float = 2.0) -> pb.Message:
        msg = await self.ws.receive(timeout=within)
        assert msg.type == aiohttp.WSMsgType.BINARY, msg
        return decode_message(msg.data, self.subprotocol)

    async def expect(self, predicate: Callable[[pb.Message], bool], within: float = 2.0) -> pb.Message:
        """Read until ``predicate`` matches; the messages before it stay in the backlog."""
        for index, message in enumerate(self.backlog):
            if predicate(message):
                del self.backlog[index]
                return message
        skipped: list[pb.Message] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        try:
            while True:
                message = await self.recv(within=max(0.01, deadline - loop.time()))
                if predicate(message):
                    return message
                skipped.append(message)
        finally:
            self.backlog = skipped + self.backlog

    async def response(self, requestid: int, within: float = 2.0) -> pb.RequestResponse:
        message = await self.expect(
            lambda m: m.WhichOneof("payload") == "response" and m.response.requestid == requestid, within
        )
        return message.response

    async def notify(self, sid: int, kind: str | None = None, *, ack: bool = True, within: float = 2.0) -> pb.Notify:
        """The next notify on subscription ``sid`` (of payload ``kind``), acked unless ack=False."""

        def match(m: pb.Message) -> bool:
            return (
                m.WhichOneof("payload") == "notify"
                and m.notify.subscribe_id == sid
                and (kind is None or m.notify.WhichOneof("payload") == kind)
            )

        message = await self.expect(match, within)
        if ack:
            await self.ack(message.notify)
        return message.notify

    async def ack(self, notify: pb.Notify) -> None:
        await self.send(
            pb.Message(notifyack=pb.NotifyAck(subscribe_id=notify.subscribe_id, notify_id=notify.notify_id))
        )

    async def request(self, message: pb.Message) -> pb.RequestResponse:
        """Send ``message`` (whose requestid is set here) and return its RequestResponse."""
        requestid = self.next_requestid()
        payload = getattr(message, message.WhichOneof("payload") or "")
        payload.requestid = requestid
        await self.send(message)
        return await self.response(requestid)

    async def subscribe(self, sid: int, expires: int = 0, **payload: Any) -> pb.RequestResponse:
        return await self.request(pb.Message(subscribe=pb.Subscribe(subscribe_id=sid, timeout=expires, **payload)))

    async def cmd(self, sid: int, **payload: Any) -> pb.RequestResponse:
        return await self.request(pb.Message(subscribecmd=pb.SubscribeCmd(subscribe_id=sid, **payload)))

    async def callfn(self, sid: int, callid: int, action: str, arg1: str = "", **extra: Any) -> int:
        fn = pb.CallFunction(action=pb.CallFunction.Action.Value(action), arg1=arg1, **extra)
        response = await self.cmd(sid, callcontrol=pb.UpdateCallControl(callid=callid, callfunction=fn))
        return response.result

    async def silent(self, within: float = 0.2) -> bool:
        """True when nothing arrives within ``within`` seconds."""
        if self.backlog:
            return False
        try:
            msg = await self.ws.receive(timeout=within)
        except TimeoutError:
            return True
        if msg.type == aiohttp.WSMsgType.BINARY:
            self.backlog.append(decode_message(msg.data, self.subprotocol))
        return False


def client_ssl(sim: Simulator) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=sim.certificate_pem)


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    simulator = Simulator(SimulatorConfig(username=USERNAME, password=PASSWORD))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def connect(sim: Simulator, http: aiohttp.ClientSession) -> AsyncIterator[Callable[..., Any]]:
    clients: list[Client] = []

    async def _connect(protocol: str = "openapi", user: str = USERNAME, password: str = PASSWORD) -> Client:
        ws = await http.ws_connect(
            sim.url,
            ssl=client_ssl(sim),
            protocols=(protocol,),
            headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
        )
        result = Client(ws, Subprotocol(protocol))
        clients.append(result)
        return result

    yield _connect
    for client in clients:
        await client.ws.close()


@pytest.fixture
async def client(connect: Callable[..., Any]) -> Client:
    result: Client = await connect()
    return result
