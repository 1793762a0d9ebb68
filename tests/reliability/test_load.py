"""Sustained load, CI size: 200 concurrent calls with churn plus 500 users' config changes, over real sockets.

The long run is ``benchmarks/bench_load.py`` (several minutes, 3000 users). This test asserts the same invariants
at a size that fits CI:

- no growing queue: the simulator's pending-notify backlog (per subscription and in total) and the client's own
  queues (tasks, outstanding requests, live calls) are sampled during the run and do not grow;
- no missed ack: every notify the simulator sent was acked (client notifies == acks == simulator notify ids
  used), no stray acks, and the simulator drains to quiet when the load stops;
- no event lost: every call appearance that started produced exactly one NEW and one ENDED, and each kind of
  event (ANSWERED, HELD, RESUMED, MISSED) was seen exactly as often as the simulator was made to cause it;
- config changes applied: after 500 users' changes (from the system and through client commands) the client's
  model of every user equals the simulator's truth.

``IPOFFICE_SEED`` replays a run (see conftest.py).
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import AbsenceMessage, CallEvent, CallEventType, IPOfficeClient
from simulator import Simulator, generate_scenario
from simulator.model import Call as SimCall
from simulator.scenario import User as SimUser

from .conftest import PASSWORD, USERNAME, make_sim, trust

USERS = 520
CALLS = 200
CONFIG_USERS = 500
SECONDS = 15.0
ACTIONS_PER_SECOND = 300.0  # call steps offered per second (each is one or two notifies)
SAMPLE_EVERY = 0.25
STEP_BURST = 50  # call steps at most per loop turn, so that the client gets its turns

pytestmark = pytest.mark.timeout(120)


# --- the load -----------------------------------------------------------------------------------------------------


@dataclass
class Expected:
    """What the simulator was made to do, per kind of call event the client must report."""

    counts: Counter[CallEventType] = field(default_factory=Counter)


class Churn:
    """``len(extns)`` slots, each a trunk call to its own user: ring, answer, hold, resume, hang up, ring again.

    Some calls are missed (the caller gives up while it rings) and some are dropped by the user, so that every
    kind of ending is exercised. What each step must make the client report is counted in ``expected``.
    """

    def __init__(self, sim: Simulator, extns: list[str], rng: random.Random) -> None:
        self.sim = sim
        self.extns = extns
        self.rng = rng
        self.calls: list[SimCall | None] = [None] * len(extns)
        self.phase: list[str] = ["idle"] * len(extns)
        self.next = 0
        self.expected = Expected()
        self.actions = 0

    def ring(self, index: int) -> None:
        self.calls[index] = self.sim.incoming_call(self.extns[index], f"0170{index:07d}", "Load caller")
        self.phase[index] = "ringing"
        self.expected.counts[CallEventType.NEW] += 1

    def end(self, index: int, *, by_user: bool) -> None:
        call = self.calls[index]
        assert call is not None
        ringing = self.phase[index] == "ringing"
        self.sim.hangup(call, by=self.extns[index] if by_user else "caller")
        self.expected.counts[CallEventType.ENDED] += 1
        if ringing and not by_user:
            self.expected.counts[CallEventType.MISSED] += 1
        self.calls[index] = None
        self.phase[index] = "idle"

    def step(self) -> None:
        """Move the next slot one step on."""
        index = self.next
        self.next = (index + 1) % len(self.extns)
        self.actions += 1
        call, phase, roll = self.calls[index], self.phase[index], self.rng.random()
        extn = self.extns[index]
        if call is None:
            self.ring(index)
        elif phase == "ringing":
            if roll < 0.15:
                self.end(index, by_user=False)  # missed
            else:
                self.sim.answer(call, by=extn)
                self.phase[index] = "connected"
                self.expected.counts[CallEventType.ANSWERED] += 1
        elif phase == "connected":
            if roll < 0.5:
                self.sim.hold(call, by=extn)
                self.phase[index] = "held"
                self.expected.counts[CallEventType.HELD] += 1
            else:
                self.end(index, by_user=roll < 0.7)
        else:  # held
            self.sim.unhold(call, by=extn)
            self.phase[index] = "connected"
            self.expected.counts[CallEventType.RESUMED] += 1

    def end_all(self) -> None:
        for index, call in enumerate(self.calls):
            if call is not None:
                if self.phase[index] == "held":
                    self.sim.unhold(call, by=self.extns[index])
                    self.phase[index] = "connected"
                    self.expected.counts[CallEventType.RESUMED] += 1
                self.end(index, by_user=False)


def config_change(sim: Simulator, user: SimUser, rng: random.Random, *, routing: bool) -> None:
    """One change of a user's configuration on the system side (``routing``: DND and forwarding too)."""
    choice = rng.randrange(5 if routing else 3)
    if choice == 0:
        text = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
        absence = None if rng.random() < 0.3 else (int(rng.choice(list(AbsenceMessage))), text)
        sim.update_user(user.extn, absence=absence)
    elif choice == 1:
        sim.update_user(user.extn, mailbox=(rng.randrange(50), rng.randrange(50), rng.randrange(5)))
    elif choice == 2:
        sim.update_user(user.extn, app=f"load {rng.randrange(10**6)}")
    elif choice == 3:
        sim.update_user(user.extn, dnd=not user.dnd)
    else:
        sim.update_user(user.extn, fwdunumber=f"0770{rng.randrange(10**7):07d}")


def truth(user: SimUser) -> tuple[Any, ...]:
    """The configuration of a simulator user as the client models it."""
    absence = (user.absence_msg, user.absence_str) if user.absence_set else None
    return (
        user.name,
        user.dnd,
        absence,
        (user.mailbox_new, user.mailbox_old, user.mailbox_saved),
        user.app,
        user.fwdunumber,
    )


def modelled(client: IPOfficeClient, guid: str) -> tuple[Any, ...]:
    """The same fields of the client's model of the user."""
    user = client.users[guid]
    absence = None if user.absence is None else (int(user.absence.message), user.absence.text)
    mailbox = None if user.mailbox is None else (user.mailbox.new, user.mailbox.old, user.mailbox.saved)
    return (user.name, user.dnd, absence, mailbox, user.app, user.fwdu_number)


# --- measurements -------------------------------------------------------------------------------------------------


def sim_backlog(sim: Simulator) -> dict[int, int]:
    """Notifies waiting per subscription (queued plus the one awaiting its ack), and frames queued to be written."""
    per_sub: dict[int, int] = {}
    for session in sim.sessions:
        for sid, sub in session.subs.items():
            per_sub[sid] = len(sub.pending) + (sub.awaiting is not None)
        per_sub[-1] = per_sub.get(-1, 0) + session._out.qsize()
    return per_sub


def sim_notifies_sent(sim: Simulator) -> int:
    """Notifies the simulator has sent so far (notify ids count from 1 per subscription)."""
    return sum(sub.next_id - 1 for session in sim.sessions for sub in session.subs.values())


def client_queues(client: IPOfficeClient) -> dict[str, int]:
    """The sizes of the client's own queues and live collections."""
    conn = getattr(client, "_conn", None)
    return {
        "tasks": len(asyncio.all_tasks()),
        "client_tasks": len(getattr(client, "_tasks", ())),
        "requests": len(getattr(conn, "_pending", ())) + len(getattr(conn, "_data", ())),
        "live_calls": sum(len(user.calls) for user in client.users.values()),
    }


def grows(samples: list[int], slack: int) -> bool:
    """Whether a sampled size grew: the last quarter's median well above the first quarter's."""
    if len(samples) < 8:
        return False
    quarter = len(samples) // 4
    first, last = statistics.median(samples[:quarter]), statistics.median(samples[-quarter:])
    return last > 2 * first + slack


# --- the test -----------------------------------------------------------------------------------------------------


@pytest.fixture
async def big_sim(socket_enabled: None, seed: int) -> AsyncIterator[Simulator]:
    """A simulator of a generated system of USERS users and a few queues."""
    simulator = make_sim(scenario=generate_scenario(users=USERS, queues=5, seed=seed))
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_sustained_calls_and_config_changes(big_sim: Simulator, seed: int) -> None:
    """200 concurrent calls with churn and 500 users' config changes: nothing queues up, nothing is lost."""
    sim = big_sim
    rng = random.Random(seed)
    client = IPOfficeClient("127.0.0.1", USERNAME, PASSWORD, port=sim.port, ssl_context=trust(sim))
    client.reconcile_delay = 0.05
    received: Counter[CallEventType] = Counter()
    per_call: dict[tuple[str, int], Counter[CallEventType]] = {}

    def on_call(event: CallEvent) -> None:
        received[event.type] += 1
        key = (event.call.owner_guid, event.call.call_id)
        per_call.setdefault(key, Counter())[event.type] += 1

    client.add_call_listener(on_call)
    await client.connect()
    try:
        assert len(client.users) == USERS
        users = list(sim.model.users.values())
        free = [user for user in users if not (user.dnd or user.fwdu or user.loggedoff)]
        call_users = free[:CALLS]
        assert len(call_users) == CALLS
        churn = Churn(sim, [user.extn for user in call_users], rng)
        in_calls = {user.extn for user in call_users}
        changed = users[:CONFIG_USERS]
        commanded = changed[::10]  # every tenth one through the client's commands as well
        guid_of = {user.extn: user.guid.hex().upper() for user in users}

        backlog_total: list[int] = []
        backlog_max_per_sub: list[int] = []
        peaks: Counter[int] = Counter()
        client_sizes: dict[str, list[int]] = {}
        notifies0 = client.stats.notifies

        def sample() -> None:
            per_sub = sim_backlog(sim)
            backlog_total.append(sum(per_sub.values()))
            backlog_max_per_sub.append(max((v for k, v in per_sub.items() if k >= 0), default=0))
            for sid, value in per_sub.items():
                peaks[sid] = max(peaks[sid], value)
            for name, value in client_queues(client).items():
                client_sizes.setdefault(name, []).append(value)

        async def drive_calls() -> None:
            loop = asyncio.get_running_loop()
            start = loop.time()
            next_sample = start
            while (elapsed := loop.time() - start) < SECONDS:
                burst = 0
                while churn.actions < ACTIONS_PER_SECOND * elapsed and burst < STEP_BURST:
                    churn.step()
                    burst += 1
                if loop.time() >= next_sample:
                    sample()
                    next_sample += SAMPLE_EVERY
                await asyncio.sleep(0.005)

        async def drive_config() -> None:
            pace = SECONDS * 0.8 / len(changed)
            for user in changed:
                config_change(sim, user, rng, routing=user.extn not in in_calls)
                await asyncio.sleep(pace)
            for user in commanded:
                guid = guid_of[user.extn]
                await client.set_app_presence(guid, f"cmd {user.extn}")
                await client.set_absence(guid, AbsenceMessage.BACK_SOON, "ok")
                if user.extn not in in_calls:
                    await client.set_dnd(guid, not user.dnd)

        await asyncio.gather(drive_calls(), drive_config())
        churn.end_all()
        await sim.wait_quiet(timeout=30)
        sample()

        figures = (
            f"seed {seed}: {churn.actions} call steps, {client.stats.notifies - notifies0} notifies in "
            f"{SECONDS:g} s; backlog total max {max(backlog_total)}, per subscription max {max(backlog_max_per_sub)}; "
            f"client { ({k: max(v) for k, v in client_sizes.items()}) }; events {dict(received)}"
        )
        print(figures)

        assert churn.actions >= 5 * CALLS, figures  # every call went through a few steps at least

        # No missed ack: everything the simulator sent was acked, once, by this client.
        assert sim.bad_acks == 0, figures
        assert client.stats.notifies == client.stats.acks, figures
        assert client.stats.notifies == sim_notifies_sent(sim), figures
        assert all(value == 0 for value in sim_backlog(sim).values()), sim_backlog(sim)
        assert client.stats.bad_frames == 0
        assert client.stats.reconnects == 0

        # No growing queue, on either side.
        assert not grows(backlog_total, slack=2 * CALLS), (backlog_total, figures)
        assert not grows(backlog_max_per_sub, slack=20), (backlog_max_per_sub, figures)
        for name, values in client_sizes.items():
            assert not grows(values, slack=CALLS if name == "live_calls" else 20), (name, values)
        assert client_sizes["requests"][-1] == 0
        assert client_sizes["live_calls"][-1] == 0
        assert not sim.active_calls

        # No event lost: one NEW and one ENDED per call appearance, every kind exactly as caused.
        assert len(per_call) == churn.expected.counts[CallEventType.NEW], figures
        wrong = {key: dict(counts) for key, counts in per_call.items() if counts[CallEventType.NEW] != 1}
        wrong |= {key: dict(counts) for key, counts in per_call.items() if counts[CallEventType.ENDED] != 1}
        assert not wrong, list(wrong.items())[:5]
        for kind, count in churn.expected.counts.items():
            assert received[kind] == count, (kind, received[kind], count, figures)

        # Config changes applied: the model of every user is the simulator's truth.
        mismatched = [
            (user.extn, truth(user), modelled(client, guid_of[user.extn]))
            for user in users
            if truth(user) != modelled(client, guid_of[user.extn])
        ]
        assert not mismatched, mismatched[:5]
    finally:
        await client.disconnect()
