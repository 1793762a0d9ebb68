"""IP Office's own timers in the simulator: no call rings, queues or waits for ever, and the demo traffic never
wedges itself (it ran for about 33 minutes before, then froze)."""

from __future__ import annotations

import asyncio
import itertools

from simulator import Simulator, SimulatorConfig
from simulator.model import S
from simulator.timers import CALLER_PATIENCE, FAR_END_NO_ANSWER, VOICEMAIL_MESSAGE, CallTimers


def _timers() -> tuple[Simulator, CallTimers]:
    sim = Simulator(SimulatorConfig())
    return sim, CallTimers(sim)


def test_unanswered_user_call_goes_to_voicemail_then_ends() -> None:
    sim, timers = _timers()
    call = sim.incoming_call("2002", "01707123456")
    bob = sim.model.user("2002")
    timers.sweep(0)
    timers.sweep(bob.noanswertime - 1)
    assert call.state("2002") == "RINGING"
    timers.sweep(bob.noanswertime)
    assert call.state("2002") == "ANSWEREDBYVOICEMAIL"
    timers.sweep(bob.noanswertime + 1)
    timers.sweep(bob.noanswertime + 1 + VOICEMAIL_MESSAGE)
    assert call.ended
    assert sim.model.user("2002").mailbox_new == 1  # the message was left


def test_user_without_voicemail_rings_until_the_caller_gives_up() -> None:
    sim, timers = _timers()
    call = sim.incoming_call("2012", "01707123456")  # Liam has no voicemail
    timers.sweep(0)
    timers.sweep(CALLER_PATIENCE - 1)
    assert call.state("2012") == "RINGING"
    timers.sweep(CALLER_PATIENCE)
    assert call.ended


def test_queue_call_nobody_can_take_goes_to_the_queue_voicemail() -> None:
    sim, timers = _timers()
    for extn in ("2001", "2002", "2003"):
        sim.update_user(extn, dnd=True)
    call = sim.incoming_call("2501", "01707123456")
    sales = sim.model.queue("2501")
    timers.sweep(0)
    assert call.state("2501") == "QUEUEING"
    timers.sweep(sales.voicemailtime)
    assert call.state("2501") == "ANSWEREDBYVOICEMAIL"


def test_queue_without_voicemail_loses_the_caller() -> None:
    sim, timers = _timers()
    sim.update_queue("2501", voicemail=False)
    for extn in ("2001", "2002", "2003"):
        sim.update_user(extn, dnd=True)
    call = sim.incoming_call("2501", "01707123456")
    timers.sweep(0)
    timers.sweep(CALLER_PATIENCE - 1)
    assert not call.ended
    timers.sweep(CALLER_PATIENCE)
    assert call.ended


def test_outside_number_that_never_answers_is_given_up() -> None:
    sim, timers = _timers()
    call = sim.outgoing_call("2001", "01707999")
    timers.sweep(0)
    timers.sweep(FAR_END_NO_ANSWER - 1)
    assert call.state("2001") == "RINGBACK"
    timers.sweep(FAR_END_NO_ANSWER)
    assert call.ended


def test_a_connected_call_is_left_alone() -> None:
    sim, timers = _timers()
    call = sim.incoming_call("2002", "01707123456")
    sim.answer(call, by="2002")
    for now in (0, 600, 3600):
        timers.sweep(now)
    assert call.state("2002") == "CONNECTED"


async def test_an_hour_of_demo_traffic_keeps_flowing() -> None:
    """An hour of the demo's traffic (at 240 times real time) with the timers: calls keep being made and answered to
    the end, no call is older than a few minutes, most users stay out of DND and every queue can take calls."""
    speed = 240.0
    sim = Simulator(SimulatorConfig())
    loop = asyncio.get_running_loop()
    sim.start_timers(speed=speed)
    sim.start_traffic(seed=7, rate=0.5, speed=speed)
    began = loop.time()
    hour = 3600 / speed
    answered: dict[str, float] = {}  # gcid -> when first seen answered by a user
    events: list[int] = []
    try:
        while (elapsed := loop.time() - began) < hour:
            await asyncio.sleep(5 / speed)  # every five seconds of the system's clock
            for call in sim.active_calls:
                if any(a.owner_kind == "user" and a.role == "b" and a.state == S.CONNECTED for a in call.apps):
                    answered.setdefault(call.gcid, elapsed / hour)
            if len(events) < int(12 * elapsed / hour):
                events.append(sim.traffic.events)  # every five minutes
        oldest = max((loop.time() - c.created) * speed for c in sim.active_calls) if sim.active_calls else 0.0
        in_dnd = sum(u.dnd for u in sim.model.users.values())
        available = [
            any(not m.disabled and not sim.model.user(m.extn).dnd for m in q.members) for q in sim.model.queues.values()
        ]
    finally:
        await sim.stop()
    assert all(b > a for a, b in itertools.pairwise(events)), events  # every five minutes, more
    assert sum(when > 0.75 for when in answered.values()) >= 10  # calls still answered in the last quarter hour
    assert oldest < 15 * 60
    assert in_dnd <= 0.25 * len(sim.model.users) + 1
    assert all(available)
