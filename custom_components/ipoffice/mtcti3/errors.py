"""Errors of the MTCTI-3 client: connection failures and every result code of the spec's appendix."""

from __future__ import annotations

from enum import IntEnum

from .escape import printable


class MTCTI3Error(Exception):
    """Base class of every error this library raises."""


# --- connecting ------------------------------------------------------------------------------------------------


class CannotConnectError(MTCTI3Error):
    """The host could not be reached (DNS, refused, timed out, reset) or the websocket upgrade failed."""


class TLSError(CannotConnectError):
    """The TLS handshake failed or the certificate could not be trusted.

    ``fingerprint`` is the SHA-256 of the certificate the server presented (upper-case hex pairs joined by ":"),
    when it could be read, so that a user interface can offer to pin it.
    """

    def __init__(self, message: str, fingerprint: str | None = None) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class FingerprintMismatchError(TLSError):
    """The certificate does not match the pinned SHA-256 fingerprint."""


class AuthenticationError(MTCTI3Error):
    """The service user name or password was refused (HTTP 401)."""


class ServiceRefusedError(MTCTI3Error):
    """IP Office refused the MTCTI-3 service: not licensed (CTI Link Pro), disabled, or forbidden (HTTP 403)."""


class TooManyConnectionsError(ServiceRefusedError):
    """IP Office already has the maximum of 10 MTCTI-3 connections (HTTP 503)."""


class ProtocolError(MTCTI3Error):
    """The peer broke the protocol (for example a subprotocol that was not asked for)."""


class TooManyLinesError(ProtocolError):
    """Lines listed more users or queues than the client accepts; the rest were refused (not subscribed).

    ``refused`` is how many users and queues one Lines notify listed beyond the limits, ``limit_users`` and
    ``limit_queues`` the limits (``IPOfficeClient.max_users`` and ``max_queues``).
    """

    def __init__(self, message: str, *, refused: int, limit_users: int, limit_queues: int) -> None:
        super().__init__(message)
        self.refused = refused
        self.limit_users = limit_users
        self.limit_queues = limit_queues


class NotConnectedError(MTCTI3Error):
    """A command was issued while there is no connection."""


class RequestTimeoutError(MTCTI3Error):
    """No RequestResponse arrived in time (an older IP Office may never send one)."""


SHOWN_MAX = 40  # of a value quoted in an error message: a 10,000-character argument is not echoed whole


def shown(value: object, maximum: int = SHOWN_MAX) -> str:
    """``value`` as an error message quotes it: its repr (control characters escaped), cut to ``maximum``."""
    text = repr(value)
    return text if len(text) <= maximum else f"{text[: maximum - 1]}\N{HORIZONTAL ELLIPSIS}"


class CommandValidationError(MTCTI3Error, ValueError):
    """A command argument is outside the spec's limits; nothing was sent.

    ``field`` names the argument and ``limit`` the rule it broke (for example "1 to 78 characters"); the message
    quotes the value escaped and cut short (:func:`shown`).
    """

    def __init__(self, field: str, limit: str, value: object = None) -> None:
        super().__init__(f"{field} must be {limit}" + ("" if value is None else f" (got {shown(value)})"))
        self.field = field
        self.limit = limit
        self.value = value


class FeatureNotAvailableError(CommandValidationError):
    """The call's (or user's) featuresavailable does not offer this action now; nothing was sent."""


# --- result codes ------------------------------------------------------------------------------------------------


class ResultCode(IntEnum):
    """Result codes of RequestResponse (the spec's appendix "Error codes")."""

    MTCTISESS_SUCCESS = 0
    MTCTISESS_ERRUNKNOWN = 1
    MTCTISESS_UNPACKERR = 2
    MTCTISESS_NOTINSTRUMENTED = 3
    MTCTISESS_NOTFOUND = 4
    MTCTISESS_TOOMANY = 5
    MTCTISESS_TOOBIG = 6
    MTCTISESS_USERNOTFOUND = 7
    MTCTISESS_SERVICE_NOT_AVAILABLE = 8
    MTCTISESS_NOTALLOWED = 9
    MTCTISESS_SUBSCRIPTION_INVALID = 100
    MTCTISESS_SUBSCRIPTION_INVALID_ID = 101
    MTCTISESS_SUBSCRIPTION_TIMEOUT_TOO_SMALL = 102
    MTCTISESS_GENCMD_ERRUNKNOWN = 150
    MTCTISESS_GENCMD_INVALID_PAYLOAD = 151
    MTCTISESS_GENCMD_REQUIRED_DATA_MISSING = 152
    MTCTISESS_PRESENCE_ERRUNKNOWN = 500
    MTCTISESS_CALLCONTROL_NOPHONE = 600
    MTCTISESS_CALLCONTROL_EXTNFAULT = 601
    MTCTISESS_CALLCONTROL_CALLNOTFOUND = 602
    MTCTISESS_CALLCONTROL_MAXCALLS = 603
    MTCTISESS_CALLCONTROL_BADACCT = 604
    MTCTISESS_CALLCONTROL_BDAUTH = 605
    MTCTISESS_CALLCONTROL_TARGETNOTFOUND = 606
    MTCTISESS_CALLCONTROL_PERMISSION = 607
    MTCTISESS_CALLCONTROL_BADFORMATTING = 608
    MTCTISESS_CALLCONTROL_INVALIDCALLSTATE = 609
    MTCTISESS_CALLCONTROL_CANTBEDONE = 610
    MTCTISESS_CALLCONTROL_NOCOVERAGE = 611
    MTCTISESS_CALLCONTROL_TRANSFERFAILED = 612
    MTCTISESS_CALLCONTROL_PARKFAILED = 613
    MTCTISESS_CALLCONTROL_OTHERNOTFOUND = 614
    MTCTISESS_CALLCONTROL_CANTCOMPLETE = 615
    MTCTISESS_CALLCONTROL_UNSUPPORTED = 616
    MTCTISESS_CALLCONTROL_ALREADYDONE = 617
    MTCTISESS_REQUESTFAILED = 5000
    MTCTISESS_REQUESTTIMEOUT = 5001
    MTCTISESS_REQUEST_INVALID_PAYLOAD = 5002
    MTCTISESS_REQUEST_INVALID_CONTEXT = 5003

    @property
    def meaning(self) -> str:
        """The spec's description of the code (or a description in its words where it gives none)."""
        return RESULT_MEANINGS[self]


RESULT_MEANINGS: dict[ResultCode, str] = {
    ResultCode.MTCTISESS_SUCCESS: "Success",
    ResultCode.MTCTISESS_ERRUNKNOWN: "Unknown error",
    ResultCode.MTCTISESS_UNPACKERR: "Message unpack error",
    ResultCode.MTCTISESS_NOTINSTRUMENTED: "Not instrumented",
    ResultCode.MTCTISESS_NOTFOUND: "Not found",
    ResultCode.MTCTISESS_TOOMANY: "Too many",
    ResultCode.MTCTISESS_TOOBIG: "Too big",
    ResultCode.MTCTISESS_USERNOTFOUND: "User not found",
    ResultCode.MTCTISESS_SERVICE_NOT_AVAILABLE: "Service not available",
    ResultCode.MTCTISESS_NOTALLOWED: "Not allowed",
    ResultCode.MTCTISESS_SUBSCRIPTION_INVALID: "Not a recognized subscription",
    ResultCode.MTCTISESS_SUBSCRIPTION_INVALID_ID: "Subscription Update with invalid ID",
    ResultCode.MTCTISESS_SUBSCRIPTION_TIMEOUT_TOO_SMALL: "Subscription timeout too small",
    ResultCode.MTCTISESS_GENCMD_ERRUNKNOWN: "General Command Error",
    ResultCode.MTCTISESS_GENCMD_INVALID_PAYLOAD: "General Command badly formatted",
    ResultCode.MTCTISESS_GENCMD_REQUIRED_DATA_MISSING: "General Command with mandatory element missing",
    ResultCode.MTCTISESS_PRESENCE_ERRUNKNOWN: "Any error to do with presence subscription",
    ResultCode.MTCTISESS_CALLCONTROL_NOPHONE: (
        "Can't make a call, or unpark a call because the user is not logged in to any handset"
    ),
    ResultCode.MTCTISESS_CALLCONTROL_EXTNFAULT: "Can't make a call because the user's phone is not connected",
    ResultCode.MTCTISESS_CALLCONTROL_CALLNOTFOUND: "Can't perform action on this call, because the call cannot be found",  # noqa: E501
    ResultCode.MTCTISESS_CALLCONTROL_MAXCALLS: "Can't make a call because the user has no more call appearances",
    ResultCode.MTCTISESS_CALLCONTROL_BADACCT: "The account code entered is not valid",
    ResultCode.MTCTISESS_CALLCONTROL_BDAUTH: "The authorization code is not valid",
    ResultCode.MTCTISESS_CALLCONTROL_TARGETNOTFOUND: "Cannot find the thing you are targeting",
    ResultCode.MTCTISESS_CALLCONTROL_PERMISSION: "You do not have permission to perform this action",
    ResultCode.MTCTISESS_CALLCONTROL_BADFORMATTING: (
        "One of the fields is missing or string is too long or number is out of range"
    ),
    ResultCode.MTCTISESS_CALLCONTROL_INVALIDCALLSTATE: "You can't do this action at this time",
    ResultCode.MTCTISESS_CALLCONTROL_CANTBEDONE: (
        "You cannot do this on this phone (for example answer: the handset must be picked up)"
    ),
    ResultCode.MTCTISESS_CALLCONTROL_NOCOVERAGE: "You can't drop a ringing call if there is no coverage destination",
    ResultCode.MTCTISESS_CALLCONTROL_TRANSFERFAILED: "The blind transfer target is invalid or refused the call",
    ResultCode.MTCTISESS_CALLCONTROL_PARKFAILED: "Could not park this call",
    ResultCode.MTCTISESS_CALLCONTROL_OTHERNOTFOUND: (
        "Trying to CompleteTransfer or CompleteConf with invalid related calls"
    ),
    ResultCode.MTCTISESS_CALLCONTROL_CANTCOMPLETE: (
        "Transfer complete not allowed, maybe because of the nature of the calls you are trying to join"
    ),
    ResultCode.MTCTISESS_CALLCONTROL_UNSUPPORTED: "Not a supported function",
    ResultCode.MTCTISESS_CALLCONTROL_ALREADYDONE: "The command would have no effect",
    ResultCode.MTCTISESS_REQUESTFAILED: "A valid command has failed",
    ResultCode.MTCTISESS_REQUESTTIMEOUT: "A valid command has taken too long to create a response",
    ResultCode.MTCTISESS_REQUEST_INVALID_PAYLOAD: "Missing or field out of range",
    ResultCode.MTCTISESS_REQUEST_INVALID_CONTEXT: "Can't find context for this action",
}


class ResultError(MTCTI3Error):
    """IP Office answered a request with a non-zero result code.

    ``code`` is the :class:`ResultCode` (or the bare integer for a code the spec does not list), ``name`` its
    MTCTISESS_ name and ``meaning`` the spec's description.
    """

    def __init__(self, code: ResultCode | int, additional: str = "") -> None:
        self.code = code
        self.additional = additional
        if isinstance(code, ResultCode):
            self.name = code.name
            self.meaning = code.meaning
        else:
            self.name = f"MTCTISESS_{code}"
            self.meaning = f"Result code {code}, not described by the MTCTI-3 specification"
        text = f"{self.meaning} ({self.name}, {int(code)})"
        if additional:  # the peer's text: escaped (see escape.printable)
            text += f": {printable(additional)}"
        super().__init__(text)


class SubscriptionError(ResultError):
    """A subscription request failed (codes 100-102 and the not-found codes of Subscribe)."""


class GeneralCommandError(ResultError):
    """A GeneralCmd failed (codes 150-152)."""


class CallControlError(ResultError):
    """A call-control command failed (codes 600-617)."""


def error_for_result(code: int, additional: str = "") -> ResultError:
    """Return the named error for a non-zero RequestResponse result."""
    try:
        named: ResultCode | int = ResultCode(code)
    except ValueError:
        named = code
    if 100 <= code < 150:
        return SubscriptionError(named, additional)
    if 150 <= code < 200:
        return GeneralCommandError(named, additional)
    if 600 <= code < 700:
        return CallControlError(named, additional)
    return ResultError(named, additional)
