"""What a call tells beyond who and how: the number dialled in, a withheld caller, a diversion, an emergency, a
queue's overflow, the conference members, the devices at each end and the UCID, as IP Office sends them."""

from __future__ import annotations

import re

import pytest

from custom_components.ipoffice.mtcti3 import (
    CallDirection,
    CallState,
    CommandValidationError,
    IPOfficeClient,
    Subsystem,
)
from custom_components.ipoffice.mtcti3.calls import call_from_info
from custom_components.ipoffice.mtcti3.const import FailedCause
from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb
from simulator import Simulator
from simulator.model import DEVICE_CLASS_DESK, DIVERSION_UNCONDITIONAL

from .conftest import settle, wait_for
from .test_calls import only_call, user


async def test_trunk_call_carries_the_number_dialled_in_and_its_ucid(client: IPOfficeClient, sim: Simulator) -> None:
    """A trunk call says on the user's call which of the office's numbers was dialled, and every owner seeing the
    call has the same UCID, as upper-case hex."""
    sim.incoming_call(to="2009", caller="01707123456", did="01707555100")
    sim.incoming_call(to="2501", caller="01707999999", did="01707555200")
    await settle(sim)
    isabel = only_call(user(client, "2009"))
    assert isabel.trunk_did == "01707555100"
    assert re.fullmatch(r"[0-9A-F]{16}", isabel.ucid)
    sales = client.queue_by_extn("2501")
    assert sales is not None
    (queued,) = sales.calls.values()
    assert queued.trunk_did == "01707555200"
    alice = only_call(user(client, "2001"))  # a Sales agent, ringing
    assert (alice.trunk_did, alice.ucid) == ("01707555200", queued.ucid)
    assert queued.ucid != isabel.ucid


async def test_withheld_caller(client: IPOfficeClient, sim: Simulator) -> None:
    """A caller that withheld its number is a withheld party without a number, not merely an unknown one."""
    sim.incoming_call(to="2002", caller="01707123456", withheld=True)
    sim.incoming_call(to="2003", caller="01707123456")
    await settle(sim)
    withheld = only_call(user(client, "2002")).calling_party
    assert withheld is not None
    assert (withheld.withheld, withheld.number) == (True, "")
    shown = only_call(user(client, "2003")).calling_party
    assert shown is not None
    assert (shown.withheld, shown.number) == (False, "01707123456")


async def test_emergency_call(client: IPOfficeClient, sim: Simulator) -> None:
    """A call to an emergency number is marked an emergency call; another outside call is not."""
    bob, carol = user(client, "2002"), user(client, "2003")
    await client.make_call(bob, "112")
    sim.outgoing_call(from_="2003", to="01707123456")
    await wait_for(lambda: bool(bob.calls) and only_call(bob).state is CallState.RINGBACK, message="the call")
    await settle(sim)
    assert only_call(bob).emergency
    assert not only_call(carol).emergency


async def test_forwarded_call_carries_the_diversion(client: IPOfficeClient, sim: Simulator) -> None:
    """A call that Frank's forwarding sent to Bob names Frank as the original called party, with the reason."""
    sim.update_user("2006", fwdu=True, fwdunumber="2002")
    sim.incoming_call(to="2006", caller="01707123456")
    await settle(sim)
    original = only_call(user(client, "2002")).original_called_party
    assert original is not None
    assert (original.number, original.diversion_reason) == ("2006", DIVERSION_UNCONDITIONAL)


async def test_queue_overflow(client: IPOfficeClient, sim: Simulator) -> None:
    """A Sales call passed on to the Support queue says, on the Sales queue and on Support's agent, where it went."""
    sales = client.queue_by_extn("2501")
    assert sales is not None
    sim.incoming_call(to="2501")
    await settle(sim)
    (call_id,) = sales.calls
    assert sales.calls[call_id].queue_overflow_number == ""
    await client.blind_transfer(sales, call_id, "2502")
    await settle(sim)
    call = sales.calls[call_id]
    assert (call.queue_overflow_number, call.queue_overflow_name) == ("2502", "Support")
    carol = only_call(user(client, "2003"))  # Support's first agent
    assert carol.queue_overflow_name == "Support"


async def test_conference_members(client: IPOfficeClient, sim: Simulator) -> None:
    """A conference lists each other member with its party, state, direction and the number it was called on; a
    member that could not be reached says why."""
    bob = user(client, "2002")
    sim_call = sim.incoming_call(to="2002", caller="0123")
    await settle(sim)
    sim.answer(sim_call)
    await settle(sim)
    call_id = only_call(bob).call_id
    await client.setup_conference(bob, call_id, "0456")
    await settle(sim)
    await client.complete_conference(bob, call_id)
    await settle(sim)
    await client.add_to_conference(bob, call_id, "nobody")
    await settle(sim)
    members = {member.party.number or member.called_party: member for member in bob.calls[call_id].conference_members}
    assert set(members) == {"0123", "0456", "nobody"}
    caller, added, failed = members["0123"], members["0456"], members["nobody"]
    assert (caller.state, caller.direction, caller.called_party) == (CallState.CONNECTED, CallDirection.INBOUND, "")
    assert (added.state, added.direction, added.called_party) == (CallState.CONNECTED, CallDirection.OUTBOUND, "0456")
    assert (failed.state, failed.failed_cause) == (CallState.FAILED, FailedCause.UNALLOCATEDNUMBER)
    assert len({member.lref for member in members.values()}) == 3


async def test_devices_at_each_end(client: IPOfficeClient, sim: Simulator) -> None:
    """An internal call answered is on a device at each end: the user's own phone and the far user's."""
    call = sim.internal_call(from_="2001", to="2002")
    await settle(sim)
    sim.answer(call, by="2002")
    await settle(sim)
    bob = only_call(user(client, "2002"))
    (local,) = bob.local_devices
    assert (local.device_class, local.gcid, local.teleworker) == (DEVICE_CLASS_DESK, bob.gcid, "")
    assert bob.remote_device is not None
    assert bob.remote_device.device_class == DEVICE_CLASS_DESK
    sim.incoming_call(to="2003", caller="01707123456")
    await settle(sim)
    assert only_call(user(client, "2003")).remote_device is None  # a trunk caller: no device of the office


async def test_teleworker_login(client: IPOfficeClient, sim: Simulator) -> None:
    """A user logged in as a teleworker has its calls on a device reached at the teleworker's number."""
    bob = user(client, "2002")
    with pytest.raises(CommandValidationError, match="teleworker_number"):
        await client.login_extension(bob, "2002", hold_line_open=True)
    await client.login_extension(bob, "2002", teleworker_number="07700900222", hold_line_open=True, test_connection=1)
    await settle(sim)
    sim.internal_call(from_="2001", to="2002")
    await settle(sim)
    (local,) = only_call(bob).local_devices
    assert local.teleworker == "07700900222"
    await client.login_extension(bob, "2002")  # as an ordinary phone again
    await settle(sim)
    assert sim.model.user("2002").teleworker == ""


def test_every_detail_read_from_a_snapshot() -> None:
    """Each field IP Office may send is read: the parties' withheld flag, diversion reason, number type and
    subaddress, the call's emergency, secure and remote privacy flags, and every field of a conference member."""
    info = pb.CallInfo(
        callid=1,
        state=pb.CallInfo.State.Value("CONNECTED"),
        callingparty=pb.PartyInfo(numbertype=2, number="0123", subaddr="77", withheld=True, diversionreason=1),
        calldata=pb.CallData(emergency=True, secure=True, rprivacy=True),
        conferencemember=[
            pb.ConferenceMember(
                lref=4,
                state=pb.ConferenceMember.State.Value("ONHOLD"),
                direction=pb.ConferenceMember.Direction.Value("PICKUP"),
                activeheld=True,
                calledparty="2005",
                connectedparty=pb.PartyInfo(number="2005", name="Emma"),
                mute=True,
                failedcause=pb.ConferenceMember.FailedCause.Value("BARRED"),
            )
        ],
        remoteinfo=pb.EndInfo(gcid=b"\x0a\x0b", deviceclass=3, devicetype=7, deviceinstance=2, teleworker="0170"),
        ucid=pb.UCID(ucid=b"\x00\x01\xab"),
    )
    call = call_from_info(info, Subsystem.USER, "G", None, 1.0)
    party = call.calling_party
    assert party is not None
    assert (party.number_type, party.subaddress, party.withheld, party.diversion_reason) == (2, "77", True, 1)
    assert (call.emergency, call.secure, call.remote_privacy, call.ucid) == (True, True, True, "0001AB")
    (member,) = call.conference_members
    assert (member.lref, member.state, member.direction, member.active_held, member.called_party) == (
        4,
        CallState.ONHOLD,
        CallDirection.PICKUP,
        True,
        "2005",
    )
    assert (member.party.name, member.mute, member.failed_cause) == ("Emma", True, FailedCause.BARRED)
    assert call.remote_device is not None
    assert (call.remote_device.gcid, call.remote_device.device_instance, call.remote_device.teleworker) == (
        "0A0B",
        2,
        "0170",
    )
    assert call.local_devices == ()
    bare = call_from_info(pb.CallInfo(callid=2), Subsystem.USER, "G", None, 1.0)
    assert (bare.emergency, bare.ucid, bare.remote_device, bare.queue_overflow_number) == (False, "", None, "")
