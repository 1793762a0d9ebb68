"""User/queue commands seen back through notifies, validation at every limit, and result-code mapping."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from custom_components.ipoffice.mtcti3 import (
    AbsenceMessage,
    CallControlError,
    CallFeature,
    CallState,
    CommandValidationError,
    FeatureNotAvailableError,
    GeneralCommandError,
    IPOfficeClient,
    MakeCallType,
    NotConnectedError,
    RequestTimeoutError,
    ResultCode,
    ResultError,
    ServiceMode,
    SubscriptionError,
    TransferType,
    User,
    UserFeature,
)
from custom_components.ipoffice.mtcti3.errors import error_for_result
from simulator import Simulator
from tests.simtools import SIM_VERSION, needs_version_request

from .conftest import settle


def user(client: IPOfficeClient, extn: str) -> User:
    found = client.user_by_extn(extn)
    assert found is not None
    return found


async def test_user_commands(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    await client.set_dnd(bob, True)
    await settle(sim)
    assert bob.dnd
    await client.set_dnd(bob.guid, False)
    await client.set_absence(bob, AbsenceMessage.MEETING_UNTIL, "15:00")
    await settle(sim)
    assert not bob.dnd
    assert bob.absence is not None
    assert bob.absence.display == "MEETING UNTIL 15:00"
    await client.set_absence(bob, None)
    await client.set_mobile_twinning(bob, True)
    await client.set_app_presence(bob, "Busy")
    await settle(sim)
    assert bob.absence is None
    assert bob.ec500
    assert bob.app == "Busy"
    await client.set_voicemail_counts(bob, 3, 1, 2)
    await settle(sim)
    assert bob.mailbox is not None
    assert (bob.mailbox.new, bob.mailbox.old, bob.mailbox.saved) == (3, 1, 2)
    await client.set_forward_unconditional(bob, True, number="07700900555")
    await settle(sim)
    assert bob.fwdu
    assert bob.fwdu_number == "07700900555"
    await client.set_forward_unconditional(bob, False)
    await client.set_forward_busy(bob, True, number="2003")
    await client.set_forward_no_answer(bob, True)
    await settle(sim)
    assert not bob.fwdu
    assert bob.fwdu_number == "07700900555"
    assert bob.fwdb
    assert bob.fwdb_number == "2003"
    assert bob.fwdna
    await client.set_forward_busy(bob, False)
    await client.set_forward_no_answer(bob, False)
    await client.send_short_code(bob, 7)
    await settle(sim)
    assert not bob.fwdb
    assert not bob.fwdna
    assert bob.dnd
    await client.login_extension(bob, "2002")


async def test_queue_commands(client: IPOfficeClient, sim: Simulator) -> None:
    sales = client.queue_by_extn("2501")
    assert sales is not None
    await client.set_queue_service_mode(sales, ServiceMode.NIGHT_SERVICE)
    await client.set_queue_voicemail(sales.guid, False)
    await settle(sim)
    assert sales.service_mode is ServiceMode.NIGHT_SERVICE
    assert not sales.voicemail
    await client.add_queue_member(sales, "2004")
    await client.set_queue_member_enabled(sales, "2008", True)
    await settle(sim)
    assert {m.extn: m.disabled for m in sales.members}["2004"] is False
    assert {m.extn: m.disabled for m in sales.members}["2008"] is False
    await client.set_queue_member_enabled(sales, "2001", False)
    await client.remove_queue_member(sales, "2004")
    await settle(sim)
    members = {m.extn: m.disabled for m in sales.members}
    assert "2004" not in members
    assert members["2001"] is True
    with pytest.raises(CommandValidationError, match="mode"):
        await client.set_queue_service_mode(sales, ServiceMode.UNSET)


async def test_queue_call_commands(client: IPOfficeClient, sim: Simulator) -> None:
    sales = client.queue_by_extn("2501")
    assert sales is not None
    sim.incoming_call(to="2501")
    await settle(sim)
    call = next(iter(sales.calls.values()))
    await client.set_priority(sales, call.call_id, 3)
    await settle(sim)
    assert sales.calls[call.call_id].queue_priority == 3
    await client.set_tag(sales, call.call_id, "queued")
    await settle(sim)
    assert sales.calls[call.call_id].tag == "queued"
    carol = user(client, "2003")
    before = set(carol.calls)
    await client.blind_transfer(sales, call.call_id, "2502")
    await settle(sim)
    # Support rings its agents in turn, Carol first: a new call id of hers; Sales' other agents stop ringing.
    (transferred,) = (c for c in carol.calls.values() if c.call_id not in before)
    assert transferred.gcid == call.gcid
    assert transferred.state is CallState.RINGING
    assert transferred.tag == "queued"
    assert not user(client, "2001").calls
    assert not user(client, "2002").calls
    await client.finish_call(sales, call.call_id, immediately=True)
    await settle(sim)
    assert call.call_id not in sales.calls


# --- validation ------------------------------------------------------------------------------------------------

Command = Callable[[IPOfficeClient, Any, int], Awaitable[Any]]

VALID: list[tuple[str, Command]] = [
    ("target 1", lambda c, u, i: c.blind_transfer(u, i, "1")),
    ("target 78", lambda c, u, i: c.blind_transfer(u, i, "9" * 78)),
    ("redirect 78", lambda c, u, i: c.redirect_call(u, i, "9" * 78)),
    ("dial 78", lambda c, u, i: c.dial_digits(u, i, "*#0" * 26)),
    ("park 9", lambda c, u, i: c.park_call(u, i, "123456789")),
    ("dtmf 32", lambda c, u, i: c.send_dtmf(u, i, "1" * 32)),
    ("tag 127", lambda c, u, i: c.set_tag(u, i, "t" * 127)),
    ("tag 0", lambda c, u, i: c.set_tag(u, i, "")),
    ("account 15", lambda c, u, i: c.set_account_code(u, i, "1" * 15)),
    ("auth 15", lambda c, u, i: c.set_auth_code(u, i, "1" * 15)),
    ("setup transfer 0", lambda c, u, i: c.setup_transfer(u, i, "")),
    ("setup conf 78", lambda c, u, i: c.setup_conference(u, i, "9" * 78)),
    ("add to conf 78", lambda c, u, i: c.add_to_conference(u, i, "9" * 78)),
    ("priority 1", lambda c, u, i: c.set_priority(u, i, 1)),
    ("member mute", lambda c, u, i: c.conference_member(u, i, 1, "mute")),
    ("member drop", lambda c, u, i: c.conference_member(u, i, 1, "drop")),
    ("member unmute", lambda c, u, i: c.conference_member(u, i, 1, "unmute")),
    ("complete conf", lambda c, u, i: c.complete_conference(u, i, [i + 1, i + 2])),
    ("complete transfer other", lambda c, u, i: c.complete_transfer(u, i, i + 1)),
    ("recording pause", lambda c, u, i: c.set_recording_paused(u, i, True)),
    ("recording resume", lambda c, u, i: c.set_recording_paused(u, i, False)),
    ("mute", lambda c, u, i: c.set_mute(u, i, True)),
    ("unmute", lambda c, u, i: c.set_mute(u, i, False)),
    ("push", lambda c, u, i: c.push_to_mobile(u, i)),
    ("force clear", lambda c, u, i: c.force_clear(u, i)),
    ("answer softphone", lambda c, u, i: c.answer_call(u, i, device_hint="softphoneany")),
    ("answer hint 1", lambda c, u, i: c.answer_call(u, i, device_hint=1)),
    ("finish", lambda c, u, i: c.finish_call(u, i)),
    ("transfer meetme pin", lambda c, u, i: c.blind_transfer(u, i, "2005", TransferType.MEETME, "1234")),
    ("transfer callflow", lambda c, u, i: c.blind_transfer(u, i, "Main menu", TransferType.VOICEMAIL)),
]

INVALID: list[tuple[str, str, Command]] = [
    ("target", "1 to 78", lambda c, u, i: c.blind_transfer(u, i, "")),
    ("target", "1 to 78", lambda c, u, i: c.blind_transfer(u, i, "9" * 79)),
    ("target", "1 to 78", lambda c, u, i: c.redirect_call(u, i, "9" * 79)),
    ("target", "1 to 78", lambda c, u, i: c.add_to_conference(u, i, "")),
    ("target", "0 to 78", lambda c, u, i: c.setup_transfer(u, i, "9" * 79)),
    ("target", "0 to 78", lambda c, u, i: c.setup_conference(u, i, "9" * 79)),
    ("digits", "1 to 78", lambda c, u, i: c.dial_digits(u, i, "1" * 79)),
    ("digits", "0-9", lambda c, u, i: c.dial_digits(u, i, "12a")),
    ("slot", "1 to 9", lambda c, u, i: c.park_call(u, i, "1234567890")),
    ("slot", "1 to 9", lambda c, u, i: c.park_call(u, i, "")),
    ("slot", "0-9", lambda c, u, i: c.park_call(u, i, "A1")),
    ("digits", "1 to 32", lambda c, u, i: c.send_dtmf(u, i, "1" * 33)),
    ("digits", "1 to 32", lambda c, u, i: c.send_dtmf(u, i, "")),
    ("tag", "0 to 127", lambda c, u, i: c.set_tag(u, i, "t" * 128)),
    ("code", "0 to 15", lambda c, u, i: c.set_account_code(u, i, "1" * 16)),
    ("code", "0 to 15", lambda c, u, i: c.set_auth_code(u, i, "1" * 16)),
    ("priority", "1, 2 or 3", lambda c, u, i: c.set_priority(u, i, 0)),
    ("priority", "1, 2 or 3", lambda c, u, i: c.set_priority(u, i, 4)),
    ("priority", "1, 2 or 3", lambda c, u, i: c.set_priority(u, i, True)),
    ("action", "drop", lambda c, u, i: c.conference_member(u, i, 1, "kick")),
    ("lref", "integer", lambda c, u, i: c.conference_member(u, i, -1, "drop")),
    ("other_call_id", "integer", lambda c, u, i: c.complete_transfer(u, i, 0)),
    ("other_call_ids", "integer", lambda c, u, i: c.complete_conference(u, i, [0])),
    ("call_id", "integer", lambda c, u, i: c.drop_call(u, 0)),
    ("call_id", "integer", lambda c, u, i: c.drop_call(u, "1")),
    ("device_hint", "softphoneany", lambda c, u, i: c.answer_call(u, i, device_hint="phone")),
    ("text", "0 to 21", lambda c, u, i: c.set_absence(u, AbsenceMessage.CUSTOM, "x" * 22)),
    ("message", "AbsenceMessage", lambda c, u, i: c.set_absence(u, 12, "x")),
    ("text", "0 to 34", lambda c, u, i: c.set_app_presence(u, "x" * 35)),
    ("text", "a string", lambda c, u, i: c.set_app_presence(u, 5)),
    ("new", "integer", lambda c, u, i: c.set_voicemail_counts(u, -1)),
    ("saved", "integer", lambda c, u, i: c.set_voicemail_counts(u, 1, 1, 2**31)),
    ("extn", "1 to 31", lambda c, u, i: c.login_extension(u, "")),
    ("code", "integer", lambda c, u, i: c.send_short_code(u, -1)),
    ("value", "0 to 127", lambda c, u, i: c.send_short_code(u, 6, "9" * 128)),
    ("number", "0 to 78", lambda c, u, i: c.set_forward_unconditional(u, True, "9" * 79)),
    ("number", "1 to 78", lambda c, u, i: c.set_forward_busy(u, True, "")),
    ("target", "0 to 78", lambda c, u, i: c.make_call(u, "9" * 79)),
    ("call_type", "MakeCallType", lambda c, u, i: c.make_call(u, "2003", call_type=107)),
    ("account_code", "0 to 15", lambda c, u, i: c.make_call(u, "2003", account_code="1" * 16)),
    ("auth_code", "0 to 15", lambda c, u, i: c.make_call(u, "2003", auth_code="1" * 16)),
    ("tag", "0 to 127", lambda c, u, i: c.make_call(u, "2003", tag="t" * 128)),
    ("explicit_cli", "1 to 78", lambda c, u, i: c.make_call(u, "2003", explicit_cli="")),
    ("slot", "1 to 9", lambda c, u, i: c.unpark_call(u, "1234567890")),
    ("user", "subscribed user", lambda c, u, i: c.set_dnd("00" * 16, True)),
    ("queue", "subscribed queue", lambda c, u, i: c.set_queue_voicemail("00" * 16, True)),
    ("owner", "subscribed user or queue", lambda c, u, i: c.drop_call("00" * 16, 1)),
    ("extn", "1 to 31", lambda c, u, i: c.add_queue_member(c.queue_by_extn("2501"), "")),
    ("extn", "1 to 31", lambda c, u, i: c.remove_queue_member(c.queue_by_extn("2501"), "")),
    # control characters and the raw "/type/destination" form, however they are dressed up
    ("target", "/type/destination", lambda c, u, i: c.blind_transfer(u, i, " /106/2008")),
    ("target", "/type/destination", lambda c, u, i: c.blind_transfer(u, i, "\n/106/2008")),
    ("target", "/type/destination", lambda c, u, i: c.redirect_call(u, i, "\t/104/2008")),
    ("target", "/type/destination", lambda c, u, i: c.add_to_conference(u, i, "\x00/106/2008")),
    ("target", "/type/destination", lambda c, u, i: c.setup_transfer(u, i, " /106/2008")),
    ("target", "/type/destination", lambda c, u, i: c.setup_conference(u, i, "/106/2008")),
    ("target", "/type/destination", lambda c, u, i: c.make_call(u, " /intrude/2008")),
    ("target", "printable", lambda c, u, i: c.make_call(u, "20\n03")),
    ("target", "printable", lambda c, u, i: c.make_call(u, "2003\x00;x")),
    ("target", "leading or trailing", lambda c, u, i: c.redirect_call(u, i, "2003 ")),
    ("number", "/type/destination", lambda c, u, i: c.set_forward_unconditional(u, True, "/intrude/2008")),
    ("number", "/type/destination", lambda c, u, i: c.set_forward_busy(u, True, "/page/2008")),
    ("number", "printable", lambda c, u, i: c.set_forward_unconditional(u, True, "2003\n")),
    ("tag", "printable", lambda c, u, i: c.set_tag(u, i, "VIP\x1b[31m")),
    ("tag", "printable", lambda c, u, i: c.make_call(u, "2003", tag="a\nb")),
    ("code", "printable", lambda c, u, i: c.set_account_code(u, i, "1000\n")),
    ("auth_code", "printable", lambda c, u, i: c.make_call(u, "2003", auth_code="4321\x00")),
    ("text", "printable", lambda c, u, i: c.set_absence(u, AbsenceMessage.CUSTOM, "14:00\n")),
    ("text", "printable", lambda c, u, i: c.set_app_presence(u, "away\u2028")),
    ("value", "printable", lambda c, u, i: c.send_short_code(u, 9, "2003\x00")),
    ("extn", "1 to 31 digits", lambda c, u, i: c.login_extension(u, "2008\n")),
    ("extn", "1 to 31 digits", lambda c, u, i: c.add_queue_member(c.queue_by_extn("2501"), " 2008")),
    ("explicit_cli", "0-9", lambda c, u, i: c.make_call(u, "2003", explicit_cli="0123a")),
    ("pin", "MEETME", lambda c, u, i: c.blind_transfer(u, i, "2005", TransferType.VOICEMAIL, "1234")),
    ("pin", "MEETME", lambda c, u, i: c.blind_transfer(u, i, "2005", None, "1234")),
    ("pin", "1 to 16 digits", lambda c, u, i: c.blind_transfer(u, i, "2005", TransferType.MEETME, "12\n")),
    ("target", "without / or ;", lambda c, u, i: c.blind_transfer(u, i, "2005;MODEFROMPIN(1)", TransferType.MEETME)),
    ("target", "/type/destination", lambda c, u, i: c.blind_transfer(u, i, "/106/2008", TransferType.VOICEMAIL)),
    ("transfer_type", "TransferType", lambda c, u, i: c.blind_transfer(u, i, "2005", 99)),  # type: ignore[arg-type]
    ("target", "1 to 78", lambda c, u, i: c.blind_transfer(u, i, "5" * 70, TransferType.MEETME, "1234")),
]


@pytest.mark.parametrize(
    ("field", "limit", "command"), INVALID, ids=[f"{f}-{n}" for n, (f, _l, _c) in enumerate(INVALID)]
)
async def test_validation(client: IPOfficeClient, sim: Simulator, field: str, limit: str, command: Command) -> None:
    bob = user(client, "2002")
    sent = client.stats.frames_out
    with pytest.raises(CommandValidationError) as err:
        await command(client, bob, 7)
    assert err.value.field == field
    assert limit in err.value.limit
    assert client.stats.frames_out == sent  # nothing was sent


@pytest.mark.parametrize(("name", "command"), VALID, ids=[n for n, _c in VALID])
async def test_valid_boundaries_are_sent(client: IPOfficeClient, sim: Simulator, name: str, command: Command) -> None:
    """At the limits the command goes out; the unknown call id is IP Office's to refuse."""
    bob = user(client, "2002")
    sent = client.stats.frames_out
    with pytest.raises(ResultError):
        await command(client, bob, 4242)
    assert client.stats.frames_out == sent + 1


async def test_make_call_options(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    reference = await client.make_call(
        bob,
        "2003",
        call_type=MakeCallType.CAMPON,
        account_code="1000",
        auth_code="4321",
        tag="t",
        withhold_cli=True,
        privacy=True,
        allow_cli=True,
        explicit_cli="0123",
    )
    await settle(sim)
    assert next(iter(bob.calls.values())).reference_id == reference


async def test_feature_checks(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    bob.features = UserFeature.VALID | UserFeature.SHORTCODE
    for command in (
        client.set_dnd(bob, True),
        client.set_absence(bob, None),
        client.set_mobile_twinning(bob, True),
        client.login_extension(bob, "2002"),
        client.set_app_presence(bob, "x"),
        client.set_forward_unconditional(bob, True),
        client.make_call(bob, "2003"),
    ):
        with pytest.raises(FeatureNotAvailableError):
            await command
    await client.set_forward_no_answer(bob, True)  # SHORTCODE is allowed
    bob.features = UserFeature(0)  # not populated: everything allowed
    sim.incoming_call(to="2003")
    await settle(sim)
    carol = user(client, "2003")
    call_id = next(iter(carol.calls))
    carol.calls[call_id] = dataclasses.replace(carol.calls[call_id], features=CallFeature.DROP)
    with pytest.raises(FeatureNotAvailableError) as err:
        await client.answer_call(carol, call_id)
    assert "ANSWER" in str(err.value)
    await client.drop_call(carol, call_id)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1, ResultError),
        (4, ResultError),
        (9, ResultError),
        (101, SubscriptionError),
        (151, GeneralCommandError),
        (602, CallControlError),
        (609, CallControlError),
        (5000, ResultError),
        (5003, ResultError),
        (7777, ResultError),
    ],
)
async def test_result_codes(client: IPOfficeClient, sim: Simulator, code: int, kind: type[ResultError]) -> None:
    bob = user(client, "2002")
    sim.faults.fail_next(code, "subscribecmd")
    with pytest.raises(kind) as err:
        await client.set_dnd(bob, True)
    assert int(err.value.code) == code
    assert err.value.name.startswith("MTCTISESS_")
    assert str(code) in str(err.value)
    assert isinstance(error_for_result(code), kind)


@needs_version_request
async def test_version_request_errors(client: IPOfficeClient, sim: Simulator) -> None:
    sim.faults.fail_next(ResultCode.MTCTISESS_GENCMD_ERRUNKNOWN, "generalcmd")
    with pytest.raises(GeneralCommandError):
        await client.get_version()


async def test_general_command_errors(client: IPOfficeClient, sim: Simulator) -> None:
    sim.faults.fail_next(ResultCode.MTCTISESS_NOTFOUND, "generalcmd")
    with pytest.raises(ResultError):
        await client.get_account_codes()


async def test_timeouts_and_disconnected(client: IPOfficeClient, sim: Simulator) -> None:
    bob = user(client, "2002")
    client.request_timeout = 0.2
    sim.faults.no_responses = True
    with pytest.raises(RequestTimeoutError):
        await client.set_dnd(bob, True)
    assert await client.get_version() == SIM_VERSION  # the data came, the response did not
    assert await client.get_account_codes() == ["1000", "2000", "3000", "9999"]
    sim.faults.no_responses = False
    await client.disconnect()
    with pytest.raises(NotConnectedError):
        await client.get_version()
    with pytest.raises(CommandValidationError):
        await client.set_tag(bob, 1, "x" * 200)  # validation comes first


async def test_park_owner(client: IPOfficeClient, sim: Simulator) -> None:
    with pytest.raises(ResultError):
        await client.drop_call("", 999)
    no_park = IPOfficeClient("127.0.0.1", "u", "p")
    with pytest.raises(CommandValidationError):
        await no_park.drop_call("", 1)
