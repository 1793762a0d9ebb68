"""Every action argument boundary of the spec, at the limit and one past it, through the client and the actions.

Table-driven: each row names a command, the argument, the spec's limit, the values at the boundary (which must
succeed end to end against the simulator) and the values one past it (which must be refused before anything is
sent: a CommandValidationError naming the field and the limit from the client, an invalid action from Home
Assistant; the simulator sees no message and the client writes no frame).

Limits: custom_components/ipoffice/mtcti3/const.py and the spec (BlindTransfer/Redirect/Dial/AddToConf 1-78,
SetupTransfer/SetupConf 0-78, Park 1-9 of 0-9*#, GenerateDigits 1-32 of 0-9*#, SetTag 0-127, account and
authorization codes 0-15, SetPriority 1-3, absence text 21, application presence 34, presence timeout 60..86400),
and the client's own guards where the spec has none (short code values, extensions, counters, ids).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import probatio as vol
import pytest
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED
from custom_components.ipoffice.mtcti3 import AbsenceMessage, Call, CommandValidationError, IPOfficeClient
from simulator import Simulator
from simulator.session import Session

from .conftest import PASSWORD, USERNAME, ClientFactory, make_sim, wait_for

BOB = "2002"
CAROL = "2003"
SALES = "2501"
INT32_MAX = 0x7FFFFFFF
ACCOUNT_15 = "1" * 15  # added to the simulator's account codes, so that the longest code is a valid one
AUTH_15 = "2" * 15


def guid(sim: Simulator, extn: str) -> str:
    """The guid of a user or queue of the simulator."""
    for user in sim.model.users.values():
        if user.extn == extn:
            return user.guid.hex().upper()
    for queue in sim.model.queues.values():
        if queue.extn == extn:
            return queue.guid.hex().upper()
    raise KeyError(extn)


@dataclass
class Ctx:
    """What a row acts on: its owner (user or queue guid) and, for call commands, the call."""

    sim: Simulator
    client: IPOfficeClient
    owner: str
    call_id: int = 0
    call: Call | None = None


Run = Callable[[IPOfficeClient, Ctx, Any], Awaitable[object]]


@dataclass(frozen=True)
class Limit:
    """One argument limit: the command, what it needs, the boundary values and the values one past."""

    name: str
    field: str
    limit: str  # what CommandValidationError.limit says
    setup: str  # user, ringing, connected, dialtone, conference, queue, parked
    run: Run
    valid: tuple[Any, ...]
    invalid: tuple[Any, ...]


# --- situations -------------------------------------------------------------------------------------------------


def calls_of(client: IPOfficeClient, owner: str) -> list[Call]:
    """The calls the client knows for a user or queue."""
    model = client.users.get(owner) or client.queues[owner]
    return list(model.calls.values())


async def only_call(sim: Simulator, client: IPOfficeClient, owner: str) -> Call:
    """The one call of ``owner`` once the simulator is quiet."""
    await sim.wait_quiet()
    await wait_for(lambda: len(calls_of(client, owner)) == 1, message=f"one call of {owner}")
    return calls_of(client, owner)[0]


async def prepare(sim: Simulator, client: IPOfficeClient, setup: str, value: Any = None) -> Ctx:
    """Bring the simulator into the situation ``setup`` and return what a row acts on."""
    bob = guid(sim, BOB)
    ctx = Ctx(sim, client, bob)
    if setup == "user":
        return ctx
    if setup == "queue":
        ctx.owner = guid(sim, SALES)
        sim.incoming_call(to=SALES, caller="01707123456", caller_name="Trunk")
    elif setup == "dialtone":
        await client.make_call(bob, "")
    elif setup == "parked":
        call = sim.incoming_call(to=BOB, caller="01707123456", caller_name="Trunk")
        sim.answer(call, by=BOB)
        sim.park(call, by=BOB, slot=value)
        ctx.owner = guid(sim, CAROL)
        await sim.wait_quiet()
        await wait_for(lambda: value in client.parked_calls, message=f"call parked in {value}")
        return ctx
    else:
        call = sim.incoming_call(to=BOB, caller="01707123456", caller_name="Trunk")
        if setup != "ringing":
            sim.answer(call, by=BOB)
    found = await only_call(sim, client, ctx.owner)
    if setup == "conference":
        await client.setup_conference(bob, found.call_id, CAROL)
        await sim.wait_quiet()
        ringing = next(call for call in sim.active_calls if CAROL in call.callids)
        sim.answer(ringing, by=CAROL)
        await sim.wait_quiet()
        await client.complete_conference(bob, found.call_id)
        await sim.wait_quiet()
        await wait_for(lambda: any(call.conference_members for call in calls_of(client, bob)), message="a conference")
        found = next(call for call in calls_of(client, bob) if call.conference_members)
    ctx.call_id, ctx.call = found.call_id, found
    return ctx


# --- the client's table -----------------------------------------------------------------------------------------


def _lref(ctx: Ctx, value: Any) -> int:
    assert ctx.call is not None
    return int(ctx.call.conference_members[-1].lref) if value is None else int(value)


CLIENT_LIMITS: tuple[Limit, ...] = (
    Limit(
        "blind_transfer target",
        "target",
        "1 to 78 characters",
        "connected",
        lambda c, x, v: c.blind_transfer(x.owner, x.call_id, v),
        ("5", "5" * 78),
        ("", "5" * 79),
    ),
    Limit(
        "redirect target",
        "target",
        "1 to 78 characters",
        "ringing",
        lambda c, x, v: c.redirect_call(x.owner, x.call_id, v),
        ("5", "5" * 78),
        ("", "5" * 79),
    ),
    Limit(
        "dial digits",
        "digits",
        "1 to 78 characters",
        "dialtone",
        lambda c, x, v: c.dial_digits(x.owner, x.call_id, v),
        ("5", "5" * 78),
        ("", "5" * 79, "5a"),
    ),
    Limit(
        "add_to_conference target",
        "target",
        "1 to 78 characters",
        "conference",
        lambda c, x, v: c.add_to_conference(x.owner, x.call_id, v),
        ("5", "5" * 78),
        ("", "5" * 79),
    ),
    Limit(
        "setup_transfer target",
        "target",
        "0 to 78 characters",
        "connected",
        lambda c, x, v: c.setup_transfer(x.owner, x.call_id, v),
        ("", "5" * 78),
        ("5" * 79,),
    ),
    Limit(
        "setup_conference target",
        "target",
        "0 to 78 characters",
        "connected",
        lambda c, x, v: c.setup_conference(x.owner, x.call_id, v),
        ("", "5" * 78),
        ("5" * 79,),
    ),
    Limit(
        "park slot",
        "slot",
        "1 to 9 characters",
        "connected",
        lambda c, x, v: c.park_call(x.owner, x.call_id, v),
        ("1", "123456789", "*#0"),
        ("", "1234567890", "1a"),
    ),
    Limit(
        "unpark slot",
        "slot",
        "1 to 9 characters",
        "parked",
        lambda c, x, v: c.unpark_call(x.owner, v),
        ("1", "12345678#"),
        ("", "1234567890", "1 "),
    ),
    Limit(
        "send_dtmf digits",
        "digits",
        "1 to 32 characters",
        "connected",
        lambda c, x, v: c.send_dtmf(x.owner, x.call_id, v),
        ("5", "0123456789*#" + "0" * 20),
        ("", "5" * 33, "12a"),
    ),
    Limit(
        "set_tag tag",
        "tag",
        "0 to 127 characters",
        "connected",
        lambda c, x, v: c.set_tag(x.owner, x.call_id, v),
        ("", "t" * 127),
        ("t" * 128,),
    ),
    Limit(
        "set_account_code code",
        "code",
        "0 to 15 characters",
        "connected",
        lambda c, x, v: c.set_account_code(x.owner, x.call_id, v),
        ("", ACCOUNT_15),
        (ACCOUNT_15 + "1",),
    ),
    Limit(
        "set_auth_code code",
        "code",
        "0 to 15 characters",
        "connected",
        lambda c, x, v: c.set_auth_code(x.owner, x.call_id, v),
        ("", AUTH_15),
        (AUTH_15 + "2",),
    ),
    Limit(
        "set_priority priority",
        "priority",
        "1, 2 or 3",
        "queue",
        lambda c, x, v: c.set_priority(x.owner, x.call_id, v),
        (1, 3),
        (0, 4),
    ),
    Limit(
        "finish immediately",
        "",
        "",
        "queue",
        lambda c, x, v: c.finish_call(x.owner, x.call_id, immediately=v),
        (False, True),
        (),
    ),
    Limit(
        "call_id",
        "call_id",
        "an integer from 1",
        "connected",
        lambda c, x, v: c.hold_call(x.owner, x.call_id if v is None else v),
        (None,),
        (0, -1),
    ),
    Limit(
        "conference_member lref",
        "lref",
        "an integer from 0",
        "conference",
        lambda c, x, v: c.conference_member(x.owner, x.call_id, _lref(x, v), "mute"),
        (None,),
        (-1, INT32_MAX + 1),
    ),
    Limit(
        "answer device_hint",
        "device_hint",
        "one of",
        "ringing",
        lambda c, x, v: c.answer_call(x.owner, x.call_id, v),
        ("deskphoneany", "deviceany"),
        ("laptop",),
    ),
    Limit(
        "make_call target",
        "target",
        "0 to 78 characters",
        "user",
        lambda c, x, v: c.make_call(x.owner, v),
        ("", "5" * 78),
        ("5" * 79,),
    ),
    Limit(
        "make_call account_code",
        "account_code",
        "0 to 15 characters",
        "user",
        lambda c, x, v: c.make_call(x.owner, CAROL, account_code=v),
        ("", ACCOUNT_15),
        (ACCOUNT_15 + "1",),
    ),
    Limit(
        "make_call auth_code",
        "auth_code",
        "0 to 15 characters",
        "user",
        lambda c, x, v: c.make_call(x.owner, CAROL, auth_code=v),
        ("", AUTH_15),
        (AUTH_15 + "2",),
    ),
    Limit(
        "make_call tag",
        "tag",
        "0 to 127 characters",
        "user",
        lambda c, x, v: c.make_call(x.owner, CAROL, tag=v),
        ("", "t" * 127),
        ("t" * 128,),
    ),
    Limit(
        "make_call explicit_cli",
        "explicit_cli",
        "1 to 78 characters",
        "user",
        lambda c, x, v: c.make_call(x.owner, CAROL, explicit_cli=v),
        ("5", "5" * 78),
        ("", "5" * 79),
    ),
    Limit(
        "set_absence text",
        "text",
        "0 to 21 characters",
        "user",
        lambda c, x, v: c.set_absence(x.owner, AbsenceMessage.CUSTOM, v),
        ("", "x" * 21),
        ("x" * 22,),
    ),
    Limit(
        "set_absence message",
        "message",
        "an AbsenceMessage",
        "user",
        lambda c, x, v: c.set_absence(x.owner, v, "14:00"),
        (AbsenceMessage.ON_HOLIDAY_UNTIL, AbsenceMessage.CUSTOM),
        (0, 12),
    ),
    Limit(
        "set_app_presence text",
        "text",
        "0 to 34 characters",
        "user",
        lambda c, x, v: c.set_app_presence(x.owner, v),
        ("", "x" * 34),
        ("x" * 35,),
    ),
    Limit(
        "subscribe_presence expires",
        "timeout",
        "an integer from 60 to 86400",
        "user",
        lambda c, x, v: c.subscribe_presence([BOB], expires=v),
        (60, 86400),
        (59, 86401),
    ),
    Limit(
        "send_short_code value",
        "value",
        "0 to 127 characters",
        "user",
        lambda c, x, v: c.send_short_code(x.owner, 9, v),  # a DND exception number
        ("", "5" * 127),
        ("5" * 128,),
    ),
    Limit(
        "send_short_code code",
        "code",
        "an integer from 0",
        "user",
        lambda c, x, v: c.send_short_code(x.owner, v),
        (0,),
        (-1,),
    ),
    Limit(
        "set_voicemail_counts new",
        "new",
        "an integer from 0 to 2147483647",
        "user",
        lambda c, x, v: c.set_voicemail_counts(x.owner, v, 0, 0),
        (0, INT32_MAX),
        (-1, INT32_MAX + 1),
    ),
    Limit(
        "set_voicemail_counts saved",
        "saved",
        "an integer from 0 to 2147483647",
        "user",
        lambda c, x, v: c.set_voicemail_counts(x.owner, 1, 0, v),
        (0, INT32_MAX),
        (-1, INT32_MAX + 1),
    ),
    Limit(
        "set_forward_unconditional number",
        "number",
        "0 to 78 characters",
        "user",
        lambda c, x, v: c.set_forward_unconditional(x.owner, True, v),
        ("", "5" * 78),
        ("5" * 79,),
    ),
    Limit(
        "set_forward_busy number",
        "number",
        "1 to 78 characters",
        "user",
        lambda c, x, v: c.set_forward_busy(x.owner, True, v),
        ("5", "5" * 78),
        ("", "5" * 79),
    ),
    Limit(
        "login_extension extn",
        "extn",
        "1 to 31 characters",
        "user",
        lambda c, x, v: c.login_extension(x.owner, v),
        ("5", "5" * 31),
        ("", "5" * 32),
    ),
)


class Seen:
    """Counts the messages the simulator receives (every session), NotifyAcks apart."""

    def __init__(self) -> None:
        self.messages: list[str] = []


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """Record every message the simulator handles."""
    record = Seen()
    original = Session.handle

    def handle(self: Session, message: Any) -> None:
        kind = message.WhichOneof("payload")
        if kind != "notifyack":
            record.messages.append(kind)
        original(self, message)

    monkeypatch.setattr(Session, "handle", handle)
    return record


@pytest.fixture
async def codes_sim(socket_enabled: None) -> AsyncIterator[Simulator]:
    """The default office, whose account and auth codes include 15-character ones."""
    simulator = make_sim()
    simulator.model.account_codes.append(ACCOUNT_15)
    simulator.model.auth_codes.append(AUTH_15)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


def test_table_covers_the_spec_limits() -> None:
    """Every limit of const.py is a row (so that a new limit cannot be forgotten here)."""
    from custom_components.ipoffice.mtcti3 import const

    limits = {
        const.TRANSFER_TARGET_MAX: "78",
        const.PARK_SLOT_MAX: "9",
        const.DTMF_MAX: "32",
        const.TAG_MAX: "127",
        const.ACCOUNT_CODE_MAX: "15",
        const.AUTH_CODE_MAX: "15",
        const.ABSENCE_TEXT_MAX: "21",
        const.APP_PRESENCE_MAX: "34",
        const.PRESENCE_TIMEOUT_MIN: "60",
        const.PRESENCE_TIMEOUT_MAX: "86400",
    }
    texts = " ".join(row.limit for row in CLIENT_LIMITS)
    for value, text in limits.items():
        assert str(value) == text
        assert text in texts, text
    assert "1, 2 or 3" in texts
    assert const.PRIORITIES == ("1", "2", "3")


@pytest.mark.parametrize("row", CLIENT_LIMITS, ids=[row.name for row in CLIENT_LIMITS])
async def test_client_boundary(row: Limit, codes_sim: Simulator, make_client: ClientFactory, seen: Seen) -> None:
    """One past the limit: refused naming the field and the limit, nothing sent. At the limit: it works."""
    sim = codes_sim
    client = await make_client(target=sim)
    for value in row.invalid:
        ctx = await prepare(sim, client, row.setup, "7")
        await sim.wait_quiet()
        frames, before = client.stats.frames_out, len(seen.messages)
        with pytest.raises(CommandValidationError) as err:
            await row.run(client, ctx, value)
        assert err.value.field == row.field, (value, str(err.value))
        assert row.limit in err.value.limit, (value, str(err.value))
        assert str(err.value).startswith(f"{row.field} must be {err.value.limit}")
        await sim.wait_quiet()
        assert client.stats.frames_out == frames, f"{row.name}={value!r}: the client sent a frame"
        assert seen.messages[before:] == [], f"{row.name}={value!r}: the simulator got {seen.messages[before:]}"
        assert client.connected
        await reset(sim, client)
    for value in row.valid:
        ctx = await prepare(sim, client, row.setup, value if row.setup == "parked" else None)
        before = len(seen.messages)
        await row.run(client, ctx, value)  # no ResultError: the simulator accepted it
        await sim.wait_quiet()
        assert seen.messages[before:], f"{row.name}={value!r}: nothing reached the simulator"
        await reset(sim, client)


async def reset(sim: Simulator, client: IPOfficeClient) -> None:
    """Hang up every call, so that the next value starts from an idle office."""
    for call in list(sim.active_calls):
        if not call.ended:
            sim.model._end_call(call, None, "test reset")
    sim.model.commit()
    await sim.wait_quiet()
    await wait_for(
        lambda: (
            not any(user.calls for user in client.users.values())
            and not any(queue.calls for queue in client.queues.values())
        ),
        message="no calls left",
    )


# --- the actions' table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionLimit:
    """One field limit of an action: the values at the limit work, the values one past are invalid."""

    action: str
    field: str
    setup: str
    valid: tuple[Any, ...]
    invalid: tuple[Any, ...]
    data: tuple[tuple[str, Any], ...] = ()
    owner: str = BOB


ACTION_LIMITS: tuple[ActionLimit, ...] = (
    ActionLimit("blind_transfer", "target", "connected", ("5", "5" * 78), ("", "5" * 79)),
    ActionLimit(
        "blind_transfer",
        "pin",
        "connected",
        ("1", "1" * 16),
        ("", "1" * 17, "12a"),
        (("target", "2005"), ("transfer_type", "meetme")),
    ),
    ActionLimit("redirect", "target", "ringing", ("5", "5" * 78), ("", "5" * 79)),
    ActionLimit("dial", "digits", "dialtone", ("5", "5" * 78), ("", "5" * 79, "5a")),
    ActionLimit("add_to_conference", "target", "conference", ("5", "5" * 78), ("", "5" * 79)),
    ActionLimit("setup_transfer", "target", "connected", ("5", "5" * 78), ("", "5" * 79)),
    ActionLimit("setup_conference", "target", "connected", ("5", "5" * 78), ("", "5" * 79)),
    ActionLimit("park", "slot", "connected", ("1", "123456789", "*#0"), ("", "1234567890", "1a")),
    ActionLimit("unpark", "slot", "parked", ("1", "12345678#"), ("", "1234567890", "1a")),
    ActionLimit("send_dtmf", "digits", "connected", ("5", "0123456789*#" + "0" * 20), ("", "5" * 33, "12a")),
    ActionLimit("set_tag", "tag", "connected", ("", "t" * 127), ("t" * 128,)),
    ActionLimit("set_account_code", "code", "connected", ("", ACCOUNT_15), (ACCOUNT_15 + "1",)),
    ActionLimit("set_auth_code", "code", "connected", ("", AUTH_15), (AUTH_15 + "2",)),
    ActionLimit("set_priority", "priority", "queue", (1, 3), (0, 4), owner=SALES),
    ActionLimit("finish", "immediately", "queue", (False, True), ("maybe",), owner=SALES),
    ActionLimit("hold", "call_id", "connected", (None,), (0, -1)),
    ActionLimit("make_call", "target", "user", ("", "5" * 78), ("5" * 79,)),
    ActionLimit("make_call", "account_code", "user", ("", ACCOUNT_15), (ACCOUNT_15 + "1",), (("target", CAROL),)),
    ActionLimit("make_call", "auth_code", "user", ("", AUTH_15), (AUTH_15 + "2",), (("target", CAROL),)),
    ActionLimit("make_call", "tag", "user", ("", "t" * 127), ("t" * 128,), (("target", CAROL),)),
    ActionLimit("set_absence", "text", "user", ("", "x" * 21), ("x" * 22,), (("message", "custom"),)),
    ActionLimit("set_voicemail_counts", "new", "user", (0, INT32_MAX), (-1, INT32_MAX + 1)),
    ActionLimit("send_short_code", "value", "user", ("", "5" * 127), ("5" * 128,), (("code", 9),)),
    ActionLimit("send_short_code", "code", "user", (0,), (-1,)),
    ActionLimit("set_forward_unconditional", "destination", "user", ("", "5" * 78), ("5" * 79,), (("enabled", True),)),
    ActionLimit("set_forward_busy", "destination", "user", ("5", "5" * 78), ("", "5" * 79), (("enabled", True),)),
    # a user's extension: a number that is no user's is refused (see test_boundary)
    ActionLimit("hot_desk_login", "extension", "user", ("2011",), ("", "5" * 32, "12a", "2011\n")),
)


@pytest.fixture
def expected_lingering_timers() -> bool:
    """aiohttp leaves a closed websocket's heartbeat timer scheduled (it fires once and stops): not a leak."""
    return True


@pytest.fixture
async def entry(
    hass: HomeAssistant, enable_custom_integrations: None, codes_sim: Simulator
) -> AsyncIterator[MockConfigEntry]:
    """The integration, set up on the simulator (every user and queue exposed)."""
    config = MockConfigEntry(
        domain=DOMAIN,
        title="IP Office boundaries",
        unique_id="ipoffice-boundaries",
        data={
            CONF_HOST: "127.0.0.1",
            CONF_PORT: codes_sim.port,
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_TLS_MODE: TLS_PINNED,
            CONF_FINGERPRINT: codes_sim.fingerprint,
        },
    )
    config.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config.entry_id)
    await hass.async_block_till_done()
    yield config
    await hass.config_entries.async_unload(config.entry_id)
    await hass.async_block_till_done()


async def call_action(hass: HomeAssistant, sim: Simulator, entry: MockConfigEntry, row: ActionLimit, value: Any) -> Any:
    """Run the row's action with ``value`` in its field, on its owner's device."""
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, guid(sim, row.owner)), entry.entry_id)
    assert device is not None
    data: dict[str, Any] = {"device_id": device.id, **dict(row.data)}
    if value is not None:
        data[row.field] = value
    return await hass.services.async_call(
        DOMAIN, row.action, data, blocking=True, return_response=row.action in ("make_call", "unpark")
    )


@pytest.mark.parametrize("row", ACTION_LIMITS, ids=[f"{row.action} {row.field}" for row in ACTION_LIMITS])
async def test_action_boundary(
    row: ActionLimit, hass: HomeAssistant, codes_sim: Simulator, entry: MockConfigEntry, seen: Seen
) -> None:
    """One past the limit: the action is invalid (naming the field), nothing sent. At the limit: it works."""
    sim = codes_sim
    client: IPOfficeClient = entry.runtime_data.client
    for value in row.invalid:
        await prepare(sim, client, row.setup, "7")
        await sim.wait_quiet()
        await hass.async_block_till_done()
        frames, before = client.stats.frames_out, len(seen.messages)
        with pytest.raises(vol.Invalid) as err:
            await call_action(hass, sim, entry, row, value)
        assert row.field in str(err.value), (value, str(err.value))
        await sim.wait_quiet()
        assert client.stats.frames_out == frames, f"{row.action} {row.field}={value!r}: the client sent a frame"
        assert seen.messages[before:] == [], f"{row.action}={value!r}: the simulator got {seen.messages[before:]}"
        await reset(sim, client)
    for value in row.valid:
        await prepare(sim, client, row.setup, value if row.setup == "parked" else None)
        await hass.async_block_till_done()
        before = len(seen.messages)
        await call_action(hass, sim, entry, row, value)
        await sim.wait_quiet()
        assert seen.messages[before:], f"{row.action} {row.field}={value!r}: nothing reached the simulator"
        await reset(sim, client)
        await hass.async_block_till_done()


async def test_composed_transfer_target_boundary(
    hass: HomeAssistant, codes_sim: Simulator, entry: MockConfigEntry, seen: Seen
) -> None:
    """The "/116/target;MODEFROMPIN(pin)" form the action composes is held to 78 characters as well.

    The schema sees each field within its limit; the client refuses the composed target, and the action says so
    with the translated invalid_value error (the field and the limit), before anything is sent.
    """
    sim = codes_sim
    client: IPOfficeClient = entry.runtime_data.client
    row = ActionLimit("blind_transfer", "target", "connected", (), (), (("transfer_type", "meetme"), ("pin", "1234")))
    overhead = len("/116/;MODEFROMPIN(1234)")
    await prepare(sim, client, "connected")
    await sim.wait_quiet()
    frames, before = client.stats.frames_out, len(seen.messages)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, sim, entry, row, "5" * (78 - overhead + 1))
    assert err.value.translation_key == "invalid_value"
    assert err.value.translation_placeholders == {"field": "target", "limit": "1 to 78 characters"}
    assert "target must be 1 to 78 characters" in str(err.value)
    assert client.stats.frames_out == frames
    assert seen.messages[before:] == []
    await call_action(hass, sim, entry, row, "5" * (78 - overhead))
    await sim.wait_quiet()
    assert seen.messages[before:] == ["subscribecmd"]
    assert calls_of(client, guid(sim, BOB)) == []  # transferred away
