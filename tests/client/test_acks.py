"""NotifyAcks: one per notify, the acks of one loop iteration in one write, before anything sent after them."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import IPOfficeClient
from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER, Subprotocol, decode_message, encode_message
from custom_components.ipoffice.mtcti3.connection import _MASK, ClientStats, Connection, _FrameWriter
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator

from .conftest import settle


class SpyTransport:
    """Records what is written to a real transport and passes it on."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def is_closing(self) -> bool:
        return self.closing or bool(self.transport.is_closing())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def unmask(data: bytes) -> list[bytes]:
    """The payloads of the masked client frames (each < 126 octets) that ``data`` holds, in order."""
    payloads = []
    while data:
        assert data[0] == 0x82  # FIN, binary
        assert data[1] & 0x80  # masked
        size = data[1] & 0x7F
        key, body = data[2:6], data[6 : 6 + size]
        payloads.append(bytes(octet ^ key[i % 4] for i, octet in enumerate(body)))
        data = data[6 + size :]
    return payloads


def spy(client: IPOfficeClient) -> SpyTransport:
    """Spy on the transport the client's connection writes its batched acks to (and aiohttp its frames)."""
    conn = client._conn
    assert conn is not None
    frames = conn._frames
    assert frames is not None, "an aiohttp websocket: acks are batched"
    transport = SpyTransport(frames._transport)
    frames._transport = transport  # type: ignore[assignment]
    conn._ws._writer.transport = transport  # type: ignore[attr-defined]
    return transport


async def test_acks_of_one_read_go_in_one_write(client: IPOfficeClient, sim: Simulator) -> None:
    """Notifies of three subscriptions that arrive together are acked in one write of three frames."""
    transport = spy(client)
    notifies = client.stats.notifies
    sim.faults.stall(0.1)  # the simulator sends the three notifies together when it resumes
    for extn in ("2001", "2002", "2003"):
        sim.update_user(extn, dnd=True)
    await asyncio.sleep(0.15)
    await settle(sim)
    assert client.stats.notifies >= notifies + 3
    assert client.stats.acks == client.stats.notifies
    assert sim.bad_acks == 0
    batches = [[decode_message(p) for p in unmask(write)] for write in transport.writes]
    assert all(m.WhichOneof("payload") == "notifyack" for batch in batches for m in batch)
    assert max(len(batch) for batch in batches) >= 3


async def test_a_message_sent_while_acks_wait_follows_them(client: IPOfficeClient, sim: Simulator) -> None:
    """A message sent from a listener (an eager task) goes after the acks queued so far, not before."""
    transport = spy(client)
    conn = client._conn
    assert conn is not None
    loop = asyncio.get_running_loop()
    sent: list[asyncio.Task[None]] = []

    def on_user(_user: Any) -> None:
        if not sent:
            message = pb.Message()
            message.subscribeend.subscribe_id = 9999  # nothing: answered by nothing, harmless
            sent.append(asyncio.Task(conn.send(message), loop=loop, eager_start=True))

    client.add_user_listener(on_user)
    sim.update_user("2001", dnd=True)
    await settle(sim)
    assert sent
    await sent[0]
    kinds = [decode_message(p).WhichOneof("payload") for write in transport.writes for p in unmask(write)]
    assert kinds[:2] == ["notifyack", "subscribeend"]
    assert client.stats.acks == client.stats.notifies


class _Socket:
    """A websocket stand-in with aiohttp's frame writer shape (for the paths the simulator cannot reach)."""

    closed = False

    def __init__(self, transport: Any, *, use_mask: bool = True, compress: int = 0) -> None:
        self._writer = type("Writer", (), {"transport": transport, "use_mask": use_mask, "compress": compress})()

    async def send_bytes(self, data: bytes) -> None:
        raise AssertionError("acks are batched")


class _Transport(asyncio.WriteTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing


def notify_frame(subscribe_id: int, notify_id: int) -> bytes:
    message = pb.Message()
    message.notify.subscribe_id = subscribe_id
    message.notify.notify_id = notify_id
    message.notify.user.extn = "2001"
    return FRAME_HEADER + message.SerializeToString()


def connection(transport: _Transport) -> tuple[Connection, list[pb.Notify]]:
    handled: list[pb.Notify] = []
    conn = Connection(
        _Socket(transport),  # type: ignore[arg-type]
        Subprotocol.FRAMED,
        ClientStats(),
        lambda _message: None,
        lambda _reason: None,
        on_notify=handled.append,
    )
    return conn, handled


async def test_batched_acks_match_protobuf_and_closing_drops_them() -> None:
    transport = _Transport()
    conn, handled = connection(transport)
    for notify_id in (1, 200, 70000):
        await conn._handle_frame(notify_frame(7, notify_id))
    assert len(handled) == 3  # handed on at once, acks queued
    assert transport.writes == []
    await asyncio.sleep(0)
    assert len(transport.writes) == 1
    assert unmask(transport.writes[0]) == [
        encode_message(pb.Message(notifyack=pb.NotifyAck(subscribe_id=7, notify_id=n))) for n in (1, 200, 70000)
    ]
    assert conn.stats.acks == conn.stats.frames_out == 3
    transport.closing = True  # a transport going away: the acks are dropped, the reader will see the loss
    await conn._handle_frame(notify_frame(7, 4))
    await asyncio.sleep(0)
    assert len(transport.writes) == 1
    assert conn.stats.acks == 3
    transport.closing = False
    await conn._handle_frame(notify_frame(7, 5))
    conn.closed = True  # closed before the end of the iteration: dropped
    await asyncio.sleep(0)
    assert len(transport.writes) == 1
    assert len(handled) == 5


async def test_batched_acks_are_framed() -> None:
    """Each batched ack is a framed protocol buffer ``00 00 00 01`` + Message, as every message on 'openapi'."""
    transport = _Transport()
    conn, _ = connection(transport)
    await conn._handle_frame(notify_frame(3, 9))
    await asyncio.sleep(0)
    (payload,) = unmask(transport.writes[0])
    assert payload[:4] == FRAME_HEADER
    assert decode_message(payload) == pb.Message(notifyack=pb.NotifyAck(subscribe_id=3, notify_id=9))


async def test_traced_ack_reads_as_before(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice.mtcti3.trace")
    transport = _Transport()
    conn, _ = connection(transport)
    await conn._handle_frame(notify_frame(3, 9))
    await asyncio.sleep(0)
    text = caplog.text
    assert "recv - sub=3 notify {" in text  # "-": a connection built without an address (a real one has host:port)
    assert "send - sub=3 notifyack { subscribe_id: 3 notify_id: 9 }" in text


def test_frame_writer_only_for_a_masking_uncompressed_aiohttp_writer() -> None:
    transport = _Transport()
    assert _FrameWriter.of(_Socket(transport)) is not None
    assert _FrameWriter.of(_Socket(transport, use_mask=False)) is None
    assert _FrameWriter.of(_Socket(transport, compress=15)) is None
    assert _FrameWriter.of(_Socket(object())) is None
    assert _FrameWriter.of(object()) is None


def test_frame_writer_masks_every_length() -> None:
    transport = _Transport()
    assert _MASK is not None
    writer = _FrameWriter(transport, _MASK)
    payloads = [os.urandom(size) for size in range(_FrameWriter.MAX_PAYLOAD + 1)]
    writer.write(payloads)
    assert len(transport.writes) == 1
    assert unmask(transport.writes[0]) == payloads
    with pytest.raises(ValueError, match="too long"):
        writer.write([bytes(_FrameWriter.MAX_PAYLOAD + 1)])


async def test_a_failing_notify_handler_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    transport = _Transport()
    conn, _ = connection(transport)

    def fail(_notify: pb.Notify) -> None:
        raise RuntimeError("boom")

    conn._on_notify = fail
    await conn._handle_frame(notify_frame(3, 9))
    assert "Failed to handle MTCTI-3 notify message; skipped" in caplog.text
    await asyncio.sleep(0)
    assert conn.stats.acks == 1  # acked before it was handed on


class _PlainSocket:
    """A websocket without aiohttp's frame writer: each ack goes through send_bytes."""

    def __init__(self, error: Exception | None = None) -> None:
        self.closed = False
        self.sent: list[bytes] = []
        self.error = error

    async def send_bytes(self, data: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(data)


@pytest.mark.parametrize("closed", [False, True])
async def test_an_ack_that_cannot_be_sent_drops_the_notify(closed: bool) -> None:
    """Without a writer to batch on, acks are sent one by one; one that fails (or a closed socket) ends there."""
    socket = _PlainSocket(None if closed else ConnectionResetError("gone"))
    socket.closed = closed
    handled: list[pb.Notify] = []
    conn = Connection(
        socket,  # type: ignore[arg-type]
        Subprotocol.FRAMED,
        ClientStats(),
        lambda _message: None,
        lambda _reason: None,
        on_notify=handled.append,
    )
    await conn._handle_frame(notify_frame(3, 9))
    assert handled == []
    assert conn.stats.acks == 0
    conn._flush_acks()  # nothing queued, no writer: nothing to do
    assert socket.sent == []
