"""Property-based tests: no frame crashes the client, every bad frame is counted and named; any sequence of call
snapshots yields a consistent event stream."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.ipoffice.mtcti3 import CallEventType, CallState
from custom_components.ipoffice.mtcti3.calls import apply_call_control
from custom_components.ipoffice.mtcti3.codec import (
    FRAME_HEADER,
    FrameError,
    Subprotocol,
    decode_message,
    encode_message,
)
from custom_components.ipoffice.mtcti3.connection import ClientStats, Connection
from custom_components.ipoffice.mtcti3.const import HELD_STATES, Subsystem
from custom_components.ipoffice.mtcti3.models import Call, CallEvent
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator

from .conftest import ClientFactory, seed_from_env, wait_for

FUZZ = settings(
    max_examples=300,
    deadline=None,
    # caplog is cleared for each example by the test itself.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# --- framing and decoding ---------------------------------------------------------------------------------------


def _valid_message_bytes() -> st.SearchStrategy[bytes]:
    """Serialized messages of real shapes (a notify, a response, a terminated subscription)."""

    def build(kind: int, a: int, b: int, text: str) -> bytes:
        message = pb.Message()
        if kind == 0:
            message.notify.subscribe_id = a
            message.notify.notify_id = b
            info = message.notify.callcontrol.callinfo.add()
            info.callid = a
            info.callingparty.number = text
        elif kind == 1:
            message.response.requestid = a
            message.response.result = b
        else:
            message.subscribeterminated.subscribe_id = a
            message.subscribeterminated.reason = text
        return message.SerializeToString()

    ints = st.integers(min_value=0, max_value=2**31 - 1)
    return st.builds(build, st.integers(0, 2), ints, ints, st.text(max_size=20))


FRAMES = st.one_of(
    st.binary(max_size=200),  # anything at all
    st.binary(max_size=200).map(lambda data: FRAME_HEADER + data),  # the right header, garbage after it
    _valid_message_bytes().map(lambda data: FRAME_HEADER + data),  # a good frame ...
    st.tuples(_valid_message_bytes(), st.integers(0, 300)).map(  # ... cut short anywhere
        lambda pair: (FRAME_HEADER + pair[0])[: pair[1]]
    ),
    st.tuples(_valid_message_bytes(), st.binary(min_size=1, max_size=8)).map(  # ... with bytes appended
        lambda pair: FRAME_HEADER + pair[0] + pair[1]
    ),
)


@FUZZ
@given(data=FRAMES, framed=st.booleans())
def test_decoding_never_raises_anything_but_a_frame_error(data: bytes, framed: bool) -> None:
    """decode_message either returns a Message with a payload or raises a FrameError that names the problem."""
    subprotocol = Subprotocol.FRAMED if framed else Subprotocol.UNFRAMED
    try:
        message = decode_message(data, subprotocol)
    except FrameError as err:
        error: FrameError | None = err
    else:
        error = None
    if error is not None:
        assert str(error)
        assert error.data == data[:64]
    else:
        assert message.WhichOneof("payload") is not None
        # What decodes re-encodes to something that decodes to the same message.
        assert decode_message(encode_message(message, subprotocol), subprotocol) == message


class _FakeSocket:
    """Just enough of a websocket for Connection to answer notifies with a NotifyAck."""

    closed = False

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A private loop for the synchronous property tests that drive the connection's frame handler."""
    new = asyncio.new_event_loop()
    yield new
    new.close()


@FUZZ
@given(frames=st.lists(FRAMES, min_size=1, max_size=20))
def test_connection_counts_and_names_every_bad_frame(
    loop: asyncio.AbstractEventLoop, frames: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    """The connection's frame handler survives any input: a frame that does not decode is counted in bad_frames
    and logged with a line naming the problem; a good one reaches the client (and a notify is acked)."""
    stats = ClientStats()
    handled: list[pb.Message] = []
    socket = _FakeSocket()
    conn = Connection(socket, Subprotocol.FRAMED, stats, handled.append, lambda _reason: None)  # type: ignore[arg-type]
    expected_bad = 0
    expected_acks = 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="custom_components.ipoffice.mtcti3.connection"):
        for data in frames:
            try:
                message = decode_message(data)
            except FrameError:
                expected_bad += 1
            else:
                kind = message.WhichOneof("payload")
                expected_acks += kind == "notify" and message.notify.notify_id != 0
            loop.run_until_complete(conn._handle_frame(data))
    assert stats.frames_in == len(frames)
    assert stats.bad_frames == expected_bad
    assert stats.acks == expected_acks == len(socket.sent)
    skipped = [r for r in caplog.records if r.getMessage().startswith("Skipped a bad MTCTI-3 frame: ")]
    assert len(skipped) == expected_bad
    assert all("first bytes" in record.getMessage() for record in skipped)


async def test_bad_frames_over_the_wire(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    """Hundreds of random, truncated and mangled frames on a real connection: each bad one counted and skipped,
    the connection stays up and the model stays true."""
    client = await make_client()
    rng = random.Random(seed)
    good = pb.Message()
    good.notify.subscribe_id = 0x7FFFFFF0  # no such subscription: harmless when a mangled copy still decodes
    good.notify.callcontrol.callinfo.add(callid=7).callingparty.number = "01707123456"
    template = encode_message(good)
    frames: list[bytes] = []
    for _ in range(400):
        roll = rng.random()
        if roll < 0.3:
            frames.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))))
        elif roll < 0.6:
            frames.append(template[: rng.randrange(len(template))])
        elif roll < 0.8:
            mangled = bytearray(template)
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            frames.append(bytes(mangled))
        else:
            frames.append(FRAME_HEADER + bytes(rng.randrange(256) for _ in range(rng.randint(0, 40))))
    expected_bad = 0
    for data in frames:
        try:
            decode_message(data)
        except FrameError:
            expected_bad += 1
    before = client.stats.frames_in
    for data in frames:
        sim.faults.send_raw(data)
    await wait_for(lambda: client.stats.frames_in - before >= len(frames), message="every frame read")
    assert client.stats.bad_frames == expected_bad
    assert caplog.text.count("Skipped a bad MTCTI-3 frame") == expected_bad
    assert client.connected
    sim.update_user("2002", dnd=True)
    await sim.wait_quiet()
    bob = client.user_by_extn("2002")
    assert bob is not None
    assert bob.dnd


# --- the call diff ---------------------------------------------------------------------------------------------

CALL_IDS = st.integers(1, 4)
STATES = st.one_of(st.sampled_from([int(state) for state in CallState]), st.integers(24, 40))
GCIDS = st.sampled_from([b"", b"\x01\x01", b"\x02\x02"])


@st.composite
def notifies(draw: st.DrawFn) -> pb.NotifyCallControl:
    notify = pb.NotifyCallControl()
    for _ in range(draw(st.integers(0, 3))):
        info = notify.callinfo.add()
        info.callid = draw(CALL_IDS)
        info.state = draw(STATES)  # type: ignore[assignment]
        info.direction = draw(st.integers(0, 3))  # type: ignore[assignment]
        info.gcid = draw(GCIDS)
        if draw(st.booleans()):
            info.connectedparty.number = draw(st.sampled_from(["201", "202", "01707123456"]))
    for _ in range(draw(st.integers(0, 2))):
        lost = notify.calllost.add()
        lost.callid = draw(st.integers(1, 5))
        lost.thisenddropped = draw(st.booleans())
    return notify


@FUZZ
@given(steps=st.lists(notifies(), max_size=25), owner=st.sampled_from([Subsystem.USER, Subsystem.QUEUE]))
def test_any_snapshot_sequence_gives_a_consistent_event_stream(
    steps: list[pb.NotifyCallControl], owner: Subsystem
) -> None:
    """Per call: NEW first; then changes; ENDED exactly once to close it (a reused call id with another gcid ends
    the old call first); ANSWERED at most once per call and only when connected; RESUMED only after a hold;
    MISSED/ABANDONED only right after ENDED of a call never answered; the live calls match the last snapshots."""
    calls: dict[int, Call] = {}
    live: dict[int, dict[str, Any]] = {}  # call id -> the life being followed
    expected_state: dict[int, CallState] = {}
    last_ended: CallEvent | None = None
    for time_, notify in enumerate(steps):
        events = apply_call_control(calls, notify, owner, "OWNER", float(time_))
        for event in events:
            call_id = event.call.call_id
            life = live.get(call_id)
            if event.type is CallEventType.NEW:
                assert life is None, f"NEW for call {call_id} that is live"
                live[call_id] = {"answered": False, "state": event.call.state}
            elif event.type in (CallEventType.MISSED, CallEventType.ABANDONED):
                assert last_ended is not None
                assert last_ended.call.call_id == call_id
                assert not last_ended.call.answered
                continue
            else:
                assert life is not None, f"{event.type} for call {call_id} that is not live"
            life = live[call_id]
            if event.type is CallEventType.STATE_CHANGED:
                assert event.previous_state is life["state"]
                assert event.call.state is not life["state"]
                life["state"] = event.call.state
            elif event.type is CallEventType.ANSWERED:
                assert event.call.state is CallState.CONNECTED
                assert not life["answered"]
                life["answered"] = True
            elif event.type is CallEventType.RESUMED:
                assert event.previous_state in HELD_STATES
            elif event.type is CallEventType.ENDED:
                del live[call_id]
                last_ended = event
        for info in notify.callinfo:
            state = CallState(info.state) if info.state in CallState._value2member_map_ else CallState.UNKNOWN
            expected_state[info.callid] = state
        for lost in notify.calllost:
            expected_state.pop(lost.callid, None)
        assert set(calls) == set(live) == set(expected_state)
        assert {call_id: call.state for call_id, call in calls.items()} == expected_state


def test_seed_is_reproducible() -> None:
    """The seed helper honours IPOFFICE_SEED (what every randomized test here prints)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPOFFICE_SEED", "4242")
        assert seed_from_env() == 4242
