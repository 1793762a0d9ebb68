"""Call engine and call-control commands of the simulator, observed on the wire."""

from __future__ import annotations

import pytest

from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator

from .conftest import Client

S = pb.CallInfo.State
D = pb.CallInfo.Direction
CC = 0xFF  # every ccflags detail bit


async def sub_user(client: Client, sim: Simulator, extn: str, sid: int, flags: int = 0) -> None:
    guid = sim.model.user(extn).guid
    assert (await client.subscribe(sid, user=pb.SubscribeUser(guid=guid, flags=flags, ccflags=CC))).result == 0
    await client.notify(sid, "user")


async def sub_queue(client: Client, name: str, sid: int) -> None:
    assert (await client.subscribe(sid, queue=pb.SubscribeQueue(name=name, flags=3, ccflags=0x41))).result == 0
    await client.notify(sid, "queue")


async def cc(client: Client, sid: int) -> pb.NotifyCallControl:
    return (await client.notify(sid, "callcontrol")).callcontrol


async def test_incoming_call_answer_hangup(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    call = sim.incoming_call(to="2002", caller="01707123456", caller_name="Avaya Test trunk")
    ringing = (await cc(client, 1)).callinfo[0]
    assert ringing.state == S.RINGING
    assert ringing.direction == D.INBOUND
    assert ringing.callid == call.callids["2002"]
    assert ringing.gcid.hex().upper() == call.gcid
    assert ringing.callingparty.number == "01707123456"
    assert ringing.callingparty.name == "Avaya Test trunk"
    assert ringing.callingparty.nametype == 9
    assert ringing.trunkinfo.did == "2002"
    assert ringing.featuresavailable & 0x23 == 0x23  # DROP ANSWER REDIRECT
    sim.answer(call)
    connected = (await cc(client, 1)).callinfo[0]
    assert connected.state == S.CONNECTED
    assert connected.connectedparty.number == "01707123456"
    assert connected.featuresavailable & 0x195 == 0x195  # DROP HOLD BLINDXFER PARK SETUPXFER
    sim.hangup(call, by="caller")
    lost = (await cc(client, 1)).calllost[0]
    assert lost.callid == ringing.callid
    assert lost.reason == 16
    assert not lost.thisenddropped
    assert sim.active_calls == []


async def test_missed_call_and_user_hangup(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2003", 1)
    call = sim.incoming_call(to="2003")
    await cc(client, 1)
    sim.hangup(call, by="caller")
    lost = (await cc(client, 1)).calllost[0]
    assert not lost.thisenddropped
    call = sim.incoming_call(to="2003")
    await cc(client, 1)
    sim.answer(call)
    await cc(client, 1)
    sim.hangup(call, by="2003")
    assert (await cc(client, 1)).calllost[0].thisenddropped


async def test_queue_call_answered_by_agent(client: Client, sim: Simulator) -> None:
    await sub_queue(client, "Sales", 1)
    await sub_user(client, sim, "2001", 2)
    await sub_user(client, sim, "2002", 3)
    call = sim.incoming_call(to="2501", caller="0800123", caller_name="Caller")
    queued = (await cc(client, 1)).callinfo[0]
    assert queued.state == S.RINGING
    assert queued.queueinfo.number == "2501"
    assert queued.queueinfo.name == "Sales"
    assert queued.queueinfo.priority == 1
    assert {t.partyinfo.number for t in queued.targets.target} == {"2001", "2002", "2003"}
    assert queued.featuresavailable == 0x6060E0B1
    agent1 = (await cc(client, 2)).callinfo[0]
    assert agent1.state == S.RINGING
    assert agent1.originalcalledparty.number == "2501"
    assert agent1.queueinfo.name == "Sales"
    assert (await cc(client, 3)).callinfo[0].state == S.RINGING
    sim.answer(call, by="2002")
    answered = (await cc(client, 1)).callinfo[0]
    assert answered.state == S.CONNECTED
    assert answered.connectedparty.number == "2002"
    assert not answered.targets.target
    assert (await cc(client, 2)).calllost[0].callid == agent1.callid
    agent2 = (await cc(client, 3)).callinfo[0]
    assert agent2.state == S.CONNECTED
    assert agent2.connectedparty.number == "0800123"
    sim.hangup(call, by="caller")
    assert (await cc(client, 1)).calllost
    assert (await cc(client, 3)).calllost


async def test_queue_call_queueing_then_agent_free(client: Client, sim: Simulator) -> None:
    sim.update_queue("2503", members=["2007"])
    busy = sim.internal_call("2007", "2001")
    sim.answer(busy)
    await sub_queue(client, "Reception", 1)
    call = sim.incoming_call(to="2503")
    queued = (await cc(client, 1)).callinfo[0]
    assert queued.state == S.QUEUEING
    assert queued.featuresavailable == 0x6060E091
    assert not queued.targets.target
    sim.hangup(busy, by="2007")
    ringing = (await cc(client, 1)).callinfo[0]
    assert ringing.state == S.RINGING
    assert [t.partyinfo.number for t in ringing.targets.target] == ["2007"]
    sim.hangup(call)
    assert (await cc(client, 1)).calllost


async def test_internal_call(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2001", 1)
    await sub_user(client, sim, "2003", 2)
    call = sim.internal_call("2001", "2003")
    caller = (await cc(client, 1)).callinfo[0]
    callee = (await cc(client, 2)).callinfo[0]
    assert caller.state == S.RINGBACK
    assert caller.direction == D.OUTBOUND
    assert caller.calledparty == "2003"
    assert callee.state == S.RINGING
    assert callee.callingparty.number == "2001"
    assert callee.callingparty.nametype == 5
    assert caller.gcid == callee.gcid
    assert caller.callid != callee.callid
    sim.answer(call)
    assert (await cc(client, 1)).callinfo[0].connectedparty.number == "2003"
    assert (await cc(client, 2)).callinfo[0].state == S.CONNECTED
    sim.hold(call, by="2001")
    assert (await cc(client, 1)).callinfo[0].state == S.ONHOLD
    assert (await cc(client, 2)).callinfo[0].activeheld
    sim.unhold(call, by="2001")
    assert (await cc(client, 1)).callinfo[0].state == S.CONNECTED
    assert not (await cc(client, 2)).callinfo[0].activeheld
    sim.hangup(call, by="2001")
    assert (await cc(client, 1)).calllost[0].thisenddropped
    assert not (await cc(client, 2)).calllost[0].thisenddropped


async def test_outgoing_call_and_voicemail(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2001", 1, flags=1)
    call = sim.outgoing_call("2001", "01707999")
    out = (await cc(client, 1)).callinfo[0]
    assert out.state == S.RINGBACK
    assert out.dialinfo.number == "01707999"
    assert out.HasField("trunkinfo")
    sim.answer(call)
    assert (await cc(client, 1)).callinfo[0].connectedparty.number == "01707999"
    sim.hangup(call, by="2001")
    await cc(client, 1)
    call = sim.incoming_call(to="2001")
    await cc(client, 1)
    sim.to_voicemail(call)
    assert (await cc(client, 1)).callinfo[0].state == S.RINGINGVOICEMAIL
    assert (await cc(client, 1)).callinfo[0].state == S.ANSWEREDBYVOICEMAIL
    sim.hangup(call)
    await cc(client, 1)
    assert (await client.notify(1, "user")).user.mailbox.newmessages == 1


async def test_dnd_user_call_goes_to_voicemail(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2004", 1)
    call = sim.incoming_call(to="2004")
    assert (await cc(client, 1)).callinfo[0].state == S.ANSWEREDBYVOICEMAIL
    sim.hangup(call)
    await cc(client, 1)


async def test_cti_answer_hold_unhold_drop(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    call = sim.incoming_call(to="2002")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "HoldCall") == 609
    assert await client.callfn(1, callid, "AnswerCall") == 0
    assert (await cc(client, 1)).callinfo[0].state == S.CONNECTED
    assert await client.callfn(1, callid, "UnHoldCall") == 617
    assert await client.callfn(1, callid, "HoldCall") == 0
    held = (await cc(client, 1)).callinfo[0]
    assert held.state == S.ONHOLD
    assert held.featuresavailable & 0x9 == 0x9  # DROP UNHOLD
    assert await client.callfn(1, callid, "HoldCall") == 617
    assert await client.callfn(1, callid, "UnHoldCall") == 0
    await cc(client, 1)
    assert await client.callfn(1, 9999, "DropCall") == 602
    assert await client.callfn(1, callid, "DropCall") == 0
    assert (await cc(client, 1)).calllost[0].thisenddropped
    assert call.ended


async def test_makecall_with_reference_and_advanced(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2001", 1)
    await sub_user(client, sim, "2003", 2)
    make = pb.MakeCall(target="2003", advanced=pb.AdvancedMakeCall(tag="hello", accountcode="1000"))
    response = await client.cmd(1, callcontrol=pb.UpdateCallControl(referencecallid=77, makecall=make))
    assert response.result == 0
    info = (await cc(client, 1)).callinfo[0]
    assert info.referencecallid == 77
    assert info.tag == "hello"
    assert info.accountcode == "1000"
    assert info.state == S.RINGBACK
    callee = (await cc(client, 2)).callinfo[0]
    assert await client.callfn(2, callee.callid, "AnswerCall") == 0
    assert (await cc(client, 1)).callinfo[0].state == S.CONNECTED
    await cc(client, 2)
    bad = pb.MakeCall(target="2003", advanced=pb.AdvancedMakeCall(accountcode="5555"))
    assert (await client.cmd(1, callcontrol=pb.UpdateCallControl(referencecallid=78, makecall=bad))).result == 604
    bad = pb.MakeCall(target="2003", advanced=pb.AdvancedMakeCall(authcode="0000"))
    assert (await client.cmd(1, callcontrol=pb.UpdateCallControl(referencecallid=79, makecall=bad))).result == 605
    # A user who is logged off has no phone.
    await sub_user(client, sim, "2011", 3)
    off = pb.UpdateCallControl(referencecallid=80, makecall=pb.MakeCall(target="2001"))
    assert (await client.cmd(3, callcontrol=off)).result == 600
    sim.set_phone_state("2003", extnfault=True)
    await client.notify(2, "user")
    assert (await client.cmd(2, callcontrol=off)).result == 601


async def test_blind_transfer_redirect_and_callflows(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    await sub_user(client, sim, "2003", 2)
    call = sim.incoming_call(to="2002")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "Redirect", "") == 608
    assert await client.callfn(1, callid, "Redirect", "abc") == 612
    assert await client.callfn(1, callid, "Redirect", "2003") == 0
    assert (await cc(client, 1)).calllost[0].thisenddropped
    ringing = (await cc(client, 2)).callinfo[0]
    assert ringing.state == S.RINGING
    assert ringing.originalcalledparty.number == "2002"
    sim.answer(call, by="2003")
    await cc(client, 2)
    assert await client.callfn(2, ringing.callid, "Redirect", "2002") == 609
    assert await client.callfn(2, ringing.callid, "BlindTransfer", "/102/Callflow") == 0
    assert (await cc(client, 2)).calllost
    sim.hangup(call)


async def test_queue_call_functions(client: Client, sim: Simulator) -> None:
    await sub_queue(client, "Support", 1)
    call = sim.incoming_call(to="2502", caller="03498984598")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "SetPriority", "4") == 608
    assert await client.callfn(1, callid, "SetPriority", "3") == 0
    assert (await cc(client, 1)).callinfo[0].queueinfo.priority == 3
    assert await client.callfn(1, callid, "SetTag", "VIP") == 0
    assert (await cc(client, 1)).callinfo[0].tag == "VIP"
    assert await client.callfn(1, callid, "SetAccountCode", "4444") == 604
    assert await client.callfn(1, callid, "SetAccountCode", "2000") == 0
    assert (await cc(client, 1)).callinfo[0].accountcode == "2000"
    assert await client.callfn(1, callid, "AnswerCall") == 609
    assert await client.callfn(1, callid, "BlindTransfer", "2501") == 0
    over = (await cc(client, 1)).callinfo[0]
    assert over.queueinfo.overflow_number == "2501"
    assert over.queueinfo.overflow_name == "Sales"
    assert await client.callfn(1, callid, "BlindTransfer", "/116/20987") == 0
    conf = (await cc(client, 1)).callinfo[0]
    assert conf.state == S.CONNECTED
    assert conf.connectedparty.number == "20987"
    assert conf.connectedparty.nametype == 110
    assert await client.callfn(1, callid, "Finish", "2") == 608
    assert await client.callfn(1, callid, "Finish") == 609  # not while in a conference (spec example)
    sim.hangup(call)
    assert (await cc(client, 1)).calllost
    call = sim.incoming_call(to="2502")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "Finish", "1") == 0
    assert (await cc(client, 1)).calllost[0].description == "finished"
    assert not call.ended
    sim.hangup(call)
    assert await client.silent(0.1)


async def test_queue_blind_transfer_to_voicemail(client: Client, sim: Simulator) -> None:
    await sub_queue(client, "Support", 1)
    call = sim.incoming_call(to="2502")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "BlindTransfer", "/102/Callflow") == 0
    info = (await cc(client, 1)).callinfo[0]
    assert info.state == S.ANSWEREDBYVOICEMAIL
    assert info.connectedparty.number == "Callflow"
    assert await client.callfn(1, callid, "ForceClear") == 0
    assert (await cc(client, 1)).calllost
    assert call.ended


async def test_park_and_unpark(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    assert (await client.subscribe(2, parkserver=pb.SubscribeParkServer(ccflags=1))).result == 0
    assert not (await cc(client, 2)).callinfo
    call = sim.incoming_call(to="2002")
    callid = (await cc(client, 1)).callinfo[0].callid
    assert await client.callfn(1, callid, "Park", "1") == 609
    sim.answer(call)
    await cc(client, 1)
    assert await client.callfn(1, callid, "Park", "1234567890") == 608
    assert await client.callfn(1, callid, "Park", "7") == 0
    assert (await cc(client, 1)).calllost
    parked = (await cc(client, 2)).callinfo[0]
    assert parked.parkslot == "7"
    unpark = pb.UpdateCallControl(referencecallid=5, unparkcall=pb.UnParkCall(parkid="8"))
    assert (await client.cmd(1, callcontrol=unpark)).result == 606
    unpark = pb.UpdateCallControl(referencecallid=5, unparkcall=pb.UnParkCall(parkid="7"))
    assert (await client.cmd(1, callcontrol=unpark)).result == 0
    picked = (await cc(client, 1)).callinfo[0]
    assert picked.direction == D.PICKUP
    assert picked.referencecallid == 5
    assert picked.state == S.CONNECTED
    assert (await cc(client, 2)).calllost
    sim.hangup(call)


async def test_assisted_transfer(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    await sub_user(client, sim, "2003", 2)
    call = sim.incoming_call(to="2002", caller="0123")
    callid = (await cc(client, 1)).callinfo[0].callid
    sim.answer(call)
    await cc(client, 1)
    assert await client.callfn(1, callid, "SetupTransfer", "2003") == 0
    event = await cc(client, 1)
    states = {i.callid: i for i in event.callinfo}
    assert states[callid].state == S.ONHOLDPENDTRANSFER
    consult = next(i for i in event.callinfo if i.callid != callid)
    assert consult.relatedcallid == callid
    ring = (await cc(client, 2)).callinfo[0]
    assert await client.callfn(2, ring.callid, "AnswerCall") == 0
    await cc(client, 2)
    assert (await cc(client, 1)).callinfo[0].featuresavailable & (1 << 9)
    assert await client.callfn(1, consult.callid, "CompleteTransfer") == 0
    done = await cc(client, 1)
    assert {lost.callid for lost in done.calllost} == {callid, consult.callid}
    moved = (await cc(client, 2)).callinfo[0]
    assert moved.connectedparty.number == "0123"
    assert moved.state == S.CONNECTED
    sim.hangup(call)
    assert (await cc(client, 2)).calllost


async def test_conference_functions(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2002", 1)
    call = sim.incoming_call(to="2002", caller="0123")
    callid = (await cc(client, 1)).callinfo[0].callid
    sim.answer(call)
    await cc(client, 1)
    assert await client.callfn(1, callid, "MuteOn") == 610
    assert await client.callfn(1, callid, "SetupConf", "0456") == 0
    event = await cc(client, 1)
    consult = next(i for i in event.callinfo if i.callid != callid)
    assert consult.state == S.RINGBACK
    assert await client.callfn(1, callid, "CompleteConf") == 0
    conf = (await cc(client, 1)).callinfo
    info = next(i for i in conf if i.callid == callid)
    assert {m.connectedparty.number for m in info.conferencemember} == {"0123", "0456"}
    assert await client.callfn(1, callid, "AddToConf", "0789") == 0
    info = (await cc(client, 1)).callinfo[0]
    assert len(info.conferencemember) == 3
    lref = info.conferencemember[-1].lref
    assert await client.callfn(1, callid, "MuteOn") == 0
    assert (await cc(client, 1)).callinfo[0].mute
    mf = pb.MemberFunctionData(lref=999, action=pb.MemberFunctionData.Action.DropCall)
    assert await client.callfn(1, callid, "MemberFunction", memberfunctiondata=mf) == 614
    mf = pb.MemberFunctionData(lref=lref, action=pb.MemberFunctionData.Action.MuteOn)
    assert await client.callfn(1, callid, "MemberFunction", memberfunctiondata=mf) == 0
    assert (await cc(client, 1)).callinfo[0].conferencemember[-1].mute
    mf = pb.MemberFunctionData(lref=lref, action=pb.MemberFunctionData.Action.DropCall)
    assert await client.callfn(1, callid, "MemberFunction", memberfunctiondata=mf) == 0
    assert len((await cc(client, 1)).callinfo[0].conferencemember) == 2
    assert await client.callfn(1, callid, "DropCall") == 0
    await cc(client, 1)


async def test_misc_call_functions(client: Client, sim: Simulator) -> None:
    await sub_user(client, sim, "2009", 1)
    call = sim.incoming_call(to="2009")
    callid = (await cc(client, 1)).callinfo[0].callid
    sim.answer(call)
    await cc(client, 1)
    assert await client.callfn(1, callid, "GenerateDigits", "12#") == 0
    assert await client.callfn(1, callid, "GenerateDigits", "12a") == 608
    assert await client.callfn(1, callid, "SetAuthCode", "1111") == 605
    assert await client.callfn(1, callid, "SetAuthCode", "4321") == 0
    assert await client.callfn(1, callid, "CallRecordingOn") == 0
    assert (await cc(client, 1)).callinfo[0].recording
    assert await client.callfn(1, callid, "CallRecordingOn") == 617
    assert await client.callfn(1, callid, "CallRecordingOff") == 0
    assert not (await cc(client, 1)).callinfo[0].recording
    assert await client.callfn(1, callid, "PrivacyOn") == 0
    assert (await cc(client, 1)).callinfo[0].calldata.privacy
    assert await client.callfn(1, callid, "PrivacyOff") == 0
    await cc(client, 1)
    rec = pb.AgentRecordingControl(pause=True)
    assert await client.callfn(1, callid, "AgentRecordingControl", agentrecording=rec) == 0
    assert (await cc(client, 1)).callinfo[0].recordingpaused
    assert await client.callfn(1, callid, "PushToEC500") == 0
    assert await client.callfn(1, callid, "SetPriority", "2") == 609
    assert await client.callfn(1, callid, "Unused21") == 616
    sim.hangup(call)
    await cc(client, 1)


@pytest.mark.parametrize("sid_kind", ["user", "queue"])
async def test_call_control_needs_ccflags(client: Client, sim: Simulator, sid_kind: str) -> None:
    if sid_kind == "user":
        await client.subscribe(1, user=pb.SubscribeUser(guid=sim.model.user("2001").guid))
    else:
        await client.subscribe(1, queue=pb.SubscribeQueue(name="Sales", ccflags=0))
    assert await client.callfn(1, 1, "DropCall") == 3


async def test_call_details_on_the_wire(client: Client, sim: Simulator) -> None:
    """A withheld trunk caller carries no number; a call to an emergency number says so; every call has a UCID;
    the devices at each end come with ccflags 0x02 only; a call that forwarding sent on names why."""
    await sub_user(client, sim, "2002", 1)
    guid = sim.model.user("2003").guid
    assert (await client.subscribe(2, user=pb.SubscribeUser(guid=guid, ccflags=CC & ~0x02))).result == 0
    await client.notify(2, "user")
    sim.incoming_call(to="2002", caller="0123", caller_name="Caller", withheld=True)
    ringing = (await cc(client, 1)).callinfo[0]
    assert (ringing.callingparty.withheld, ringing.callingparty.number) == (True, "")
    assert ringing.callingparty.name == "Caller"
    assert len(ringing.ucid.ucid) == 8
    assert not ringing.calldata.emergency
    (local,) = ringing.localinfo
    assert (local.deviceclass, local.gcid) == (1, ringing.gcid)
    assert not ringing.HasField("remoteinfo")  # a trunk caller
    sim.outgoing_call(from_="2003", to="112")
    emergency = (await cc(client, 2)).callinfo[0]
    assert emergency.calldata.emergency
    assert not emergency.localinfo  # not asked for
    sim.update_user("2006", fwdu=True, fwdunumber="2002")
    call = sim.internal_call(from_="2001", to="2006")
    forwarded = next(info for info in (await cc(client, 1)).callinfo if info.callid == call.callid("2002"))
    assert (forwarded.originalcalledparty.number, forwarded.originalcalledparty.diversionreason) == ("2006", 15)
    assert forwarded.remoteinfo.deviceclass == 1  # Alice's phone
