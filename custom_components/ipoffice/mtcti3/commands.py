"""Validation of command arguments against the spec's limits, and builders of the command messages.

Everything here is pure: a validator raises :class:`CommandValidationError` (naming the field and the limit) and a
builder returns a ``Message`` ready to send. The client fills in requestid and subscribe_id. The rules themselves
(lengths, characters per kind of field, the raw target form) are those of :mod:`.validation`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

from .const import (
    ABSENCE_TEXT_MAX,
    ACCOUNT_CODE_MAX,
    APP_PRESENCE_MAX,
    AUTH_CODE_MAX,
    DTMF_MAX,
    PARK_SLOT_MAX,
    PRESENCE_TIMEOUT_MAX,
    PRESENCE_TIMEOUT_MIN,
    PRIORITIES,
    TAG_MAX,
    TRANSFER_TARGET_MAX,
    AbsenceMessage,
    CallFeature,
    MakeCallType,
    ServiceMode,
    ShortCode,
)
from .errors import CommandValidationError, FeatureNotAvailableError
from .proto import ipo_mtcti3_pb2 as pb
from .validation import (
    EXTN_MAX,
    INT32_MAX,
    check_count,
    check_digits,
    check_extension,
    check_length,
    check_number,
    check_target,
    check_text,
    transfer_target,
)

LOGIN_PASSWORD_MAX: Final = 31  # not a spec limit: IP Office's login codes have up to 31 digits
SHORT_CODE_VALUE_MAX: Final = 127  # not a spec limit: keeps a runaway string off the wire
MAKE_CALL_TARGET_MAX: Final = TRANSFER_TARGET_MAX  # the spec's limit of every other dialled string

MemberAction = Literal["drop", "mute", "unmute"]

_ACTION = pb.CallFunction.Action
_MEMBER_ACTIONS: Final[dict[str, int]] = {
    "drop": pb.MemberFunctionData.Action.Value("DropCall"),
    "mute": pb.MemberFunctionData.Action.Value("MuteOn"),
    "unmute": pb.MemberFunctionData.Action.Value("MuteOff"),
}
DEVICE_HINTS: Final[dict[str, int]] = {
    name.lower(): pb.UpdateCallControl.Device.Value(name)
    for name in pb.UpdateCallControl.Device.keys()  # noqa: SIM118 - an enum wrapper
}
# The names this client took before it followed the published schema (UpdateCallControl.Device): still accepted.
DEVICE_HINTS.update(deskphoneany=DEVICE_HINTS["desk"], deviceany=DEVICE_HINTS["unspecified"])


# --- validators ------------------------------------------------------------------------------------------------


def check_call_id(call_id: int) -> int:
    """A call id is a positive int32."""
    return check_count("call_id", call_id, 1)


def check_feature(features: CallFeature, needed: CallFeature, action: str, call_id: int) -> None:
    """Raise FeatureNotAvailableError when a populated featuresavailable lacks ``needed``.

    A call whose featuresavailable is 0 is treated as "not populated" (as on systems or ccflags that do not report
    it) and not checked: IP Office itself ignores an action that is not available.
    """
    if features and not features & needed:
        raise FeatureNotAvailableError(
            action, f"available for call {call_id} (featuresavailable {int(features):#x} lacks {needed.name})"
        )


# --- message builders ------------------------------------------------------------------------------------------


def user_command(subscribe_id: int, requestid: int) -> tuple[pb.Message, pb.UpdateUser]:
    """A SubscribeCmd carrying an empty UpdateUser; fill the returned UpdateUser."""
    message = pb.Message()
    cmd = message.subscribecmd
    cmd.requestid = requestid
    cmd.subscribe_id = subscribe_id
    cmd.user.SetInParent()
    return message, cmd.user


def queue_command(subscribe_id: int, requestid: int) -> tuple[pb.Message, pb.UpdateQueue]:
    """A SubscribeCmd carrying an empty UpdateQueue; fill the returned UpdateQueue."""
    message = pb.Message()
    cmd = message.subscribecmd
    cmd.requestid = requestid
    cmd.subscribe_id = subscribe_id
    cmd.queue.SetInParent()
    return message, cmd.queue


def call_command(
    subscribe_id: int, requestid: int, *, call_id: int = 0, reference_id: int = 0
) -> tuple[pb.Message, pb.UpdateCallControl]:
    """A SubscribeCmd carrying an UpdateCallControl for a call id (or a reference id)."""
    message = pb.Message()
    cmd = message.subscribecmd
    cmd.requestid = requestid
    cmd.subscribe_id = subscribe_id
    update = cmd.callcontrol
    update.SetInParent()
    if call_id:
        update.callid = call_id
    if reference_id:
        update.referencecallid = reference_id
    return message, update


def call_function(
    subscribe_id: int, requestid: int, call_id: int, action: str, arg1: str | None = None
) -> tuple[pb.Message, pb.CallFunction]:
    """A SubscribeCmd with a CallFunction ``action`` (a CallFunction.Action name) on ``call_id``."""
    message, update = call_command(subscribe_id, requestid, call_id=call_id)
    function = update.callfunction
    function.action = _ACTION.Value(action)  # type: ignore[assignment]
    if arg1 is not None:
        function.arg1 = arg1
    return message, function


def set_absence(update: pb.UpdateUser, message: AbsenceMessage | None, text: str) -> None:
    """Fill UpdateUser.absence: ``None`` clears it."""
    if message is None:
        update.absence.set = 0
        return
    update.absence.set = 1
    update.absence.absence.msg = int(message)
    update.absence.absence.str = text


def voicemail_counts_value(new: int, old: int, saved: int) -> str:
    """The value of short code 70: ";new,old,saved"."""
    check_count("new", new)
    check_count("old", old)
    check_count("saved", saved)
    return f";{new},{old},{saved}"


def add_short_code(update: pb.UpdateUser, code: int, value: str = "") -> None:
    """Append one ShortCodeData."""
    entry = update.shortcodedata.add()
    entry.code = code
    if value:
        entry.val = value


def login_extension(
    extn: str, password: str | None, teleworker_number: str | None, hold_line_open: bool, test_connection: int
) -> pb.UpdateUserLoginExtn:
    """The UpdateUserLoginExtn of a hot-desk login, checked (an error names the password, never its value)."""
    login = pb.UpdateUserLoginExtn(extn=extn)
    if password is not None:
        digits = isinstance(password, str) and (password == "" or password.isdecimal())
        if not digits or len(password) > LOGIN_PASSWORD_MAX:
            raise CommandValidationError("password", f"0 to {LOGIN_PASSWORD_MAX} digits")
        login.password = password
    if teleworker_number is not None:
        check_number("teleworker_number", teleworker_number, 1)
        check_count("test_connection", test_connection)
        connection = login.teleworkerconnection
        connection.number = teleworker_number
        connection.holdlineopen = bool(hold_line_open)
        connection.testconnection = test_connection
    elif hold_line_open or test_connection:
        raise CommandValidationError("teleworker_number", "given with hold_line_open or test_connection")
    return login


def forward_busy(update: pb.UpdateUser, on: bool, number: str | None) -> None:
    """Short codes 114 (number) then 2 or 3 (forward on busy on/off)."""
    if number is not None:
        add_short_code(update, ShortCode.SET_FWDB_NUMBER, number)
    add_short_code(update, ShortCode.SET_FWDB if on else ShortCode.UNSET_FWDB)


def service_mode(update: pb.UpdateQueue, mode: ServiceMode) -> None:
    """Fill UpdateQueue.setservicemode (UNSET is not a mode one can set)."""
    if not isinstance(mode, int) or mode not in (
        ServiceMode.ACTIVE,
        ServiceMode.NIGHT_SERVICE,
        ServiceMode.OUT_OF_SERVICE,
    ):
        raise CommandValidationError("mode", "ACTIVE, NIGHT_SERVICE or OUT_OF_SERVICE", mode)
    update.setservicemode.servicemode = int(mode)  # type: ignore[assignment]


def make_call(
    update: pb.UpdateCallControl,
    target: str,
    call_type: MakeCallType | None,
    *,
    account_code: str | None,
    auth_code: str | None,
    tag: str | None,
    withhold_cli: bool,
    privacy: bool,
    allow_cli: bool,
    explicit_cli: str | None,
) -> None:
    """Fill UpdateCallControl.makecall (validated)."""
    check_target("target", target, 0, MAKE_CALL_TARGET_MAX)
    if call_type is not None and call_type not in MakeCallType.__members__.values():
        raise CommandValidationError("call_type", "a MakeCallType (104, 105, 106, 108, 109 or 116)", call_type)
    if account_code is not None:
        check_text("account_code", account_code, 0, ACCOUNT_CODE_MAX)
    if auth_code is not None:
        check_text("auth_code", auth_code, 0, AUTH_CODE_MAX)
    if tag is not None:
        check_text("tag", tag, 0, TAG_MAX)
    if explicit_cli is not None:
        check_number("explicit_cli", explicit_cli, 1, TRANSFER_TARGET_MAX)
    makecall = update.makecall
    makecall.target = target
    if call_type is not None:
        makecall.type = int(call_type)
    advanced = makecall.advanced
    if account_code:
        advanced.accountcode = account_code
    if auth_code:
        advanced.authcode = auth_code
    if tag:
        advanced.tag = tag
    if withhold_cli:
        advanced.withholdcli = True
    if privacy:
        advanced.privacy = True
    if allow_cli:
        advanced.allowcli = True
    if explicit_cli:
        advanced.explicitcli = explicit_cli
    if not advanced.ListFields():
        makecall.ClearField("advanced")


def member_function(function: pb.CallFunction, lref: int, action: MemberAction) -> None:
    """Fill CallFunction.memberfunctiondata."""
    check_count("lref", lref)
    if action not in _MEMBER_ACTIONS:
        raise CommandValidationError("action", '"drop", "mute" or "unmute"', action)
    function.memberfunctiondata.lref = lref
    function.memberfunctiondata.action = _MEMBER_ACTIONS[action]  # type: ignore[assignment]


def call_instances(function: pb.CallFunction, call_ids: Iterable[int], field: str) -> None:
    """Append CallInstance entries."""
    for other in call_ids:
        check_count(field, other, 1)
        function.callinst.add().callid = other


def device_hint(value: str | int | None) -> int:
    """The UpdateCallControl.Device of a name ("softphoneany", "desk", ...) or number."""
    if value is None:
        return 0
    if isinstance(value, str) and value.lower() in DEVICE_HINTS:
        return DEVICE_HINTS[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in DEVICE_HINTS.values():
        return value
    raise CommandValidationError("device_hint", f"one of {', '.join(DEVICE_HINTS)}", value)


def priority_arg(priority: int) -> str:
    """SetPriority arg1: "1", "2" or "3"."""
    text = str(priority) if isinstance(priority, int) and not isinstance(priority, bool) else ""
    if text not in PRIORITIES:
        raise CommandValidationError("priority", "1, 2 or 3", priority)
    return text


def presence_timeout(timeout: int) -> int:
    """A presence subscription needs a timeout of 60..86400 seconds."""
    return check_count("timeout", timeout, PRESENCE_TIMEOUT_MIN, PRESENCE_TIMEOUT_MAX)


__all__ = [
    "ABSENCE_TEXT_MAX",
    "ACCOUNT_CODE_MAX",
    "APP_PRESENCE_MAX",
    "AUTH_CODE_MAX",
    "DTMF_MAX",
    "EXTN_MAX",
    "INT32_MAX",
    "PARK_SLOT_MAX",
    "SHORT_CODE_VALUE_MAX",
    "TAG_MAX",
    "TRANSFER_TARGET_MAX",
    "check_count",
    "check_digits",
    "check_extension",
    "check_length",
    "check_number",
    "check_target",
    "check_text",
    "transfer_target",
]
