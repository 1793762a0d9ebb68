"""Actions of the Avaya IP Office integration: call control, user settings and queues.

Every action targets a user or a queue: its device (``device_id``) or one of its entities (``entity_id``). The
entry is the constraint: MTCTI-3 can control every phone, so an action acts only on a user or queue that a loaded
entry of this integration exposes. A call action acts on the call ``call_id`` (the ``call_id`` of the
``ipoffice_call`` event), or, without one, on the only call that fits (the ringing call to answer, the connected
call to hold, the held call to take off hold, the only call otherwise).

The actions are a table: one :class:`Action` per action, with the fields it takes, what it targets, how it picks
its call and which ``featuresavailable`` bit it needs, and a one-line function that calls the client. Everything
the spec limits is validated by the schema before anything is sent; the client checks again.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import service

from .const import AUTH_CODE_NAME_MAX, DOMAIN
from .coordinator import IPOfficeConfigEntry, IPOfficeCoordinator
from .entity import async_command
from .mtcti3 import (
    AbsenceMessage,
    Call,
    CallFeature,
    CallState,
    IPOfficeClient,
    LineKind,
    MakeCallType,
    Queue,
    ResultError,
    TransferType,
    User,
)
from .mtcti3.const import (
    ABSENCE_TEXT_MAX,
    ACCOUNT_CODE_MAX,
    AUTH_CODE_MAX,
    DTMF_MAX,
    PARK_SLOT_MAX,
    TAG_MAX,
    TRANSFER_TARGET_MAX,
)
from .mtcti3.errors import CommandValidationError, shown
from .mtcti3.validation import (
    check_digits,
    check_extension,
    check_number,
    check_pin,
    check_target,
    check_text,
)
from .select import SERVICE_MODES

if TYPE_CHECKING:
    import probatio as vol
else:  # Home Assistant 2026.9 and later alias voluptuous to probatio; 2026.3-2026.8 validate with voluptuous itself
    import voluptuous as vol

ATTR_CALL_ID: Final = "call_id"
INT32_MAX: Final = 0x7FFFFFFF
SHORT_CODE_VALUE_MAX: Final = 127

USER: Final = frozenset({"user"})
QUEUE: Final = frozenset({"queue"})
USER_OR_QUEUE: Final = frozenset({"user", "queue"})

CALL_TYPES: Final = {
    "page": MakeCallType.PAGE,
    "force_feed": MakeCallType.FORCEFEED,
    "intrude": MakeCallType.INTRUDE,
    "pickup": MakeCallType.PICKUP,
    "camp_on": MakeCallType.CAMPON,
    "meetme": MakeCallType.MEETME,
}
TRANSFER_TYPES: Final = {
    "voicemail": TransferType.VOICEMAIL,
    "page": TransferType.PAGE,
    "force_answer": TransferType.FORCE_AUTOANSWER,
    "intrude": TransferType.INTRUDE,
    "priority_call": TransferType.PRIORITY_CALL,
    "camp_on": TransferType.CAMPON,
    "whisper": TransferType.WHISPER,
    "inclusion": TransferType.INCLUSION,
    "meetme": TransferType.MEETME,
    "fne": TransferType.FNE,
}
# Call and transfer types that act on the target's phone beyond ringing it: listen in or talk into its call, take
# its ringing call, answer on its handset. The target must be a user (or, paging, a queue) the entry exposes: IP
# Office lets MTCTI-3 do this to any phone, and the entry's choice of users is the only limit there is.
INTRUSIVE_CALL_TYPES: Final = frozenset({"page", "force_feed", "intrude", "pickup"})
INTRUSIVE_TRANSFER_TYPES: Final = frozenset({"page", "force_answer", "intrude", "whisper", "inclusion"})
# The call actions that change only the queue's side of a queue's call: allowed whoever answered it.
QUEUE_SIDE_ACTIONS: Final = frozenset({"finish", "set_priority"})
ABSENCE_MESSAGES: Final = {message.name.lower(): message for message in AbsenceMessage}
DEVICE_HINTS: Final = ("deskphoneany", "softphoneany", "mobileany", "deviceany")
MEMBER_OPERATIONS: Final = ("drop", "mute", "unmute")


def _rule(check: Callable[..., Any], *limits: int) -> Callable[[Any], Any]:
    """A voluptuous validator of one of the client's shared rules (:mod:`.mtcti3.validation`): the action is
    invalid, naming the field and the rule, before anything is sent."""

    def validate(value: Any) -> Any:
        try:
            return check("value", value, *limits)
        except CommandValidationError as err:
            raise vol.Invalid(f"must be {err.limit}") from err

    return validate


def _text(minimum: int, maximum: int) -> vol.All[Any]:
    """Printable text (no control characters or line breaks) of ``minimum``..``maximum`` characters."""
    return vol.All(cv.string, _rule(check_text, minimum, maximum))


def _digits(minimum: int, maximum: int) -> vol.All[Any]:
    """``minimum``..``maximum`` characters of 0-9 * #."""
    return vol.All(cv.string, _rule(check_digits, minimum, maximum))


def _number(minimum: int) -> vol.All[Any]:
    """A number to dial or forward to: 0-9 * # and a leading +, never the spec's "/type/destination" form (which
    only ``transfer_type`` makes), whatever blanks or control characters precede it."""
    return vol.All(cv.string, _rule(check_number, minimum, TRANSFER_TARGET_MAX))


def _integer(value: Any) -> int:
    """An integer, or a text of digits (a template's result): never a bool, a float or a blank-padded text."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,11}", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise vol.Invalid("must be an integer")


def _count(minimum: int = 0, maximum: int = INT32_MAX) -> vol.All[Any]:
    return vol.All(_integer, vol.Range(min=minimum, max=maximum))


NUMBER: Final = _number(1)
# The target of blind_transfer: a number, or with a transfer type its destination (a callflow name, a conference,
# an extension), checked for that type when the action runs.
TRANSFER_TARGET: Final = vol.All(cv.string, _rule(check_target, 1, TRANSFER_TARGET_MAX))
EXTENSION: Final = vol.All(cv.string, _rule(check_extension))
PIN: Final = vol.All(cv.string, _rule(check_pin))
# A user's login code (hot desking): digits, as IP Office's login codes are; the message never repeats it.
LOGIN_CODE: Final = vol.All(cv.string, _rule(check_extension))
ENABLED: Final = {vol.Required("enabled"): cv.boolean}
ATTR_AUTH_CODE_NAME: Final = "auth_code_name"
AUTH_CODE_NAME: Final = _text(1, AUTH_CODE_NAME_MAX)
SHOWN_MAX: Final = 40


def _shown(value: object) -> str:
    """A value the user gave, as an error message quotes it: escaped and cut short when it is odd or long."""
    text = str(value)
    return text if len(text) <= SHOWN_MAX and text.isprintable() else shown(text, SHOWN_MAX)


def _invalid(*, translation_key: str, **placeholders: str) -> ServiceValidationError:
    """The user's input is wrong: a translated ServiceValidationError."""
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=translation_key, translation_placeholders=placeholders
    )


# --- targets -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owner:
    """The user or queue an action acts on, in the entry that exposes it."""

    coordinator: IPOfficeCoordinator
    guid: str
    name: str
    kind: str  # "user" or "queue"

    @property
    def model(self) -> User | Queue:
        """The current model of the user or queue."""
        if self.kind == "user":
            return self.coordinator.client.users[self.guid]
        return self.coordinator.client.queues[self.guid]


def resolve_owner(hass: HomeAssistant, data: Mapping[str, Any], kinds: frozenset[str]) -> Owner:
    """The exposed user or queue that ``device_id`` / ``entity_id`` of an action stand for."""
    device_id: str | None = data.get(ATTR_DEVICE_ID)
    if (entity_id := data.get(ATTR_ENTITY_ID)) is not None:
        entity = er.async_get(hass).async_get(entity_id)
        if entity is None or entity.platform != DOMAIN or entity.device_id is None:
            raise _invalid(translation_key="not_our_entity", entity=_shown(entity_id))
        if device_id is not None and device_id != entity.device_id:
            raise _invalid(translation_key="target_mismatch", entity=_shown(entity_id))
        device_id = entity.device_id
    device = dr.async_get(hass).async_get(device_id or "")
    if device is None:
        raise _invalid(translation_key="unknown_device", device=_shown(device_id))
    label = device.name_by_user or device.name or device.id
    entry: IPOfficeConfigEntry | None = next(
        (
            found
            for entry_id in device.config_entries
            if (found := hass.config_entries.async_get_entry(entry_id)) is not None and found.domain == DOMAIN
        ),
        None,
    )
    if entry is None:
        raise _invalid(translation_key="not_our_device", device=label)
    if entry.state is not ConfigEntryState.LOADED:
        raise _invalid(translation_key="entry_not_loaded", device=label, title=entry.title)
    coordinator = entry.runtime_data
    client = coordinator.client
    for domain, guid in device.identifiers:
        if domain != DOMAIN:
            continue
        if "user" in kinds and guid in client.users and coordinator.user_exposed(guid):
            return Owner(coordinator, guid, label, "user")
        if "queue" in kinds and guid in client.queues and coordinator.queue_exposed(guid):
            return Owner(coordinator, guid, label, "queue")
    if kinds == USER:
        raise _invalid(translation_key="not_a_user", device=label)
    if kinds == QUEUE:
        raise _invalid(translation_key="not_a_queue", device=label)
    raise _invalid(translation_key="not_a_user_or_queue", device=label)


# --- the table -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRule:
    """How a call action picks its call and what featuresavailable must offer."""

    feature: CallFeature
    prefer: Callable[[Call], bool] | None = None  # without call_id: the calls it may act on (None: any)


@dataclass(frozen=True, slots=True)
class Context:
    """What an action's function gets: the owner, the call (call actions) and the action data."""

    owner: Owner
    call: Call | None
    data: Mapping[str, Any]

    @property
    def client(self) -> IPOfficeClient:
        """The client to command: of the system that holds the call (call actions), else of the serving system."""
        coordinator = self.owner.coordinator
        if self.call is None:
            return coordinator.commands
        return coordinator.command_target(self.owner.guid, self.call.call_id)[0]

    @property
    def guid(self) -> str:
        """The guid of the user or queue."""
        return self.owner.guid

    @property
    def call_id(self) -> int:
        """The id of the call on the system that holds it (call actions only)."""
        assert self.call is not None
        return self.system_call_id(self.call.call_id)

    def system_call_id(self, call_id: int) -> int:
        """The id on its system of the owner's call shown as ``call_id`` (a pair may show a queue call otherwise)."""
        return self.owner.coordinator.command_target(self.owner.guid, call_id)[1]


@dataclass(frozen=True, slots=True)
class Action:
    """One action: its name, fields, target, call rule and what it does."""

    name: str
    run: Callable[[Context], Awaitable[Any]]
    fields: Mapping[Any, Any] = field(default_factory=dict)
    targets: frozenset[str] = USER
    call: CallRule | None = None
    admin: bool = False
    response: bool = False  # returns {"reference_id": ...}

    @property
    def schema(self) -> vol.All[Any]:
        """The schema of the action data: a target, a call id for call actions, and the action's fields."""
        keys: dict[Any, Any] = {
            vol.Optional(ATTR_DEVICE_ID): cv.string,
            vol.Optional(ATTR_ENTITY_ID): cv.entity_id,
            **self.fields,
        }
        if self.call is not None:
            keys[vol.Optional(ATTR_CALL_ID)] = _count(1)
        return vol.All(vol.Schema(keys), cv.has_at_least_one_key(ATTR_DEVICE_ID, ATTR_ENTITY_ID))


def _ringing(call: Call) -> bool:
    return call.is_ringing


def _connected(call: Call) -> bool:
    return call.state is CallState.CONNECTED


def _held(call: Call) -> bool:
    return call.is_held


def _pending_transfer(call: Call) -> bool:
    return call.state is CallState.ONHOLDPENDTRANSFER


def _pending_conference(call: Call) -> bool:
    return call.state is CallState.ONHOLDPENDCONF


def _call_action(
    name: str,
    feature: CallFeature,
    run: Callable[[Context], Awaitable[Any]],
    fields: Mapping[Any, Any] | None = None,
    *,
    prefer: Callable[[Call], bool] | None = None,
    targets: frozenset[str] = USER_OR_QUEUE,
    admin: bool = False,
) -> Action:
    return Action(name, run, fields or {}, targets, CallRule(feature, prefer), admin)


def _check_intrusive(ctx: Context, target: str, kind: str | None, intrusive: frozenset[str]) -> None:
    """Refuse a call type that acts on the target's phone unless the target is exposed (see INTRUSIVE_CALL_TYPES)."""
    if kind in intrusive and not ctx.owner.coordinator.extension_exposed(target):
        raise _invalid(translation_key="target_not_exposed", target=_shown(target), type=str(kind))


def _blind_transfer(ctx: Context) -> Awaitable[None]:
    """Transfer to the target, or with a transfer type to its destination (the client composes the spec's
    "/type/destination" form, with ";MODEFROMPIN(pin)" for a MeetMe PIN)."""
    data = ctx.data
    target: str = data["target"]
    kind = data.get("transfer_type")
    pin = data.get("pin")
    if pin is not None and kind != "meetme":
        raise _invalid(translation_key="pin_needs_meetme")
    _check_intrusive(ctx, target, kind, INTRUSIVE_TRANSFER_TYPES)
    if kind == "fne":  # a feature of the dial plan, reached by name
        if not ctx.owner.coordinator.feature_codes:
            raise _invalid(translation_key="feature_code_refused", number=_shown(target))
    elif kind != "voicemail":  # a number to ring (a voicemail callflow or mailbox is a name)
        _dialled(ctx, check_number("target", target, 1))
    transfer_type = None if kind is None else TRANSFER_TYPES[kind]
    return ctx.client.blind_transfer(ctx.guid, ctx.call_id, target, transfer_type, pin)


def _dialled[T: (str, str | None)](ctx: Context, number: T) -> T:
    """``number``, once the entry's dialling rules allow it (see IPOfficeCoordinator.check_dialled)."""
    if number is not None:
        ctx.owner.coordinator.check_dialled(number)
    return number


def _dial(ctx: Context) -> Awaitable[None]:
    """Overlap dialling: the number dialled so far with the new digits must be one the entry lets its users dial."""
    assert ctx.call is not None
    digits: str = ctx.data["digits"]
    so_far = ctx.call.called_party if ctx.call.state in (CallState.DIALTONE, CallState.DIALLING) else ""
    ctx.owner.coordinator.check_dialled(so_far + digits)
    return ctx.client.dial_digits(ctx.guid, ctx.call_id, digits)


def _send_dtmf(ctx: Context) -> Awaitable[None]:
    """DTMF to the far end of a call: not on a call still in dial tone or dialling, where the digits would be
    dialled (past the entry's dialling rules)."""
    assert ctx.call is not None
    if ctx.call.state in (CallState.DIALTONE, CallState.DIALLING):
        raise _invalid(
            translation_key="action_not_available",
            action="send_dtmf",
            call_id=str(ctx.call.call_id),
            state=ctx.call.state.name.lower(),
        )
    return ctx.client.send_dtmf(ctx.guid, ctx.call_id, ctx.data["digits"])


def _member_lref(ctx: Context) -> int:
    """The lref of the conference member ``member`` names (its number, name or lref)."""
    assert ctx.call is not None
    wanted: str = ctx.data["member"]
    for member in ctx.call.conference_members:
        if wanted in (member.party.number, member.party.name, str(member.lref)):
            return member.lref
    raise _invalid(translation_key="conference_member_not_found", member=_shown(wanted), call_id=str(ctx.call.call_id))


def _queue_member(ctx: Context, *, must_be_member: bool) -> str:
    """The extension of an agent to add to (or find in) the queue, checked against IP Office's users: an agent
    the entry does not expose is not changed (it would start or stop ringing for the queue's calls)."""
    extn: str = ctx.data["extension"]
    queue = ctx.owner.model
    assert isinstance(queue, Queue)
    if must_be_member:
        if not any(member.extn == extn for member in queue.members):
            raise _invalid(translation_key="not_a_member", extension=extn, queue=ctx.owner.name)
    elif ctx.owner.coordinator.line_of(extn, LineKind.USER) is None:
        raise _invalid(translation_key="unknown_extension", extension=extn)
    ctx.owner.coordinator.check_member_exposed(extn, ctx.owner.name)
    return extn


def _own_calls(ctx: Context, call_ids: Iterable[int]) -> None:
    """Refuse call ids that are not the owner's calls (the other call of a transfer or conference)."""
    calls = ctx.owner.model.calls
    for call_id in call_ids:
        if call_id not in calls:
            raise _invalid(translation_key="call_not_found", call_id=str(call_id), owner=ctx.owner.name)


def _complete_transfer(ctx: Context) -> Awaitable[None]:
    other: int | None = ctx.data.get("other_call_id")
    _own_calls(ctx, () if other is None else (other,))
    return ctx.client.complete_transfer(ctx.guid, ctx.call_id, None if other is None else ctx.system_call_id(other))


def _complete_conference(ctx: Context) -> Awaitable[None]:
    others: list[int] = ctx.data.get("other_call_ids", [])
    _own_calls(ctx, others)
    return ctx.client.complete_conference(ctx.guid, ctx.call_id, [ctx.system_call_id(other) for other in others])


def _hot_desk_login(ctx: Context) -> Awaitable[None]:
    """Log the user in at ``extension``: the extension of a user of the IP Office, the entry exposing that user
    (who is logged off it); with the user's login code, and as a teleworker, when given. A number that is no user's
    (a queue's, or unknown, such as "02008") is refused: what IP Office would make of it cannot be checked."""
    data = ctx.data
    extn: str = data["extension"]
    coordinator = ctx.owner.coordinator
    line = coordinator.line_of(extn)
    if line is None:
        raise _invalid(translation_key="unknown_extension", extension=extn)
    if line.kind is LineKind.QUEUE:
        raise _invalid(translation_key="extension_is_queue", extension=extn)
    if line.guid != ctx.guid and not coordinator.line_exposed(line):
        raise _invalid(translation_key="extension_not_exposed", extension=extn)
    return ctx.client.login_extension(
        ctx.guid,
        extn,
        password=data.get("password"),
        teleworker_number=data.get("teleworker_number"),
        hold_line_open=data.get("hold_line_open", False),
        test_connection=data.get("test_connection", 0),
    )


def _auth_code(ctx: Context, field: str) -> str | None:
    """The authorization code of the action: the code of the entry named ``auth_code_name`` (kept out of the
    action data Home Assistant records), or the one given in ``field``; not both."""
    name: str | None = ctx.data.get(ATTR_AUTH_CODE_NAME)
    if name is None:
        return ctx.data.get(field)
    if ctx.data.get(field):
        raise _invalid(translation_key="auth_code_and_name", field=field)
    code = ctx.owner.coordinator.auth_codes.get(name)
    if code is None:
        raise _invalid(translation_key="unknown_auth_code_name", name=_shown(name))
    return code


async def _make_call(ctx: Context) -> int:
    data = ctx.data
    call_type = data.get("call_type")
    _check_intrusive(ctx, data["target"], call_type, INTRUSIVE_CALL_TYPES)
    _dialled(ctx, data["target"])
    return await ctx.client.make_call(
        ctx.guid,
        data["target"],
        call_type=None if call_type is None else CALL_TYPES[call_type],
        account_code=data.get("account_code"),
        auth_code=_auth_code(ctx, "auth_code"),
        tag=data.get("tag"),
        withhold_cli=data.get("withhold_cli", False),
        privacy=data.get("privacy", False),
    )


def _set_absence(ctx: Context) -> Awaitable[None]:
    return ctx.client.set_absence(ctx.guid, ABSENCE_MESSAGES[ctx.data["message"]], ctx.data.get("text", ""))


_F = CallFeature
TRANSFER_FIELDS: Final = {
    vol.Required("target"): TRANSFER_TARGET,
    vol.Optional("transfer_type"): vol.In(list(TRANSFER_TYPES)),
    vol.Optional("pin"): PIN,
}

ACTIONS: Final[tuple[Action, ...]] = (
    # --- calls ---
    _call_action(
        "answer",
        _F.ANSWER,
        lambda x: x.client.answer_call(x.guid, x.call_id, x.data.get("device")),
        {vol.Optional("device"): vol.In(DEVICE_HINTS)},
        prefer=_ringing,
        targets=USER,  # the spec's line types: "User only" (so too hold, unhold, DTMF, auth code, recording)
    ),
    _call_action("drop", _F.DROP, lambda x: x.client.drop_call(x.guid, x.call_id)),
    _call_action("hold", _F.HOLD, lambda x: x.client.hold_call(x.guid, x.call_id), prefer=_connected, targets=USER),
    _call_action("unhold", _F.UNHOLD, lambda x: x.client.unhold_call(x.guid, x.call_id), prefer=_held, targets=USER),
    _call_action(
        "blind_transfer",
        _F.BLIND_TRANSFER,
        _blind_transfer,
        TRANSFER_FIELDS,
    ),
    _call_action(
        "redirect",
        _F.REDIRECT,
        lambda x: x.client.redirect_call(x.guid, x.call_id, _dialled(x, x.data["target"])),
        {vol.Required("target"): NUMBER},
        prefer=_ringing,
    ),
    _call_action(
        "park",
        _F.PARK,
        lambda x: x.client.park_call(x.guid, x.call_id, x.data["slot"]),
        {vol.Required("slot"): _digits(1, PARK_SLOT_MAX)},
    ),
    _call_action(
        "setup_transfer",
        _F.SETUP_TRANSFER,
        lambda x: x.client.setup_transfer(x.guid, x.call_id, _dialled(x, x.data.get("target"))),
        {vol.Optional("target"): NUMBER},
        prefer=_connected,
        targets=USER,
    ),
    _call_action(
        "complete_transfer",
        _F.COMPLETE_TRANSFER,
        _complete_transfer,
        {vol.Optional("other_call_id"): _count(1)},
        prefer=_pending_transfer,
        targets=USER,
    ),
    _call_action(
        "setup_conference",
        _F.SETUP_TRANSFER,
        lambda x: x.client.setup_conference(x.guid, x.call_id, _dialled(x, x.data.get("target"))),
        {vol.Optional("target"): NUMBER},
        prefer=_connected,
        targets=USER,
    ),
    _call_action(
        "complete_conference",
        _F.COMPLETE_CONF,
        _complete_conference,
        {vol.Optional("other_call_ids"): vol.All(cv.ensure_list, [_count(1)])},
        prefer=_pending_conference,
        targets=USER,
    ),
    _call_action(
        "add_to_conference",
        _F.ADD_TO_CONF,
        lambda x: x.client.add_to_conference(x.guid, x.call_id, _dialled(x, x.data["target"])),
        {vol.Required("target"): NUMBER},
    ),
    _call_action(
        "conference_member",
        _F.ADMIN_CONF_MEMBER,
        lambda x: x.client.conference_member(x.guid, x.call_id, _member_lref(x), x.data["operation"]),
        {vol.Required("member"): _text(1, TRANSFER_TARGET_MAX), vol.Required("operation"): vol.In(MEMBER_OPERATIONS)},
    ),
    _call_action(
        "send_dtmf",
        _F.GENERATE_DIGITS,
        _send_dtmf,
        {vol.Required("digits"): _digits(1, DTMF_MAX)},
        targets=USER,
    ),
    _call_action(
        "dial",
        _F.DIAL,
        _dial,
        {vol.Required("digits"): _digits(1, TRANSFER_TARGET_MAX)},
        targets=USER,
    ),
    _call_action(
        "set_tag",
        _F.SET_TAG,
        lambda x: x.client.set_tag(x.guid, x.call_id, x.data.get("tag", "")),
        {vol.Optional("tag", default=""): _text(0, TAG_MAX)},
    ),
    _call_action(
        "set_account_code",
        _F.SET_ACCOUNT_CODE,
        lambda x: x.client.set_account_code(x.guid, x.call_id, x.data["code"]),
        {vol.Optional("code", default=""): _text(0, ACCOUNT_CODE_MAX)},
    ),
    _call_action(
        "set_auth_code",
        _F.SET_AUTH_CODE,
        lambda x: x.client.set_auth_code(x.guid, x.call_id, _auth_code(x, "code") or ""),
        {vol.Optional("code", default=""): _text(0, AUTH_CODE_MAX), vol.Optional(ATTR_AUTH_CODE_NAME): AUTH_CODE_NAME},
        targets=USER,
    ),
    _call_action(
        "start_recording", _F.CALL_RECORDING_ON, lambda x: x.client.set_recording(x.guid, x.call_id, True), targets=USER
    ),
    _call_action(
        "stop_recording",
        _F.CALL_RECORDING_OFF,
        lambda x: x.client.set_recording(x.guid, x.call_id, False),
        targets=USER,
    ),
    _call_action(
        "pause_recording",
        _F.RECORDING_PAUSE_CONTROL,
        lambda x: x.client.set_recording_paused(x.guid, x.call_id, True),
    ),
    _call_action(
        "resume_recording",
        _F.RECORDING_PAUSE_CONTROL,
        lambda x: x.client.set_recording_paused(x.guid, x.call_id, False),
    ),
    _call_action("privacy_on", _F.PRIVACY_ON, lambda x: x.client.set_privacy(x.guid, x.call_id, True), targets=USER),
    _call_action("privacy_off", _F.PRIVACY_OFF, lambda x: x.client.set_privacy(x.guid, x.call_id, False), targets=USER),
    _call_action("mute", _F.MUTE_ON, lambda x: x.client.set_mute(x.guid, x.call_id, True), targets=USER),
    _call_action("unmute", _F.MUTE_OFF, lambda x: x.client.set_mute(x.guid, x.call_id, False), targets=USER),
    _call_action(
        "push_to_mobile", _F.PUSH_TO_EC500, lambda x: x.client.push_to_mobile(x.guid, x.call_id), targets=USER
    ),
    _call_action("force_clear", _F.FORCE_CLEAR, lambda x: x.client.force_clear(x.guid, x.call_id), admin=True),
    _call_action(
        "set_priority",
        _F.SET_PRIORITY,
        lambda x: x.client.set_priority(x.guid, x.call_id, x.data["priority"]),
        {vol.Required("priority"): vol.All(_integer, vol.In([1, 2, 3]))},
        targets=QUEUE,
    ),
    _call_action(
        "finish",
        _F.FINISH,
        lambda x: x.client.finish_call(x.guid, x.call_id, x.data.get("immediately", False)),
        {vol.Optional("immediately", default=False): cv.boolean},
        targets=QUEUE,
    ),
    # --- users ---
    Action(
        "make_call",
        _make_call,
        {
            vol.Optional("target", default=""): _number(0),  # empty or left out: dial tone
            vol.Optional("call_type"): vol.In(list(CALL_TYPES)),
            vol.Optional("account_code"): _text(0, ACCOUNT_CODE_MAX),
            vol.Optional("auth_code"): _text(0, AUTH_CODE_MAX),
            vol.Optional(ATTR_AUTH_CODE_NAME): AUTH_CODE_NAME,
            vol.Optional("tag"): _text(0, TAG_MAX),
            vol.Optional("withhold_cli", default=False): cv.boolean,
            vol.Optional("privacy", default=False): cv.boolean,
        },
        response=True,
    ),
    Action(
        "unpark",
        lambda x: x.client.unpark_call(x.guid, x.data["slot"]),
        {vol.Required("slot"): _digits(1, PARK_SLOT_MAX)},
        response=True,
    ),
    Action("set_do_not_disturb", lambda x: x.client.set_dnd(x.guid, x.data["enabled"]), ENABLED),
    Action(
        "set_forward_unconditional",
        lambda x: x.client.set_forward_unconditional(
            x.guid, x.data["enabled"], _dialled(x, x.data.get("destination")), x.data.get("to_voicemail")
        ),
        {
            **ENABLED,
            vol.Optional("destination"): _number(0),
            vol.Optional("to_voicemail"): cv.boolean,
        },
    ),
    Action(
        "set_forward_busy",
        lambda x: x.client.set_forward_busy(x.guid, x.data["enabled"], _dialled(x, x.data.get("destination"))),
        {**ENABLED, vol.Optional("destination"): NUMBER},
    ),
    Action("set_forward_no_answer", lambda x: x.client.set_forward_no_answer(x.guid, x.data["enabled"]), ENABLED),
    Action(
        "set_absence",
        _set_absence,
        {vol.Required("message"): vol.In(list(ABSENCE_MESSAGES)), vol.Optional("text"): _text(0, ABSENCE_TEXT_MAX)},
    ),
    Action("clear_absence", lambda x: x.client.set_absence(x.guid, None)),
    Action("set_mobile_twinning", lambda x: x.client.set_mobile_twinning(x.guid, x.data["enabled"]), ENABLED),
    Action(
        "hot_desk_login",
        _hot_desk_login,
        {
            vol.Required("extension"): EXTENSION,
            vol.Optional("password"): LOGIN_CODE,
            vol.Optional("teleworker_number"): NUMBER,
            vol.Optional("hold_line_open"): cv.boolean,
            vol.Optional("test_connection"): _count(),
        },
    ),
    Action(
        "set_voicemail_counts",
        lambda x: x.client.set_voicemail_counts(x.guid, x.data["new"], x.data["old"], x.data["saved"]),
        {
            vol.Required("new"): _count(),
            vol.Optional("old", default=0): _count(),
            vol.Optional("saved", default=0): _count(),
        },
    ),
    Action(
        "send_short_code",
        lambda x: x.client.send_short_code(x.guid, x.data["code"], x.data["value"]),
        {vol.Required("code"): _count(), vol.Optional("value", default=""): _text(0, SHORT_CODE_VALUE_MAX)},
        admin=True,
    ),
    # --- queues ---
    Action(
        "set_queue_service_mode",
        lambda x: x.client.set_queue_service_mode(x.guid, SERVICE_MODES[x.data["mode"]]),
        {vol.Required("mode"): vol.In(list(SERVICE_MODES))},
        QUEUE,
    ),
    Action("set_queue_voicemail", lambda x: x.client.set_queue_voicemail(x.guid, x.data["enabled"]), ENABLED, QUEUE),
    Action(
        "add_queue_member",
        lambda x: x.client.add_queue_member(x.guid, _queue_member(x, must_be_member=False), not x.data["enabled"]),
        {vol.Required("extension"): EXTENSION, vol.Optional("enabled", default=True): cv.boolean},
        QUEUE,
        admin=True,
    ),
    Action(
        "remove_queue_member",
        lambda x: x.client.remove_queue_member(x.guid, _queue_member(x, must_be_member=True)),
        {vol.Required("extension"): EXTENSION},
        QUEUE,
        admin=True,
    ),
    Action(
        "set_queue_member_enabled",
        lambda x: x.client.set_queue_member_enabled(x.guid, _queue_member(x, must_be_member=True), x.data["enabled"]),
        {vol.Required("extension"): EXTENSION, **ENABLED},
        QUEUE,
    ),
)


# --- running an action ---------------------------------------------------------------------------------------------


def pick_call(owner: Owner, action: Action, call_id: int | None) -> Call:
    """The call an action acts on: ``call_id``, or the only call that fits."""
    rule = action.call
    assert rule is not None
    calls = owner.model.calls
    if call_id is not None:
        if (found := calls.get(call_id)) is None:
            raise _invalid(translation_key="call_not_found", call_id=str(call_id), owner=owner.name)
        return found
    candidates = [call for call in calls.values() if rule.prefer is None or rule.prefer(call)]
    if len(candidates) > 1:  # prefer the calls on which the action is available now
        available = [call for call in candidates if call.features & rule.feature]
        candidates = available or candidates
    if not candidates:
        raise _invalid(translation_key="no_call", owner=owner.name, action=action.name)
    if len(candidates) > 1:
        count = str(len(candidates))
        raise _invalid(translation_key="ambiguous_call", owner=owner.name, action=action.name, count=count)
    return candidates[0]


def check_queue_call(owner: Owner, action: Action, call: Call) -> None:
    """Refuse to act through a queue on its call once a user the entry does not expose has answered it: the call
    is then that user's conversation (dropping, transferring, parking, recording or conferencing it would reach a
    phone the entry does not expose). Only the queue's own side stays: ``finish`` and ``set_priority``."""
    if owner.kind != "queue" or action.name in QUEUE_SIDE_ACTIONS:
        return
    if (answerer := owner.coordinator.unexposed_answerer(call)) is not None:
        raise _invalid(
            translation_key="queue_call_not_exposed",
            call_id=str(call.call_id),
            queue=owner.name,
            extension=answerer,
            action=action.name,
        )


def check_feature(action: Action, call: Call) -> None:
    """Refuse an action that the call's featuresavailable does not offer now (0: not reported, not checked)."""
    assert action.call is not None
    if call.features and not call.features & action.call.feature:
        state = call.state.name.lower()
        raise _invalid(
            translation_key="action_not_available", action=action.name, call_id=str(call.call_id), state=state
        )


async def _named_errors[T](action: str, awaitable: Awaitable[T]) -> T:
    """IP Office's refusal as the spec's meaning and name, with the action that was refused."""
    try:
        return await awaitable
    except ResultError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="action_failed",
            translation_placeholders={"action": action, "error": err.meaning, "name": err.name},
        ) from err


async def _run(action: Action, ctx: Context) -> Any:
    """Run the action's function: the client's refusal of an argument, raised before or after its awaitable is
    made, comes back as the translated invalid_value error."""
    return await action.run(ctx)


def _handler(hass: HomeAssistant, action: Action) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    async def handle(call: ServiceCall) -> ServiceResponse:
        owner = resolve_owner(hass, call.data, action.targets)
        target_call = None
        if action.call is not None:
            target_call = pick_call(owner, action, call.data.get(ATTR_CALL_ID))
            check_queue_call(owner, action, target_call)
            check_feature(action, target_call)
        result = await async_command(_named_errors(action.name, _run(action, Context(owner, target_call, call.data))))
        return {"reference_id": result} if action.response else None

    return handle


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every action of the integration (once, from async_setup)."""
    for action in ACTIONS:
        supports = SupportsResponse.OPTIONAL if action.response else SupportsResponse.NONE
        if action.admin:
            service.async_register_admin_service(
                hass, DOMAIN, action.name, _handler(hass, action), action.schema, supports
            )
        else:
            hass.services.async_register(DOMAIN, action.name, _handler(hass, action), action.schema, supports)
