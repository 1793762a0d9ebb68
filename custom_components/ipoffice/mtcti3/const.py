"""Constants of the MTCTI-3 protocol: flags, feature bits, states and limits, all named as in the spec."""

from __future__ import annotations

from enum import IntEnum, IntFlag, StrEnum
from typing import Final

DEFAULT_PORT: Final = 443
PATH: Final = "/tpkt/openapi"
MAX_CONNECTIONS: Final = 10


class LinesFlag(IntFlag):
    """SubscribeLines.flags."""

    USERS = 0x01
    GROUPS = 0x02
    PARK_SERVER = 0x04


class UserFlag(IntFlag):
    """SubscribeUser.flags: what the user notify includes."""

    MAILBOX = 0x01
    FWD = 0x02
    APP = 0x04
    ABSENCE = 0x08
    ACTIVAPP = 0x800


class CallControlFlag(IntFlag):
    """SubscribeUser/SubscribeQueue.ccflags: the detail of CallInfo notifies (0x99 suits regular applications)."""

    PRIMARY = 0x01
    DEVICES = 0x02
    TARGETS = 0x04
    CONFERENCE = 0x08
    DIALINFO = 0x10
    TRUNK = 0x20
    QUEUE = 0x40
    LANGUAGE_PRIVACY = 0x80


class QueueFlag(IntFlag):
    """SubscribeQueue.flags."""

    MAILBOX = 0x01
    MEMBERS = 0x02


DEFAULT_USER_FLAGS: Final = UserFlag.MAILBOX | UserFlag.FWD | UserFlag.APP | UserFlag.ABSENCE
# The spec's 0x99 for regular applications, and queue info (a call's queue and its overflow), trunk detail (the
# number dialled in) and the devices at each end (which device answered).
DEFAULT_USER_CCFLAGS: Final = 0xFB
DEFAULT_QUEUE_FLAGS: Final = QueueFlag.MAILBOX | QueueFlag.MEMBERS
DEFAULT_QUEUE_CCFLAGS: Final = 0xFD  # everything but local/remote devices, so queue calls carry targets and trunk


class UserFeature(IntFlag):
    """NotifyUser.featuresavailable: what may be changed on the user."""

    VALID = 0x001
    SAC = 0x002
    ABSENCE = 0x004
    EC500 = 0x008
    LOGIN = 0x010
    SHORTCODE = 0x020
    MAKECALL = 0x040
    FWDU = 0x080
    DFOI = 0x100
    APP = 0x200


class CallFeature(IntFlag):
    """CallInfo.featuresavailable: the call functions that may work now."""

    DROP = 1 << 0
    ANSWER = 1 << 1
    HOLD = 1 << 2
    UNHOLD = 1 << 3
    BLIND_TRANSFER = 1 << 4
    REDIRECT = 1 << 5
    DIAL = 1 << 6
    PARK = 1 << 7
    SETUP_TRANSFER = 1 << 8  # also SetupConf
    COMPLETE_TRANSFER = 1 << 9
    COMPLETE_CONF = 1 << 10
    ADD_TO_CONF = 1 << 11
    ADMIN_CONF_MEMBER = 1 << 12
    SET_TAG = 1 << 13
    SET_ACCOUNT_CODE = 1 << 14
    PUSH_TO_EC500 = 1 << 16
    GENERATE_DIGITS = 1 << 17
    RECORDING_PAUSE_CONTROL = 1 << 20
    FORCE_CLEAR = 1 << 21
    SET_AUTH_CODE = 1 << 22
    CALL_RECORDING_ON = 1 << 23
    CALL_RECORDING_OFF = 1 << 24
    PRIVACY_ON = 1 << 25
    PRIVACY_OFF = 1 << 26
    MUTE_ON = 1 << 27
    MUTE_OFF = 1 << 28
    SET_PRIORITY = 1 << 29
    FINISH = 1 << 30


class CallState(IntEnum):
    """CallInfo.State."""

    UNKNOWN = 0
    DIALTONE = 1
    DIALLING = 2
    DIALLED = 3
    RINGING = 4
    RINGBACK = 5
    CONNECTED = 6
    ONHOLD = 7
    ONHOLDPENDTRANSFER = 8
    ONHOLDPENDCONF = 9
    DISCONNECTED = 10
    BUSY = 11
    FAILED = 12
    WAITINGFORACCT = 13
    WAITINGFORAUTH = 14
    WAITINGFORLINE = 15
    REMINDER = 16
    AFTERCALLWORK = 17
    RINGINGDIVERT = 18
    RINGINVOICEMAIL = 19
    ANSWEREDBYVOICEMAIL = 20
    LEAVINGVOICEMAILMESSAGE = 21
    QUEUEING = 22
    RETARGETING = 23


RINGING_STATES: Final = frozenset(
    {CallState.RINGING, CallState.RINGINGDIVERT, CallState.QUEUEING, CallState.RETARGETING}
)
HELD_STATES: Final = frozenset({CallState.ONHOLD, CallState.ONHOLDPENDTRANSFER, CallState.ONHOLDPENDCONF})
TALKING_STATES: Final = frozenset({CallState.CONNECTED})


class CallDirection(IntEnum):
    """CallInfo.Direction."""

    UNDEFINED = 0
    OUTBOUND = 1
    INBOUND = 2
    PICKUP = 3


class FailedCause(IntEnum):
    """CallInfo.FailedCause."""

    UNSET = 0
    UNSPECIFIED = 1
    UNALLOCATEDNUMBER = 2
    REJECTED = 3
    NUMBEROOO = 4
    NETWORKOOO = 5
    BARRED = 6
    NOCHANNEL = 7
    NOACCOUNTCODE = 8
    NOAUTHCODE = 9
    NOLICENCE = 10
    LOCALRESOURCES = 11
    BANDWIDTH = 12
    COMPATIBILITY = 13
    CANTRECORD = 14
    NORESPONSE = 15


class ServiceMode(IntEnum):
    """NotifyQueue.ServiceMode."""

    UNSET = 0
    ACTIVE = 1
    NIGHT_SERVICE = 2
    OUT_OF_SERVICE = 3


class PhoneState(IntEnum):
    """Phone states of NotifyPresententity.phonestate (the spec's Table 1)."""

    IDLE = 0
    DIALLING = 1
    RINGING = 2
    ACW = 3
    CONNECTED = 4
    LOGOUT = 5
    FAULT = 6
    RECOVER = 7
    UNKNOWN = 8


class AbsenceMessage(IntEnum):
    """Absence.msg: the prefix an IP Office handset shows before the absence text."""

    ON_HOLIDAY_UNTIL = 1
    WILL_BE_BACK = 2
    AT_LUNCH_UNTIL = 3
    MEETING_UNTIL = 4
    PLEASE_CALL = 5
    DONT_DISTURB_UNTIL = 6
    WITH_VISITOR_UNTIL = 7
    WITH_CUSTOMER_UNTIL = 8
    BACK_SOON = 9
    BACK_TOMORROW = 10
    CUSTOM = 11


ABSENCE_PREFIX: Final[dict[AbsenceMessage, str]] = {
    AbsenceMessage.ON_HOLIDAY_UNTIL: "ON HOLIDAY UNTIL",
    AbsenceMessage.WILL_BE_BACK: "WILL BE BACK",
    AbsenceMessage.AT_LUNCH_UNTIL: "AT LUNCH UNTIL",
    AbsenceMessage.MEETING_UNTIL: "MEETING UNTIL",
    AbsenceMessage.PLEASE_CALL: "PLEASE CALL",
    AbsenceMessage.DONT_DISTURB_UNTIL: "DON'T DISTURB UNTIL",
    AbsenceMessage.WITH_VISITOR_UNTIL: "WITH VISITOR UNTIL",
    AbsenceMessage.WITH_CUSTOMER_UNTIL: "WITH CUSTOMER UNTIL",
    AbsenceMessage.BACK_SOON: "BACK SOON",
    AbsenceMessage.BACK_TOMORROW: "BACK TOMORROW",
    AbsenceMessage.CUSTOM: "",
}


class MakeCallType(IntEnum):
    """MakeCall.type values the spec lists (a normal call leaves it unset)."""

    PAGE = 104
    FORCEFEED = 105
    INTRUDE = 106
    PICKUP = 108
    CAMPON = 109
    MEETME = 116


class TransferType(IntEnum):
    """The $type of a BlindTransfer target "/$type/destination"."""

    VOICEMAIL = 102
    PAGE = 104
    FORCE_AUTOANSWER = 105
    INTRUDE = 106
    PRIORITY_CALL = 107
    CAMPON = 109
    WHISPER = 111
    INCLUSION = 112
    MEETME = 116
    FNE = 120


class ShortCode(IntEnum):
    """ShortCodeData.shortcode values the spec lists."""

    SET_FWDU = 0
    UNSET_FWDU = 1
    SET_FWDB = 2
    UNSET_FWDB = 3
    SET_FWDNA = 4
    UNSET_FWDNA = 5
    SET_FWD_NUMBER = 6
    SET_DND = 7
    UNSET_DND = 8
    SET_DND_EXCEPTION = 9
    CLEAR_DND_EXCEPTIONS = 10
    VOICEMAIL_ON = 17
    VOICEMAIL_OFF = 18
    SET_MAILBOX = 70
    SET_NO_ANSWER_TIMEOUT = 94
    SET_ABSENT_TEXT = 109
    SET_FWDB_NUMBER = 114
    SET_EC500 = 166
    UNSET_EC500 = 167


class Subsystem(StrEnum):
    """What a call belongs to: the kind of subscription it was seen on."""

    USER = "user"
    QUEUE = "queue"
    PARK = "park"


# Limits of the spec, checked before anything is sent.
TRANSFER_TARGET_MAX: Final = 78  # BlindTransfer, Redirect, Dial, SetupTransfer, SetupConf, AddToConf
PARK_SLOT_MAX: Final = 9
DTMF_MAX: Final = 32
DTMF_CHARS: Final = frozenset("0123456789*#")
TAG_MAX: Final = 127
ACCOUNT_CODE_MAX: Final = 15
AUTH_CODE_MAX: Final = 15
ABSENCE_TEXT_MAX: Final = 21
APP_PRESENCE_MAX: Final = 34
PRIORITIES: Final = ("1", "2", "3")
PRESENCE_TIMEOUT_MIN: Final = 60
PRESENCE_TIMEOUT_MAX: Final = 86400
CALL_LOST_NORMAL: Final = 16
