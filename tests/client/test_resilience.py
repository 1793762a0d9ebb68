"""Reconnect and reconciliation, heartbeat, refresh, SubscribeTerminated, bad frames, NotifyAck, the trace."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from custom_components.ipoffice.mtcti3 import (
    TRACE_LOGGER_NAME,
    CallEvent,
    CallEventType,
    CallState,
    ConnectionState,
    IPOfficeClient,
    User,
)
from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER, Subprotocol, encode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from custom_components.ipoffice.mtcti3.schema import HAS_VERSION_INFO
from simulator import Simulator

from .conftest import PASSWORD, ClientFactory, settle, wait_for


def user(client: IPOfficeClient, extn: str) -> User:
    found = client.user_by_extn(extn)
    assert found is not None
    return found


def sub_id(client: IPOfficeClient, guid: str) -> int:
    return next(s.subscribe_id for s in client._subs.values() if s.key == guid)


async def test_reconnect_reconciles(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    transitions: list[bool] = []
    client.add_connection_listener(transitions.append)
    events: list[CallEvent] = []
    client.add_call_listener(events.append)
    bob = user(client, "2002")
    carol = user(client, "2003")
    gone = sim.incoming_call(to="2002")
    stays = sim.incoming_call(to="2003")
    await settle(sim)
    assert len(bob.calls) == 1
    events.clear()
    sim.faults.drop_all()
    await wait_for(lambda: not client.connected, message="loss noticed")
    assert client.state is ConnectionState.DISCONNECTED
    sim.hangup(gone, by="caller")
    sim.answer(stays, by="2003")
    sim.update_user("2002", dnd=True)
    sim.add_user(extn="2010", name="Added While Away")
    sim.remove_user("2012")
    await wait_for(lambda: client.connected, message="reconnect")
    await wait_for(lambda: not bob.calls, message="reconciled end")
    ended = [e for e in events if e.type is CallEventType.ENDED]
    assert len(ended) == 1
    assert ended[0].reconciled
    assert ended[0].call.owner_guid == bob.guid
    assert not any(e.type is CallEventType.MISSED for e in events)
    assert only_state(carol) is CallState.CONNECTED
    assert any(e.type is CallEventType.ANSWERED for e in events)
    assert bob.dnd
    assert client.user_by_extn("2010") is not None
    assert client.user_by_extn("2012") is None
    assert transitions == [False, True]
    assert client.stats.reconnects == 1


def only_state(owner: User) -> CallState:
    assert len(owner.calls) == 1
    return next(iter(owner.calls.values())).state


async def test_reconnect_retries_until_allowed(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await wait_for(lambda: not client.connected, message="loss")
    await asyncio.sleep(0.3)
    assert not client.connected
    sim.faults.refuse_auth = False
    await wait_for(lambda: client.connected, message="reconnect")


async def test_disconnect_while_reconnecting(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    client.backoff_base = 5.0
    sim.faults.drop_all()
    await wait_for(lambda: not client.connected, message="loss")
    await client.disconnect()
    assert client.state is ConnectionState.CLOSED


async def test_no_reconnect_when_disabled(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(reconnect=False)
    sim.faults.drop_all()
    await wait_for(lambda: not client.connected, message="loss")
    await asyncio.sleep(0.2)
    assert client.state is ConnectionState.DISCONNECTED


async def test_heartbeat_detects_a_stalled_socket(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(heartbeat=0.2)
    await settle(sim)
    transitions: list[bool] = []
    client.add_connection_listener(transitions.append)
    await asyncio.sleep(0.5)  # pings answered: still up
    assert client.connected
    sim.faults.stall(0.6)
    await wait_for(lambda: transitions[:1] == [False], message="stall noticed")
    await wait_for(lambda: client.connected, timeout=10, message="reconnected after the stall")
    assert transitions == [False, True]


async def test_refresh_keeps_subscriptions(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(subscription_timeout=2)
    await asyncio.sleep(2.6)
    assert client.connected
    assert client.stats.resubscribes == 0
    sim.update_user("2002", dnd=True)
    await settle(sim)
    assert user(client, "2002").dnd


async def test_refresh_refused_resubscribes(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(subscription_timeout=1, users=[], queues=[], park_server=False)
    sim.faults.fail_next(100, "refresh")
    await wait_for(lambda: client.stats.resubscribes == 1, timeout=5, message="re-subscription")
    assert len(client._subs) == 1


async def test_refresh_refused_otherwise_is_tried_again(make_client: ClientFactory, sim: Simulator) -> None:
    """A refresh refused for a reason other than an unknown subscription (here code 1) leaves the subscription to
    IP Office: it is refreshed again soon on the same id, not made a second time beside the first (one Lines only:
    that was refused with TOOMANY until the first expired, and Lines changes were lost meanwhile)."""
    client = await make_client(subscription_timeout=2, users=[], queues=[], park_server=False)
    (subscribe_id,) = client._subs
    sim.faults.fail_next(1, "refresh")
    await wait_for(lambda: not sim.faults._fail, timeout=5, message="the refused refresh")
    refreshed = client.stats.frames_out
    await wait_for(lambda: client.stats.frames_out > refreshed, timeout=5, message="a refresh again")
    assert list(client._subs) == [subscribe_id]
    assert client.stats.resubscribes == 0
    sim.add_user(extn="2040", name="Added Later")
    await wait_for(lambda: any(line.extn == "2040" for line in client.directory.values()), message="Lines still works")


async def test_terminated_subscriptions_come_back(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    events: list[CallEvent] = []
    client.add_call_listener(events.append)
    call = sim.incoming_call(to="2002")
    await settle(sim)
    bob = user(client, "2002")
    sim.faults.terminate_subscriptions("user")
    sim.hangup(call, by="caller")
    await wait_for(lambda: client.stats.resubscribes >= 12, message="users re-subscribed")
    await wait_for(lambda: not bob.calls, message="reconciled")
    assert [e.reconciled for e in events if e.type is CallEventType.ENDED] == [True]
    sim.update_user("2002", dnd=True)
    await settle(sim)
    assert bob.dnd
    before = client.stats.resubscribes
    sim.faults.terminate_subscriptions("lines")
    sim.faults.terminate_subscriptions("queue")
    sim.faults.terminate_subscriptions("parkserver")
    await wait_for(lambda: client.stats.resubscribes >= before + 5, message="others re-subscribed")
    guid = sim.add_user(extn="2010", name="After Terminate")
    await settle(sim)
    await wait_for(lambda: guid in client.users and client.users[guid].synced, message="lines works")


async def test_terminated_subscription_backs_off(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(users=[], queues=[], park_server=False)
    sim.faults.fail_next(5, "lines")
    sim.faults.fail_next(5, "lines")
    sim.faults.terminate_subscriptions("lines")
    await wait_for(lambda: client.stats.resubscribes == 1, timeout=5, message="lines back after refusals")
    lines = next(iter(client._wanted.values()))
    assert lines.failures == 3


async def test_user_gone_is_dropped_on_resubscribe(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    bob = user(client, "2002")
    sim.faults.fail_next(7, "user")
    sim.faults.terminate_subscriptions("user")
    await wait_for(lambda: client.stats.resubscribes >= 11, message="re-subscribed")
    assert len(client.users) == 11
    assert bob.guid in client.directory


@pytest.mark.parametrize("kind", ["short", "bad_header", "garbage", "unknown_payload", "text_frame"])
async def test_malformed_frames_are_survived(
    make_client: ClientFactory, sim: Simulator, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()
    sim.faults.send_malformed(kind)
    await wait_for(lambda: client.stats.bad_frames == 1, message="bad frame counted")
    assert client.connected
    assert "Skipped" in caplog.text
    await client.set_dnd(user(client, "2002"), True)


async def test_unknown_values_and_odd_notifies(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client()
    bob = user(client, "2002")
    sid = sub_id(client, bob.guid)
    odd = pb.Message()
    info = odd.notify.callcontrol.callinfo.add()
    odd.notify.subscribe_id = sid
    info.callid = 999
    info.state = 99  # type: ignore[assignment]
    info.direction = 7  # type: ignore[assignment]
    info.failedcause = 42  # type: ignore[assignment]
    sim.faults.send_raw(encode_message(odd, Subprotocol.FRAMED))
    await wait_for(lambda: 999 in bob.calls, message="odd call")
    assert bob.calls[999].state is CallState.UNKNOWN
    assert client.stats.unknown_values == 3
    sales = client.queue_by_extn("2501")
    assert sales is not None
    queue_note = pb.Message()
    queue_note.notify.subscribe_id = sub_id(client, sales.guid)
    queue_note.notify.queue.servicemode = 9  # type: ignore[assignment]
    queue_note.notify.queue.name = "Sales"
    wrong = pb.Message()
    wrong.notify.subscribe_id = sid
    wrong.notify.queue.name = "not for a user"
    empty = pb.Message()
    empty.notify.subscribe_id = sid
    unknown = pb.Message()
    unknown.notify.subscribe_id = 77777
    unknown.notify.user.name = "nobody"
    stray = pb.Message()
    stray.subscribeterminated.subscribe_id = 88888
    wrapper = pb.Message()
    wrapper.notify.subscribe_id = sid
    wrapper.notify.refreshwrapper.dummy = 1
    response = pb.Message()
    response.response.requestid = 123456
    data = pb.Message()
    data.generaldata.responseid = 123456
    request = pb.Message()
    request.subscribe.subscribe_id = 1
    for message in (queue_note, wrong, empty, unknown, stray, wrapper, response, data, request):
        sim.faults.send_raw(FRAME_HEADER + message.SerializeToString())
    await wait_for(lambda: client.stats.unknown_values == 4, message="unknown service mode")
    await asyncio.sleep(0.05)
    assert client.connected
    assert "no payload" in caplog.text
    assert "payload queue on user" in caplog.text


async def test_notify_ack_flow_control(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client()
    for extn in ("2001", "2002", "2003"):
        for n in range(5):
            sim.update_user(extn, app=f"status {n}")
    call = sim.incoming_call(to="2501")
    sim.answer(call, by="2001")
    sim.hangup(call, by="2001")
    await settle(sim)
    assert client.stats.acks == client.stats.notifies
    assert sim.bad_acks == 0
    assert user(client, "2003").app == "status 4"


async def test_trace_logs_messages_without_secrets(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    await make_client(users=[], queues=[])
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == TRACE_LOGGER_NAME)
    assert re.search(r"send 127\.0\.0\.1:\d+ sub=1 subscribe \{", text)
    assert re.search(r"recv 127\.0\.0\.1:\d+ sub=1 notify \{", text)
    assert "notifyack" in text
    assert ("generalcmd" in text) is HAS_VERSION_INFO  # the version request, the one general command of a connect
    assert PASSWORD not in caplog.text
    assert "Authorization" not in caplog.text
