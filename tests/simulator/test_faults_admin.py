"""Fault injection, the admin HTTP interface, the traffic generator and large systems."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from google.protobuf.unknown_fields import UnknownFieldSet

from custom_components.ipoffice.mtcti3.codec import FRAME_HEADER, FrameError, Subprotocol, decode_message
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator, SimulatorConfig, generate_scenario

from .conftest import PASSWORD, USERNAME, Client


async def test_drop_all(client: Client, sim: Simulator) -> None:
    await client.subscribe(1, lines=pb.SubscribeLines(flags=1))
    sim.faults.drop_all()
    msg = await client.ws.receive(timeout=2)
    while msg.type == aiohttp.WSMsgType.BINARY:
        msg = await client.ws.receive(timeout=2)
    assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
    for _ in range(100):
        if sim.connection_count == 0:
            break
        await asyncio.sleep(0.01)
    assert sim.connection_count == 0


async def test_stall_delays_everything(client: Client, sim: Simulator) -> None:
    sim.faults.stall(0.5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await client.ws.ping()
    response = await client.subscribe(1, lines=pb.SubscribeLines(flags=1))
    assert response.result == 0
    assert loop.time() - start >= 0.4


@pytest.mark.parametrize("kind", ["short", "bad_header", "garbage", "unknown_payload"])
async def test_send_malformed(client: Client, sim: Simulator, kind: str) -> None:
    sim.faults.send_malformed(kind)
    msg = await client.ws.receive(timeout=2)
    assert msg.type == aiohttp.WSMsgType.BINARY
    with pytest.raises(FrameError):
        decode_message(msg.data)


async def test_send_text_and_raw(client: Client, sim: Simulator) -> None:
    sim.faults.send_malformed("text_frame")
    assert (await client.ws.receive(timeout=2)).type == aiohttp.WSMsgType.TEXT
    raw = FRAME_HEADER + pb.Message(response=pb.RequestResponse(requestid=42, result=1)).SerializeToString()
    sim.faults.send_raw(raw)
    assert (await client.response(42)).result == 1
    with pytest.raises(ValueError, match="unknown malformed kind"):
        sim.faults.send_malformed("nope")


async def test_unknown_fields_are_appended_to_notifies(client: Client, sim: Simulator) -> None:
    """The fields asked for come in every notify's messages of that type from then on, until reset."""
    guid = sim.model.user("2006").guid
    await client.subscribe(10, user=pb.SubscribeUser(guid=guid, flags=0x0F))
    assert not UnknownFieldSet((await client.notify(10, "user")).user)
    sim.faults.add_unknown_field("NotifyUser", 91, 300)
    sim.faults.add_unknown_field("NotifyUser", 92)
    sim.faults.add_unknown_field("Mailbox", 90, 7)
    sim.update_user("2006", dnd=True)
    notify = await client.notify(10, "user")
    assert notify.user.dnd
    fields = [(item.field_number, item.wire_type, item.data) for item in UnknownFieldSet(notify.user)]
    assert fields == [(91, 0, 300), (92, 0, 1)]
    assert [(item.field_number, item.data) for item in UnknownFieldSet(notify.user.mailbox)] == [(90, 7)]
    assert not UnknownFieldSet(notify)
    sim.faults.reset()
    sim.update_user("2006", dnd=False)
    assert not UnknownFieldSet((await client.notify(10, "user")).user)
    with pytest.raises(ValueError, match="not a message type of a notify"):
        sim.faults.add_unknown_field("SubscribeUser", 90)
    with pytest.raises(ValueError, match="not a field number that CallInfo lacks"):
        sim.faults.add_unknown_field("CallInfo", 2)
    with pytest.raises(ValueError, match="negative"):
        sim.faults.add_unknown_field("CallInfo", 90, -1)


async def test_client_garbage_is_counted(client: Client, sim: Simulator) -> None:
    await client.ws.send_bytes(b"\x00\x00\x00\x01\xff\xff")
    await client.ws.send_str("hello")
    assert (await client.subscribe(1, lines=pb.SubscribeLines(flags=1))).result == 0
    assert sim.bad_messages == 2


async def test_terminate_subscriptions(client: Client, sim: Simulator) -> None:
    await client.subscribe(1, lines=pb.SubscribeLines(flags=1))
    await client.subscribe(2, user=pb.SubscribeUser(guid=sim.model.user("2001").guid))
    sim.faults.terminate_subscriptions("user")
    terminated = await client.expect(lambda m: m.WhichOneof("payload") == "subscribeterminated")
    assert terminated.subscribeterminated.subscribe_id == 2
    sim.faults.terminate_subscriptions()
    terminated = await client.expect(lambda m: m.WhichOneof("payload") == "subscribeterminated")
    assert terminated.subscribeterminated.subscribe_id == 1


async def test_fail_next_and_no_responses(client: Client, sim: Simulator) -> None:
    sim.faults.fail_next(5000, "user")
    assert (await client.subscribe(1, lines=pb.SubscribeLines(flags=1))).result == 0
    guid = sim.model.user("2001").guid
    assert (await client.subscribe(2, user=pb.SubscribeUser(guid=guid))).result == 5000
    assert (await client.subscribe(2, user=pb.SubscribeUser(guid=guid))).result == 0
    sim.faults.fail_next(1)
    assert (await client.request(pb.Message(generalcmd=pb.GeneralCmd(getfile=pb.GetFile(fname="x"))))).result == 1
    sim.faults.no_responses = True
    await client.send(
        pb.Message(subscribe=pb.Subscribe(requestid=99, subscribe_id=3, queue=pb.SubscribeQueue(name="Sales")))
    )
    notify = await client.notify(3, "queue")
    assert notify.queue.name == "Sales"
    await client.silent(0.2)
    assert not [m for m in client.backlog if m.WhichOneof("payload") == "response"]


async def test_old_release_plays_without_responses(socket_enabled: None) -> None:
    sim = Simulator(SimulatorConfig(username=USERNAME, password=PASSWORD, release="11.0.4.2"))
    await sim.start()
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(
                sim.url,
                ssl=ssl.create_default_context(cadata=sim.certificate_pem),
                protocols=("openapi",),
                headers={"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)},
            )
            client = Client(ws, Subprotocol.FRAMED)
            await client.send(
                pb.Message(subscribe=pb.Subscribe(requestid=1, subscribe_id=1, lines=pb.SubscribeLines(flags=1)))
            )
            first = await client.recv()
            assert first.WhichOneof("payload") == "notify"
            await ws.close()
    finally:
        await sim.stop()


async def test_admin_interface(socket_enabled: None) -> None:
    sim = Simulator(SimulatorConfig(admin_port=-1))
    await sim.start()
    try:
        base = f"http://127.0.0.1:{sim.admin.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/state") as response:
                state = await response.json()
            assert len(state["users"]) == 12
            async with http.post(f"{base}/calls/incoming", json={"to": "2501"}) as response:
                call = await response.json()
            assert "2501" in call["callids"]
            async with http.post(f"{base}/calls/{call['gcid']}/answer", json={"by": "2001"}) as response:
                assert response.status == 200
            async with http.post(f"{base}/calls/{call['gcid']}/hangup", json={}) as response:
                assert (await response.json())["ended"]
            withheld = {"to": "2002", "caller": "0123", "did": "01707555100", "withheld": True}
            async with http.post(f"{base}/calls/incoming", json=withheld) as response:
                call = await response.json()
            sim_call = sim.model.find_call(call["gcid"])
            assert (sim_call.a.withheld, sim_call.trunk) == (True, (pb.TrunkInfo.TrunkType.TrunkSIP, "01707555100"))
            async with http.post(f"{base}/calls/outgoing", json={"from": "2003", "to": "999"}) as response:
                assert sim.model.find_call((await response.json())["gcid"]).emergency
            async with http.patch(f"{base}/users/2001", json={"dnd": True}) as response:
                assert response.status == 200
            assert sim.model.user("2001").dnd
            async with http.patch(f"{base}/queues/2501", json={"servicemode": "NS"}) as response:
                assert response.status == 200
            async with http.post(f"{base}/users", json={"extn": "2099", "name": "Temp"}) as response:
                assert len((await response.json())["guid"]) == 32
            async with http.post(f"{base}/users/2099/mailbox", json={"new": 2}) as response:
                assert response.status == 200
            async with http.delete(f"{base}/users/2099") as response:
                assert response.status == 200
            async with http.post(f"{base}/faults/fail_next", json={"code": 5000}) as response:
                assert response.status == 200
            async with http.post(f"{base}/faults/unknown_field", json={"message": "PartyInfo"}) as response:
                assert response.status == 200
            async with http.post(f"{base}/faults/unknown_field", json={"message": "Nope"}) as response:
                assert response.status == 400
            assert sim.faults.adds_unknown_fields
            async with http.post(f"{base}/faults/reset") as response:
                assert response.status == 200
            async with http.post(f"{base}/calls/internal", json={"from": "2001", "to": "9"}) as response:
                assert response.status == 404
            async with http.patch(f"{base}/users/2001", json={"nonsense": 1}) as response:
                assert response.status == 400
            async with http.post(f"{base}/traffic/start", json={"rate": 50}) as response:
                assert response.status == 200
            await asyncio.sleep(0.2)
            async with http.post(f"{base}/traffic/stop") as response:
                assert response.status == 200
    finally:
        await sim.stop()
    assert sim.model.queue("2501").servicemode == "NS"
    assert not sim.faults.adds_unknown_fields


async def test_traffic_generator(connect: Callable[..., Any], sim: Simulator) -> None:
    client: Client = await connect()
    await client.subscribe(1, queue=pb.SubscribeQueue(name="Sales", ccflags=1))
    sim.start_traffic(seed=3, rate=200, max_calls=5)
    await asyncio.sleep(0.3)
    assert sim.traffic is not None
    assert sim.traffic.events > 0
    assert len(sim.active_calls) <= 5
    await sim.stop_traffic()
    assert sim.traffic is None


async def test_traffic_ends_the_calls_a_stopped_traffic_left(connect: Callable[..., Any], sim: Simulator) -> None:
    """Traffic that restarts (a pair's system that takes the phones back) ends the calls in progress it finds, so
    that it is not stuck at its maximum of calls: before, a failback with that many calls left the demo silent."""
    client: Client = await connect()
    await client.subscribe(1, queue=pb.SubscribeQueue(name="Sales", ccflags=1))
    left = [sim.incoming_call("2501", f"0170700000{n}") for n in range(5)]
    assert len(sim.active_calls) == 5
    sim.start_traffic(seed=3, rate=200, max_calls=5)
    await asyncio.sleep(0.5)
    assert sim.traffic is not None
    assert all(call.ended for call in left)
    assert sim.traffic.events > 0
    await sim.stop_traffic()


async def test_large_system(socket_enabled: None) -> None:
    sim = Simulator(SimulatorConfig(username=USERNAME, password=PASSWORD, scenario=generate_scenario(3000, 150)))
    await sim.start()
    try:
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(
                sim.url,
                ssl=ssl.create_default_context(cadata=sim.certificate_pem),
                protocols=("openapinoframing",),
                headers={"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)},
            )

            client = Client(ws, Subprotocol.UNFRAMED)
            assert (await client.subscribe(1, lines=pb.SubscribeLines(flags=3))).result == 0
            lines = (await client.notify(1, "lines")).lines
            assert len(lines.adduser) == 3000
            assert len(lines.addqueue) == 150
            await ws.close()
    finally:
        await sim.stop()
