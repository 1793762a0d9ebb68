"""Connection, subscriptions, flow control and configuration commands of the simulator, on the wire."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from custom_components.ipoffice.mtcti3.schema import HAS_VERSION_INFO
from simulator import Simulator, generate_scenario, load_scenario

from .conftest import PASSWORD, USERNAME, Client, client_ssl


def guid_of(sim: Simulator, extn: str) -> bytes:
    return sim.model.user(extn).guid


async def test_certificate_and_url(sim: Simulator) -> None:
    assert sim.url == f"wss://127.0.0.1:{sim.port}/tpkt/openapi"
    assert len(sim.fingerprint.split(":")) == 32
    assert sim.fingerprint == sim.fingerprint.upper()
    assert "BEGIN CERTIFICATE" in sim.certificate_pem


@pytest.mark.parametrize(("user", "password"), [("ha", "wrong"), ("nobody", PASSWORD)])
async def test_bad_auth_401(sim: Simulator, http: aiohttp.ClientSession, user: str, password: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await http.ws_connect(
            sim.url,
            ssl=client_ssl(sim),
            protocols=("openapi",),
            headers={"Authorization": aiohttp.encode_basic_auth(user, password)},
        )
    assert err.value.status == 401
    assert err.value.headers is not None
    assert err.value.headers["WWW-Authenticate"] == 'Basic realm="IP Office"'


async def test_missing_auth_and_bad_protocol(sim: Simulator, http: aiohttp.ClientSession) -> None:
    async with http.get(sim.url.replace("wss", "https"), ssl=client_ssl(sim)) as response:
        assert response.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await http.ws_connect(
            sim.url,
            ssl=client_ssl(sim),
            protocols=("chat",),
            headers={"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)},
        )
    assert err.value.status == 400


async def test_refuse_service_and_auth(sim: Simulator, connect: Callable[..., Any]) -> None:
    sim.faults.refuse_service = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect()
    assert err.value.status == 403
    sim.faults.refuse_service = False
    sim.faults.refuse_auth = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect()
    assert err.value.status == 401


async def test_eleventh_connection_refused(sim: Simulator, connect: Callable[..., Any]) -> None:
    clients = [await connect() for _ in range(10)]
    assert sim.connection_count == 10
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await connect()
    assert err.value.status == 503
    await clients[0].ws.close()
    for _ in range(100):
        if sim.connection_count < 10:
            break
        await asyncio.sleep(0.01)
    extra = await connect()
    assert sim.connection_count == 10
    for c in [*clients[1:], extra]:
        await c.ws.close()


@pytest.mark.parametrize("protocol", ["openapi", "openapinoframing"])
async def test_lines_first_notify(connect: Callable[..., Any], sim: Simulator, protocol: str) -> None:
    client: Client = await connect(protocol)
    assert client.ws.protocol == protocol
    response = await client.subscribe(5555, lines=pb.SubscribeLines(flags=7))
    assert response.result == 0
    notify = await client.notify(5555, "lines")
    assert notify.notify_id == 1
    assert notify.lines.flags == 3
    assert len(notify.lines.adduser) == 12
    assert {q.name for q in notify.lines.addqueue} == {"Sales", "Support", "Reception"}
    assert all(len(u.guid) == 16 for u in notify.lines.adduser)
    # A second lines subscription is refused.
    assert (await client.subscribe(5556, lines=pb.SubscribeLines(flags=1))).result == 5


async def test_the_spec_first_payload_bytes(client: Client) -> None:
    await client.ws.send_bytes(bytes.fromhex("00000001 1A0C0801 1001 18901C C2020208 07".replace(" ", "")))
    response = await client.response(1)
    assert response.result == 0
    notify = await client.notify(1, "lines")
    assert len(notify.lines.adduser) == 12


async def test_lines_changes(client: Client, sim: Simulator) -> None:
    await client.subscribe(1, lines=pb.SubscribeLines(flags=3))
    await client.notify(1, "lines")
    guid = sim.add_user(extn="2010", name="New User")
    assert len(guid) == 32
    notify = await client.notify(1, "lines")
    assert notify.notify_id == 2
    assert notify.lines.adduser[0].extn == "2010"
    assert notify.lines.adduser[0].guid.hex().upper() == guid
    sim.change_user("2010", name="Renamed", extn="2020")
    notify = await client.notify(1, "lines")
    assert notify.lines.changeuser[0].extn == "2020"
    assert notify.lines.changeuser[0].name == "Renamed"
    sim.remove_user("2020")
    notify = await client.notify(1, "lines")
    assert notify.lines.deleteuser[0].guid.hex().upper() == guid


async def test_user_subscription_flags(client: Client, sim: Simulator) -> None:
    guid = guid_of(sim, "2006")
    await client.subscribe(10, user=pb.SubscribeUser(guid=guid, flags=0))
    plain = (await client.notify(10, "user")).user
    assert plain.extn == "2006"
    assert plain.name == "Frank Miller"
    assert not plain.HasField("mailbox")
    assert plain.featuresavailable & 1
    await client.subscribe(11, user=pb.SubscribeUser(guid=guid, flags=0x0F))
    full = (await client.notify(11, "user")).user
    assert full.mailbox.newmessages == 3
    assert full.mailbox.savedmessages == 2
    await client.subscribe(12, user=pb.SubscribeUser(guid=guid_of(sim, "2005"), flags=0x02))
    fwd = (await client.notify(12, "user")).user
    assert fwd.fwdu
    assert fwd.fwdunumber == "07700900123"
    await client.subscribe(13, user=pb.SubscribeUser(guid=guid_of(sim, "2007"), flags=0x08))
    absent = (await client.notify(13, "user")).user
    assert absent.absence.msg == 3
    assert absent.absence.str == "14:00"
    await client.subscribe(14, user=pb.SubscribeUser(guid=guid_of(sim, "2007"), flags=0x04))
    app = (await client.notify(14, "user")).user
    assert app.noapphandler


async def test_subscribe_errors(client: Client) -> None:
    assert (await client.subscribe(20, user=pb.SubscribeUser(guid=b"\x01" * 16))).result == 7
    assert (await client.subscribe(21, queue=pb.SubscribeQueue(guid=b"\x01" * 16))).result == 4
    assert (await client.subscribe(22, queue=pb.SubscribeQueue(name="Nope"))).result == 4
    assert (await client.subscribe(23)).result == 100
    assert (await client.subscribe(24, expires=30, presence=pb.SubscribePresence())).result == 102
    assert (await client.subscribe(25, parkserver=pb.SubscribeParkServer())).result == 0
    assert (await client.subscribe(26, parkserver=pb.SubscribeParkServer())).result == 5
    assert (await client.subscribe(25, refreshwrapper=pb.SubscribeRefreshWrapper())).result == 101
    assert (await client.subscribe(27, refreshwrapper=pb.SubscribeRefreshWrapper())).result == 0
    end = pb.Message(subscribeend=pb.SubscribeEnd(subscribe_id=999))
    assert (await client.request(end)).result == 101
    assert (await client.cmd(999, user=pb.UpdateUser(sac=pb.UpdateUserSAC(set=1)))).result == 101


async def test_queue_subscription(client: Client, sim: Simulator) -> None:
    await client.subscribe(30, queue=pb.SubscribeQueue(name="Support", flags=3))
    queue = (await client.notify(30, "queue")).queue
    assert queue.extn == "2502"
    assert queue.servicemode == pb.NotifyQueue.ServiceMode.Active
    assert [m.extn for m in queue.queuemembers.member] == ["2003", "2004", "2006", "2013"]
    assert queue.mailbox.newmessages == 2
    guid = sim.model.queue("2501").guid
    await client.subscribe(31, queue=pb.SubscribeQueue(guid=guid, flags=0))
    sales = (await client.notify(31, "queue")).queue
    assert sales.name == "Sales"
    assert not sales.HasField("queuemembers")
    assert not sales.HasField("mailbox")


async def test_flow_control_waits_for_ack(client: Client, sim: Simulator) -> None:
    await client.subscribe(40, user=pb.SubscribeUser(guid=guid_of(sim, "2001"), flags=0x0F))
    first = await client.notify(40, "user", ack=False)
    assert first.notify_id == 1
    sim.update_user("2001", dnd=True)
    sim.update_user("2001", app="Busy")
    sim.set_mailbox("2001", new=5)
    assert await client.silent(0.3)
    await client.ack(first)
    second = await client.notify(40, "user", ack=False)
    assert second.notify_id == 2
    # The config snapshots pending behind the ack were merged into one (the newest).
    assert second.user.dnd
    assert second.user.mailbox.newmessages == 5
    assert second.user.app == "Busy"
    await client.ack(second)
    assert await client.silent(0.2)
    await sim.wait_quiet()


async def test_wait_quiet_times_out_without_ack(client: Client, sim: Simulator) -> None:
    await client.subscribe(41, user=pb.SubscribeUser(guid=guid_of(sim, "2001")))
    await client.notify(41, "user", ack=False)
    with pytest.raises(TimeoutError):
        await sim.wait_quiet(timeout=0.1)


async def test_timeout_refresh_and_end(client: Client, sim: Simulator) -> None:
    await client.subscribe(50, expires=1, user=pb.SubscribeUser(guid=guid_of(sim, "2001")))
    await client.notify(50, "user")
    terminated = await client.expect(lambda m: m.WhichOneof("payload") == "subscribeterminated", within=3)
    assert terminated.subscribeterminated.subscribe_id == 50
    # Refresh keeps a subscription alive.
    await client.subscribe(51, expires=1, user=pb.SubscribeUser(guid=guid_of(sim, "2001")))
    await client.notify(51, "user")
    await asyncio.sleep(0.6)
    assert (await client.subscribe(51, expires=60)).result == 0
    await asyncio.sleep(0.6)
    assert 51 in next(iter(sim.sessions)).subs
    end = pb.Message(subscribeend=pb.SubscribeEnd(subscribe_id=51))
    assert (await client.request(end)).result == 0
    assert 51 not in next(iter(sim.sessions)).subs


async def test_user_config_commands(client: Client, sim: Simulator) -> None:
    await client.subscribe(60, user=pb.SubscribeUser(guid=guid_of(sim, "2002"), flags=0x0F))
    await client.notify(60, "user")

    async def update(**kwargs: Any) -> pb.NotifyUser:
        response = await client.cmd(60, user=pb.UpdateUser(**kwargs))
        assert response.result == 0
        return (await client.notify(60, "user")).user

    assert (await update(sac=pb.UpdateUserSAC(set=1))).dnd
    assert not (await update(sac=pb.UpdateUserSAC(set=0))).dnd
    absent = await update(absence=pb.UpdateUserAbsence(set=1, absence=pb.Absence(msg=11, str="Back at 3")))
    assert absent.absence.str == "Back at 3"
    assert not (await update(absence=pb.UpdateUserAbsence(set=0))).HasField("absence")
    assert (await update(ec500=pb.UpdateUserEC500(set=1))).ec500
    fwd = await update(fwdu=pb.UpdateUserFwdU(set=True, fwdu_number="2003"))
    assert fwd.fwdu
    assert fwd.fwdunumber == "2003"
    sc = pb.ShortCodeData
    assert not (await update(shortcodedata=[sc(code=1)])).fwdu
    assert (await update(shortcodedata=[sc(code=6, val="0123")])).fwdunumber == "0123"
    assert (await update(shortcodedata=[sc(code=7)])).dnd
    assert not (await update(shortcodedata=[sc(code=8)])).dnd
    assert not (await update(shortcodedata=[sc(code=18)])).voicemail
    assert (await update(shortcodedata=[sc(code=17)])).voicemail
    box = (await update(shortcodedata=[sc(code=70, val=";3,1,2")])).mailbox
    assert (box.newmessages, box.oldmessages, box.savedmessages) == (3, 1, 2)
    assert (await update(shortcodedata=[sc(code=109, val="1,4,15:30")])).absence.msg == 4
    assert not (await update(shortcodedata=[sc(code=167)])).ec500
    logged = await update(loginextn=pb.UpdateUserLoginExtn(extn="2099"))
    assert logged.loggedinextn == "2099"
    sim.model.user("2002").login_code = "4711"
    wrong = await client.cmd(60, user=pb.UpdateUser(loginextn=pb.UpdateUserLoginExtn(extn="2002", password="1")))
    assert wrong.result == 9  # MTCTISESS_NOTALLOWED
    teleworker = pb.TeleworkerConnection(number="07700900222", holdlineopen=True)
    login = pb.UpdateUserLoginExtn(extn="2002", password="4711", teleworkerconnection=teleworker)
    assert (await update(loginextn=login)).loggedinextn == "2002"
    assert sim.model.user("2002").teleworker == "07700900222"
    assert (await update(loginextn=pb.UpdateUserLoginExtn())).loggedoff
    assert sim.model.user("2002").teleworker == ""
    app = await update(app=pb.UpdateUserApp(value="In a meeting", makelive=True))
    assert app.app == "In a meeting"
    assert not app.noapphandler
    bad = await client.cmd(60, user=pb.UpdateUser(shortcodedata=[sc(code=70, val="x")]))
    assert bad.result == 5002
    assert sim.model.user("2002").app == "In a meeting"


async def test_queue_config_commands(client: Client, sim: Simulator) -> None:
    await client.subscribe(70, queue=pb.SubscribeQueue(name="Sales", flags=3))
    await client.notify(70, "queue")

    async def update(**kwargs: Any) -> pb.NotifyQueue:
        assert (await client.cmd(70, queue=pb.UpdateQueue(**kwargs))).result == 0
        return (await client.notify(70, "queue")).queue

    mode = pb.SetServiceMode.ServiceMode
    assert (await update(setservicemode=pb.SetServiceMode(servicemode=mode.NS))).servicemode == mode.NS
    assert not (await update(setvoicemail=pb.SetVoicemail(enabled=False))).voicemail
    members = (await update(addmember=[pb.QueueMember(extn="2001", disabled=True)])).queuemembers.member
    assert (members[0].extn, members[0].disabled) == ("2001", True)
    members = (await update(addmember=[pb.QueueMember(extn="2005")])).queuemembers.member
    assert members[-1].extn == "2005"
    members = (await update(deletemember=[pb.QueueMember(extn="2002")])).queuemembers.member
    assert "2002" not in [m.extn for m in members]
    full = pb.QueueMembers(member=[pb.QueueMember(extn="2003")])
    assert [m.extn for m in (await update(members=full)).queuemembers.member] == ["2003"]
    bad = await client.cmd(70, queue=pb.UpdateQueue(addmember=[pb.QueueMember(extn="9999")]))
    assert bad.result == 7
    assert (await client.cmd(70, user=pb.UpdateUser(sac=pb.UpdateUserSAC(set=1)))).result == 5003


@pytest.mark.skipif(not HAS_VERSION_INFO, reason="this schema has no version request (as Avaya's Version 1.0)")
async def test_version_request(client: Client, sim: Simulator) -> None:
    requestid = client.next_requestid()
    await client.send(pb.Message(generalcmd=pb.GeneralCmd(requestid=requestid, getversioninfo=True)))
    data = await client.expect(lambda m: m.WhichOneof("payload") == "generaldata")
    assert data.generaldata.responseid == requestid
    assert data.generaldata.versioninfo == "IP Office 11.1.0.0 build 600"
    assert (await client.response(requestid)).result == 0


async def test_general_commands(client: Client, sim: Simulator) -> None:
    requestid = client.next_requestid()
    await client.send(
        pb.Message(generalcmd=pb.GeneralCmd(requestid=requestid, getfile=pb.GetFile(fname="nasystem/AccountCode")))
    )
    data = await client.expect(lambda m: m.WhichOneof("payload") == "generaldata")
    assert data.generaldata.getfile.payload.decode().split() == ["1000", "2000", "3000", "9999"]
    assert (await client.response(requestid)).result == 0
    assert (await client.request(pb.Message(generalcmd=pb.GeneralCmd(getfile=pb.GetFile(fname="nope"))))).result == 4
    assert (await client.request(pb.Message(generalcmd=pb.GeneralCmd()))).result == 152


async def test_presence(client: Client, sim: Simulator) -> None:
    entries = [pb.Presentity(presentity="2001", lref=1), pb.Presentity(presentity="2004", lref=2)]
    assert (await client.subscribe(80, expires=3600, presence=pb.SubscribePresence(entry=entries, flags=1))).result == 0
    first = (await client.notify(80, "presence")).presence
    assert first.full == 1
    by_lref = {e.lref: e for e in first.entry}
    assert by_lref[2].sac
    assert not by_lref[1].sac
    assert by_lref[1].app == "Offline"
    sim.update_user("2001", dnd=True)
    change = (await client.notify(80, "presence")).presence
    assert change.full == 0
    assert [(e.lref, e.sac) for e in change.entry] == [(1, 1)]
    update = pb.UpdatePresence(add=[pb.Presentity(presentity="2006", lref=3)], remove=[pb.Presentity(lref=2)])
    assert (await client.cmd(80, presence=update)).result == 0
    added = (await client.notify(80, "presence")).presence
    assert [(e.lref, e.vmunread_messages) for e in added.entry] == [(3, 3)]
    call = sim.incoming_call(to="2001") if False else sim.internal_call("2006", "2003")
    ringing = (await client.notify(80, "presence")).presence
    assert [(e.lref, e.phonestate) for e in ringing.entry] == [(3, 4)]
    sim.hangup(call)


async def test_generated_scenario_and_loader(tmp_path: Any) -> None:
    big = generate_scenario(users=300, queues=15)
    assert len(big.users) == 300
    assert len({u.guid for u in big.users}) == 300
    assert big.users[0].guid == generate_scenario(users=300, queues=15).users[0].guid
    path = tmp_path / "s.yaml"
    path.write_text(
        "system: {name: T}\nusers:\n  - {extn: 100, name: A}\nqueues:\n  - {extn: 500, name: Q, members: [100]}\n"
    )
    small = load_scenario(path)
    assert small.emergency_numbers == ["999", "112", "911"]  # the default
    assert small.users[0].extn == "100"
    assert small.queues[0].members[0].extn == "100"
