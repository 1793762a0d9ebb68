"""Client path: notifies per second through decode -> model update -> call diff -> typed event -> NotifyAck encode.

Run: ``.venv/bin/python benchmarks/bench_client_path.py [--quick] [--json]``.

The frames are real: a client connects to an in-process simulator (a generated system), a contact-centre mix is
played (queue calls ringing agents and answered, direct calls answered, held, resumed and hung up, missed calls,
DND and voicemail changes, queue service changes) and every frame the client receives is recorded. Then the same
client replays them through ``Connection._receive`` (what its reader calls for each frame) on a websocket
stand-in: aiohttp's own frame writer (it builds and masks each websocket frame) on a transport whose write only
counts. That is the full per-notify work of the client, with a call listener that counts the typed events, and
nothing of the network. The NotifyAcks the connection queues for the end of a loop iteration are written at the end
of each read as the recording saw them (how many frames each loop iteration of the recording handled); a second
row writes them after every frame (one write per ack, the worst case). The floor, in the same run, is a bare
``Message.ParseFromString`` of the same payloads. Repeated, medians.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
import time
from collections.abc import Coroutine
from typing import Any

from _common import PASSWORD, USERNAME, Report, Row, median, parser, print_report
from aiohttp import WSMsgType
from aiohttp._websocket.writer import WebSocketWriter

from custom_components.ipoffice.mtcti3 import IPOfficeClient, TLSMode
from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER, Subprotocol
from custom_components.ipoffice.mtcti3.connection import Connection
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator, SimulatorConfig, generate_scenario

TARGET = 0.10


class _CountingTransport(asyncio.WriteTransport):
    """A transport whose write counts the writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False


class _Protocol:
    """What aiohttp's frame writer asks of its protocol: never paused (the transport takes everything)."""

    _paused = False


class _CountingSocket:
    """A websocket stand-in: aiohttp's frame writer (masking, as a client does) on a counting transport."""

    closed = False

    def __init__(self) -> None:
        self.transport = _CountingTransport()
        self._writer = WebSocketWriter(_Protocol(), self.transport, use_mask=True)  # type: ignore[arg-type]

    async def send_bytes(self, data: bytes) -> None:
        await self._writer.send_frame(data, WSMsgType.BINARY)


async def record_frames(
    users: int, queues: int, rounds: int
) -> tuple[IPOfficeClient, list[bytes], list[int], dict[str, int]]:
    """Connect a client to a simulator, play the mix; return the client, the frames it received, how many frames
    each loop iteration handled (the frames of one read, whose acks share one write) and the mix."""
    sim = Simulator(
        SimulatorConfig(host="127.0.0.1", port=0, scenario=generate_scenario(users=users, queues=queues, seed=7))
    )
    await sim.start()
    frames: list[bytes] = []
    reads: list[int] = []  # how many frames each loop iteration handled, in order
    original = Connection._receive
    loop = asyncio.get_running_loop()
    in_read = [False]

    def read_done() -> None:
        in_read[0] = False

    def recording(self: Connection, data: bytes) -> Coroutine[Any, Any, None] | None:
        if not in_read[0]:
            in_read[0] = True
            reads.append(0)
            loop.call_soon(read_done)
        reads[-1] += 1
        frames.append(bytes(data))
        return original(self, data)

    client = IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=sim.port, tls=TLSMode.INSECURE, reconnect=False)
    try:
        await client.connect()
        await sim.wait_quiet(timeout=60)
        Connection._receive = recording  # type: ignore[method-assign]
        rng = random.Random(3)
        model = sim.model
        free = [u.extn for u in model.users.values() if not (u.dnd or u.fwdu or u.loggedoff)]
        active_queues = [q.extn for q in model.queues.values() if q.servicemode == "Active" and q.members]
        for _ in range(rounds):
            # queue calls: ring the agents, one answers, later hangs up; some abandoned
            for queue in rng.sample(active_queues, min(6, len(active_queues))):
                call = sim.incoming_call(queue, f"01{rng.randrange(10**9):09d}", "Acme Ltd")
                ringing = [k for k in call.callids if not k.startswith(queue) and call.state(k) == "RINGING"]
                if ringing and rng.random() < 0.8:
                    agent = rng.choice(ringing)
                    sim.answer(call, by=agent)
                    sim.hold(call, by=agent)
                    sim.unhold(call, by=agent)
                    sim.hangup(call, by=rng.choice(["caller", agent]))
                else:
                    sim.hangup(call, by="caller")
            # direct calls: answered, held, resumed, hung up; some missed
            for extn in rng.sample(free, min(10, len(free))):
                call = sim.incoming_call(extn, f"07{rng.randrange(10**9):09d}")
                if rng.random() < 0.8:
                    sim.answer(call, by=extn)
                    sim.hold(call, by=extn)
                    sim.unhold(call, by=extn)
                sim.hangup(call, by="caller")
            a, b = rng.sample(free, 2)
            call = sim.internal_call(a, b)
            sim.answer(call, by=b)
            sim.hangup(call, by=a)
            # configuration: DND, voicemail, queue service
            user = rng.choice(free)
            sim.update_user(user, dnd=True)
            sim.update_user(user, dnd=False)
            sim.set_mailbox(rng.choice(free), new=rng.randint(0, 5))
            queue = rng.choice(active_queues)
            sim.update_queue(queue, servicemode="NS")
            sim.update_queue(queue, servicemode="Active")
            await sim.wait_quiet(timeout=60)
    finally:
        Connection._receive = original  # type: ignore[method-assign]
    subs = dict(client._subs)
    await client.disconnect()
    await sim.stop()
    client._subs = subs  # replay onto the same model and subscriptions
    kinds: dict[str, int] = {}
    for data in frames:
        message = pb.Message()
        message.ParseFromString(data[len(FRAME_HEADER) :])
        kind = message.notify.WhichOneof("payload") if message.WhichOneof("payload") == "notify" else "other"
        kinds[str(kind)] = kinds.get(str(kind), 0) + 1
    return client, frames, reads, kinds


async def replay(conn: Connection, frames: list[bytes], reads: list[int] | None = None) -> float:
    """Handle every frame once; return the CPU seconds taken.

    Each frame is handled as the reader does (synchronously: on aiohttp's writer the acks are batched). The
    NotifyAcks queued are written at the end of each read as recorded (``reads``: the acks of the frames one loop
    iteration handled share one write, as in the client), or after every frame (``reads`` None: one write per ack,
    the worst case). Every 64 frames the loop runs once, so that what the connection scheduled for the end of an
    iteration runs, as it would in a client.
    """
    receive = conn._receive
    flush = conn._flush_acks
    ends = set(itertools.accumulate(reads)) if reads is not None else None
    start = time.process_time()
    for index, data in enumerate(frames, 1):
        if receive(data) is not None:  # pragma: no cover - the stand-in has aiohttp's frame writer
            raise RuntimeError("the client path sent an ack on its own")
        if ends is None or index in ends:
            flush()
        if not index % 64:
            await asyncio.sleep(0)
    flush()
    await asyncio.sleep(0)
    return time.process_time() - start


def bare_parse(payloads: list[bytes]) -> float:
    """The floor: ``Message.ParseFromString`` of each payload."""
    message_type = pb.Message
    start = time.process_time()
    for payload in payloads:
        message_type().ParseFromString(payload)
    return time.process_time() - start


async def run(quick: bool, repeat: int) -> Report:
    client, frames, reads, kinds = await record_frames(300, 30, 4 if quick else 20)
    socket = _CountingSocket()
    conn = Connection(
        socket,  # type: ignore[arg-type]
        Subprotocol.FRAMED,
        client.stats,
        client._on_message,
        lambda _reason: None,
        on_notify=client._on_notify,
    )
    events = [0]

    def count(_event: Any) -> None:
        events[0] += 1

    client.add_call_listener(count)
    payloads = [data[len(FRAME_HEADER) :] for data in frames]
    notifies = sum(count for kind, count in kinds.items() if kind != "other")
    passes = 2 if quick else 10
    client_times: list[float] = []
    floor_times: list[float] = []
    await replay(conn, frames, reads)  # warm up
    bare_parse(payloads)
    gc.collect()
    writes = socket.transport.writes
    for _ in range(repeat):
        client_times.append(sum([await replay(conn, frames, reads) for _ in range(passes)]))
        floor_times.append(sum(bare_parse(payloads) for _ in range(passes)))
    writes = (socket.transport.writes - writes) // (repeat * passes)
    worst_times = [sum([await replay(conn, frames) for _ in range(passes)]) for _ in range(repeat)]
    total = len(frames) * passes
    client_rate = total / median(client_times)
    worst_rate = total / median(worst_times)
    floor_rate = total / median(floor_times)
    ratio = client_rate / floor_rate
    worst_ratio = worst_rate / floor_rate
    report = Report("client path (decode -> model -> call diff -> event -> NotifyAck)")
    report.add(
        Row(
            "client path",
            client_rate,
            "notifies/s",
            floor=floor_rate,
            ratio=ratio,
            target=f"ratio >= {TARGET}",
            passed=ratio >= TARGET,
            note="acks written per read, as recorded",
        )
    )
    report.add(Row("per notify: client", 1e6 / client_rate, "us", floor=1e6 / floor_rate))
    report.add(
        Row(
            "per notify: one write per ack",
            1e6 / worst_rate,
            "us",
            floor=1e6 / floor_rate,
            ratio=worst_ratio,
            note="the worst case: every read one frame",
        )
    )
    report.extra.update(
        {
            "frames": len(frames),
            "notify mix": ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())),
            "reads (loop iterations) recorded": f"{len(reads)}, {len(frames) / max(1, len(reads)):.1f} frames each",
            "call events per pass": events[0] // (1 + 2 * repeat * passes),
            "ack writes per pass (per read)": writes,
            "notifies": notifies,
            "repeats": f"{repeat} x {passes} passes, medians",
        }
    )
    return report


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    repeat = args.repeat or (1 if args.quick else 5)
    report = asyncio.run(run(args.quick, repeat))
    print_report(report, as_json=args.json)


if __name__ == "__main__":
    main()
