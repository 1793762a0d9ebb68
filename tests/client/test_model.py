"""The model kept current from notifies: users, queues, directory, presence, listeners."""

from __future__ import annotations

import pytest

from custom_components.ipoffice.mtcti3 import (
    AbsenceMessage,
    IPOfficeClient,
    LineEntry,
    LineKind,
    PhoneState,
    PresenceEntry,
    Queue,
    ServiceMode,
    User,
    UserFeature,
)
from simulator import Simulator
from tests.simtools import SIM_VERSION

from .conftest import ClientFactory, settle, wait_for


def user(client: IPOfficeClient, extn: str) -> User:
    found = client.user_by_extn(extn)
    assert found is not None
    return found


def queue(client: IPOfficeClient, extn: str) -> Queue:
    found = client.queue_by_extn(extn)
    assert found is not None
    return found


async def test_initial_user_fields(client: IPOfficeClient) -> None:
    assert user(client, "2004").dnd
    emma = user(client, "2005")
    assert emma.fwdu
    assert emma.fwdu_number == "07700900123"
    frank = user(client, "2006")
    assert frank.mailbox is not None
    assert (frank.mailbox.new, frank.mailbox.old, frank.mailbox.saved) == (3, 1, 2)
    grace = user(client, "2007")
    assert grace.absence is not None
    assert grace.absence.message == AbsenceMessage.AT_LUNCH_UNTIL
    assert grace.absence.display == "AT LUNCH UNTIL 14:00"
    assert user(client, "2008").language == "deu"
    assert user(client, "2009").ec500
    karen = user(client, "2011")
    assert karen.logged_off
    assert karen.phone_state is PhoneState.LOGOUT
    assert not user(client, "2012").voicemail
    assert user(client, "2001").absence is None
    assert user(client, "2001").can(UserFeature.SAC)


@pytest.mark.parametrize(
    ("fields", "check"),
    [
        ({"dnd": True}, lambda u: u.dnd),
        ({"fwdu": True, "fwdunumber": "07700900999"}, lambda u: u.fwdu and u.fwdu_number == "07700900999"),
        ({"fwdb": True, "fwdbnumber": "555"}, lambda u: u.fwdb and u.fwdb_number == "555"),
        ({"fwdna": True}, lambda u: u.fwdna),
        ({"fwdhg": True}, lambda u: u.fwdhg),
        ({"fwdtovm": True}, lambda u: u.fwd_to_voicemail),
        ({"voicemail": False}, lambda u: not u.voicemail),
        ({"ec500": True}, lambda u: u.ec500),
        ({"app": "In a meeting"}, lambda u: u.app == "In a meeting"),
        ({"absence": (AbsenceMessage.BACK_SOON, "")}, lambda u: u.absence.display == "BACK SOON"),
        ({"mailbox": (4, 2, 1)}, lambda u: (u.mailbox.new, u.mailbox.old, u.mailbox.saved) == (4, 2, 1)),
        ({"barred": True}, lambda u: u.barred),
        ({"xdirectory": True}, lambda u: u.xdirectory),
        ({"email": "new@example.com"}, lambda u: u.email == "new@example.com"),
        ({"fullname": "Robert Jones"}, lambda u: u.fullname == "Robert Jones"),
        ({"language": "fra"}, lambda u: u.language == "fra"),
    ],
)
async def test_user_field_changes(
    client: IPOfficeClient, sim: Simulator, fields: dict[str, object], check: object
) -> None:
    bob = user(client, "2002")
    seen: list[User] = []
    client.add_user_listener(seen.append, bob.guid.lower())
    others: list[User] = []
    client.add_user_listener(others.append, user(client, "2003").guid)
    sim.update_user("2002", **fields)
    await settle(sim)
    assert check(bob)  # type: ignore[operator]
    assert seen
    assert seen[-1] is bob
    assert not others  # dispatch by guid


async def test_phone_state_and_absence_clear(client: IPOfficeClient, sim: Simulator) -> None:
    sim.set_phone_state("2002", logged_in=False)
    await settle(sim)
    bob = user(client, "2002")
    assert bob.logged_off
    assert bob.phone_state is PhoneState.LOGOUT
    sim.set_phone_state("2002", logged_in=True, loggedinextn="2002")
    sim.set_phone_state("2002", extnfault=True)
    await settle(sim)
    assert bob.logged_in_extn == "2002"
    assert bob.phone_state is PhoneState.FAULT
    sim.update_user("2007", absence=None)
    sim.set_mailbox("2006", new=0)
    await settle(sim)
    assert user(client, "2007").absence is None
    mailbox = user(client, "2006").mailbox
    assert mailbox is not None
    assert mailbox.new == 0  # from 3


async def test_flags_leave_fields_out(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(user_flags=0, queue_flags=0)
    assert user(client, "2006").mailbox is None
    assert user(client, "2007").absence is None
    assert queue(client, "2502").members == ()
    assert queue(client, "2502").mailbox is None


@pytest.mark.parametrize(
    ("fields", "check"),
    [
        ({"servicemode": "NS"}, lambda q: q.service_mode is ServiceMode.NIGHT_SERVICE),
        ({"servicemode": "OOS"}, lambda q: q.service_mode is ServiceMode.OUT_OF_SERVICE),
        ({"voicemail": False}, lambda q: not q.voicemail),
        ({"members": ["2001", "2004"]}, lambda q: [m.extn for m in q.members] == ["2001", "2004"]),
        ({"ringmode": 1}, lambda q: q.ring_mode == 1),
        ({"noanswertime": 30}, lambda q: q.no_answer_time == 30),
        ({"voicemailtime": 60}, lambda q: q.voicemail_time == 60),
        ({"email": "s@example.com"}, lambda q: q.email == "s@example.com"),
    ],
)
async def test_queue_field_changes(
    client: IPOfficeClient, sim: Simulator, fields: dict[str, object], check: object
) -> None:
    sales = queue(client, "2501")
    seen: list[Queue] = []
    client.add_queue_listener(seen.append, sales.guid)
    any_queue: list[Queue] = []
    client.add_queue_listener(any_queue.append)
    sim.update_queue("2501", **fields)
    await settle(sim)
    assert check(sales)  # type: ignore[operator]
    assert seen
    assert any_queue
    sim.set_mailbox("2501", new=5)
    await settle(sim)
    assert sales.mailbox is not None
    assert sales.mailbox.new == 5


async def test_directory_changes(client: IPOfficeClient, sim: Simulator) -> None:
    changes: list[tuple[list[LineEntry], list[LineEntry], list[LineEntry]]] = []
    remove = client.add_directory_listener(lambda a, r, c: changes.append((a, r, c)))
    guid = sim.add_user(extn="2010", name="New User")
    await settle(sim)
    await wait_for(lambda: guid in client.users and client.users[guid].synced, message="new user subscribed")
    assert changes[-1][0] == [LineEntry(LineKind.USER, guid, "2010", "New User")]
    sim.change_user("2010", name="Renamed")
    await settle(sim)
    assert client.users[guid].name == "Renamed"
    assert client.directory[guid].name == "Renamed"
    assert changes[-1][2][0].name == "Renamed"
    sim.remove_user("2010")
    await settle(sim)
    assert guid not in client.users
    assert guid not in client.directory
    assert changes[-1][1][0].guid == guid
    qguid = sim.add_queue("2599", "Overflow", ["2001"])
    await settle(sim)
    await wait_for(lambda: qguid in client.queues and client.queues[qguid].synced, message="new queue")
    sim.remove_queue("2599")
    await settle(sim)
    assert qguid not in client.queues
    remove()
    remove()  # removing twice is harmless
    count = len(changes)
    sim.add_user(extn="2020", name="Unseen")
    await settle(sim)
    assert len(changes) == count


async def test_filtered_client_ignores_new_users(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(users=[], queues=[])
    guid = sim.add_user(extn="2010", name="New User")
    await settle(sim)
    assert guid in client.directory
    assert guid not in client.users
    added = await client.subscribe_user(guid)
    assert added.synced
    assert added.extn == "2010"


async def test_subscribe_queue_by_name(make_client: ClientFactory, sim: Simulator) -> None:
    client = await make_client(queues=[])
    assert client.queues == {}
    support = await client.subscribe_queue(name="Support")
    assert support.extn == "2502"
    assert support.guid in client.directory
    sales = await client.subscribe_queue(queue(client, "2502").guid if False else sim.model.queue("2501").guid.hex())
    assert sales.name == "Sales"
    client.directory.clear()  # a name Lines does not list: keyed by the name
    reception = await client.subscribe_queue(name="Reception")
    assert reception.guid == "Reception"
    assert client.queues["Reception"].synced
    sim.update_queue("2503", servicemode="OOS")
    await settle(sim)
    assert reception.service_mode is ServiceMode.OUT_OF_SERVICE
    with pytest.raises(ValueError, match="guid"):
        await client.subscribe_queue()


async def test_presence(client: IPOfficeClient, sim: Simulator) -> None:
    notes: list[tuple[int, list[PresenceEntry]]] = []
    client.add_presence_listener(lambda handle, entries: notes.append((handle, entries)))
    handle = await client.subscribe_presence(["2002", "2004"], flags=0x01)
    await settle(sim)
    assert notes[0][0] == handle
    entries = {e.presentity: e for e in notes[0][1]}
    assert entries["2004"].dnd
    assert not entries["2002"].dnd
    assert entries["2002"].phone_state is PhoneState.IDLE
    sim.update_user("2002", dnd=True)
    await settle(sim)
    assert notes[-1][1][0].dnd
    assert notes[-1][1][0].presentity == "2002"
    await client.update_presence(handle, add=["2007"], remove=["2004"])
    await settle(sim)
    added = notes[-1][1][0]
    assert added.presentity == "2007"
    assert added.absence is not None
    await client.end_presence(handle)
    with pytest.raises(ValueError, match="handle"):
        await client.update_presence(handle, add=["2001"])
    with pytest.raises(ValueError, match="timeout"):
        await client.subscribe_presence(["2002"], expires=59)
    with pytest.raises(ValueError, match="timeout"):
        await client.subscribe_presence(["2002"], expires=86401)
    assert await client.subscribe_presence(["2002"], expires=60) > handle
    assert await client.subscribe_presence(["2002"], expires=86400) > handle


async def test_account_codes_and_version(client: IPOfficeClient) -> None:
    assert await client.get_account_codes() == ["1000", "2000", "3000", "9999"]
    assert await client.get_version() == SIM_VERSION


async def test_listener_exceptions_do_not_stop_others(client: IPOfficeClient, sim: Simulator) -> None:
    def broken(_user: User) -> None:
        raise RuntimeError("listener bug")

    seen: list[User] = []
    client.add_user_listener(broken)
    client.add_user_listener(seen.append)
    sim.update_user("2002", dnd=True)
    await settle(sim)
    assert seen
    assert client.stats.acks == client.stats.notifies
    assert sim.bad_acks == 0
