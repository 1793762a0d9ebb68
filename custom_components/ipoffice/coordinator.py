"""The coordinator of one IP Office: owns the MTCTI-3 client and fans its push updates out to entities.

Nothing polls: the client keeps its models current from notifies and calls its listeners. Entities listen to
their own user or queue (by guid), so that an update of one user costs one entity update, not thousands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any, Final

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo

from .const import (
    CALLER_NAME_ENTITIES,
    CONF_AUTH_CODES,
    CONF_CALLER_NAMES,
    CONF_DIALLING,
    CONF_FEATURE_CODES,
    CONF_QUEUES,
    CONF_SECONDARY_HOST,
    CONF_SYSTEM_ID,
    CONF_USERS,
    CORE_ENTITIES_ABOVE_USERS,
    DIAL_ANY,
    DIAL_EXPOSED,
    DOMAIN,
    EVENT_CALL,
    ISSUE_CERTIFICATE_CHANGED,
    ISSUE_SERVICE_REFUSED,
    ISSUE_TOO_MANY_CONNECTIONS,
    ISSUE_TOO_MANY_LINES,
    ISSUE_UNKNOWN_FIELDS,
    LOGGER,
    MANUFACTURER,
    PRIMARY,
    SECONDARY,
    TROUBLESHOOTING_URL,
)
from .mtcti3 import (
    AuthenticationError,
    Call,
    CallDirection,
    CallEvent,
    CallEventType,
    CallState,
    EndDevice,
    FingerprintMismatchError,
    IPOfficeClient,
    LineEntry,
    MTCTI3Error,
    Queue,
    ServiceRefusedError,
    TooManyConnectionsError,
    TooManyLinesError,
    UnknownField,
    User,
)
from .mtcti3.escape import printable
from .mtcti3.models import LineKind
from .mtcti3.pair import PairClient
from .mtcti3.validation import has_feature_code

# Since Home Assistant 2026.8 a device belongs to one config entry: it is found by its identifier within its entry and
# names its hub by the hub's device id. Before, identifiers were global and a device named its hub by its identifier.
DEVICES_OF_ONE_ENTRY: Final = hasattr(dr.DeviceRegistry, "async_get_device_by_identifier")

type IPOfficeConfigEntry = ConfigEntry[IPOfficeCoordinator]
type UsersCallback = Callable[[list[User]], None]
type QueuesCallback = Callable[[list[Queue]], None]
type CallListener = Callable[[str, dict[str, Any], Context], None]
type SystemListener = Callable[[Context | None], None]

REPAIR_ISSUES = (ISSUE_CERTIFICATE_CHANGED, ISSUE_SERVICE_REFUSED, ISSUE_TOO_MANY_CONNECTIONS)
# The system entities only a resilient pair has (removed when the secondary is removed from the entry).
PAIR_ENTITIES = (
    ("sensor", "serving_system"),
    ("binary_sensor", "primary_connectivity"),
    ("binary_sensor", "secondary_connectivity"),
)

_USER_EVENTS: dict[CallEventType, str] = {
    CallEventType.ANSWERED: "answered",
    CallEventType.HELD: "held",
    CallEventType.RESUMED: "resumed",
    CallEventType.TRANSFERRED: "transferred",
    CallEventType.ENDED: "ended",
    CallEventType.MISSED: "missed",
}
_QUEUE_EVENTS: dict[CallEventType, str] = {
    CallEventType.ANSWERED: "answered",
    CallEventType.ENDED: "ended",
    CallEventType.ABANDONED: "abandoned",
}


def user_event_type(event: CallEvent) -> str | None:
    """The event type of a user's call event (None: not a moment the integration reports)."""
    if event.type is CallEventType.NEW:
        call = event.call
        if call.direction in (CallDirection.INBOUND, CallDirection.PICKUP) or (
            call.direction is CallDirection.UNDEFINED and call.is_ringing
        ):
            return "incoming"
        return "outgoing"
    return _USER_EVENTS.get(event.type)


def queue_event_type(event: CallEvent) -> str | None:
    """The event type of a queue's call event."""
    if event.type is CallEventType.NEW:
        return "queued" if event.call.is_ringing else None
    return _QUEUE_EVENTS.get(event.type)


def repair_issue_id(issue: str, system: str) -> str:
    """The id of a repair issue about the primary (the issue's own name) or the secondary IP Office."""
    return issue if system == PRIMARY else f"{issue}_{SECONDARY}"


@callback
def async_create_repair_issue(hass: HomeAssistant, entry: IPOfficeConfigEntry, issue: str, system: str) -> None:
    """Raise one of :data:`REPAIR_ISSUES` about ``system`` of ``entry`` (it stays until that system connects)."""
    host = entry.data[CONF_SECONDARY_HOST if system == SECONDARY else "host"]
    ir.async_create_issue(
        hass,
        DOMAIN,
        repair_issue_id(issue, system),
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=issue,
        translation_placeholders={"host": host, "title": entry.title},
    )


def unknown_fields_issue_id(entry_id: str) -> str:
    """The id of the repair issue of an entry whose IP Office sent data this version does not understand."""
    return f"{ISSUE_UNKNOWN_FIELDS}_{entry_id}"


def repair_issue_of(error: MTCTI3Error) -> str | None:
    """The repair issue that a connection error calls for (None: retrying is all there is to do)."""
    if isinstance(error, FingerprintMismatchError):
        return ISSUE_CERTIFICATE_CHANGED
    if isinstance(error, TooManyConnectionsError):
        return ISSUE_TOO_MANY_CONNECTIONS
    if isinstance(error, ServiceRefusedError):
        return ISSUE_SERVICE_REFUSED
    if isinstance(error, TooManyLinesError):
        return ISSUE_TOO_MANY_LINES  # (not cleared by connecting: by a Lines that fits, see _clear_repairs)
    return None


def _iso(timestamp: float) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


# A call's start is formatted once, not on each of its events (a call has several per owner, and several owners).
_started_iso = lru_cache(maxsize=1024)(_iso)
# The lower-case names in the details (``Enum.name`` and ``str.lower`` on every event otherwise). One table per enum:
# they are IntEnums, whose members of equal value are equal keys.
_DIRECTIONS = {member: member.name.lower() for member in CallDirection}
_STATES = {member: member.name.lower() for member in CallState}
ENDED_STATE = "ended"
"""The ``state`` of the moments that say a call is over (its last live state is ``last_state``)."""
_ENDS = frozenset({CallEventType.ENDED, CallEventType.MISSED, CallEventType.ABANDONED})


def _device(device: EndDevice | None) -> dict[str, Any] | None:
    """A device at one end of a call, in IP Office's codes."""
    if device is None:
        return None
    return {
        "device_class": device.device_class,
        "device_type": device.device_type,
        "device_instance": device.device_instance,
        "teleworker": device.teleworker or None,
    }


def _conference(call: Call) -> list[dict[str, Any]] | None:
    """The other members of a conference call (None: not a conference)."""
    members = call.conference_members
    if not members:
        return None
    return [
        {
            "lref": member.lref,
            "number": member.party.number or member.called_party or None,
            "name": member.party.name or None,
            "state": _STATES[member.state],
            "mute": member.mute,
        }
        for member in members
    ]


def call_details(event: CallEvent) -> dict[str, Any]:
    """The details of a call event, as event entity attributes and bus event data carry them."""
    call: Call = event.call
    other = call.other_party
    previous = event.previous_state
    last_state = _STATES[call.state]  # an ended call's last snapshot: the state it ended in
    diverted = call.original_called_party
    caller = call.calling_party
    details = {
        "call_id": call.call_id,
        "direction": _DIRECTIONS[call.direction],
        "state": ENDED_STATE if event.type in _ENDS else last_state,
        "previous_state": _STATES[previous] if previous is not None else None,
        "last_state": last_state,
        "other_party_number": other.number if other else None,
        "other_party_name": other.name if other else None,
        "called_number": call.called_party or None,
        "queue_name": call.queue_name or None,
        "gcid": call.gcid or None,
        "started": _started_iso(call.started),
        "timestamp": _iso(event.timestamp),
        "duration": round(event.duration, 1),
        "other_party_withheld": other.withheld if other else False,
        "did": call.trunk_did or None,
        "original_called_number": diverted.number or None if diverted else None,
        "original_called_name": diverted.name or None if diverted else None,
        "diversion_reason": (diverted.diversion_reason if diverted else 0)
        or (caller.diversion_reason if caller else 0)
        or None,
        "emergency": call.emergency,
        "overflow_queue_number": call.queue_overflow_number or None,
        "overflow_queue_name": call.queue_overflow_name or None,
        "ucid": call.ucid or None,
        "conference_members": _conference(call),
    }
    if event.type is CallEventType.ANSWERED:
        details["local_device"] = _device(call.local_devices[0] if call.local_devices else None)
        details["remote_device"] = _device(call.remote_device)
    return details


def _refused(*, translation_key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=translation_key, translation_placeholders=placeholders
    )


class IPOfficeCoordinator:
    """Runs one MTCTI-3 connection and tells entities what changed."""

    def __init__(self, hass: HomeAssistant, entry: IPOfficeConfigEntry, client: IPOfficeClient | PairClient) -> None:
        """Initialise the coordinator (nothing connects before :meth:`async_start`).

        ``client`` is one IP Office, or a resilient pair seen as one (:class:`PairClient`): entities read it alike.
        """
        self.hass = hass
        self.entry = entry
        self.client = client
        self.pair = client if isinstance(client, PairClient) else None
        self.connected = False
        self.system_identifier: str = entry.data.get(CONF_SYSTEM_ID) or entry.unique_id or entry.entry_id
        self.system_device_id = ""  # set once the system device is registered
        self._started = False
        self._unsubs: list[Callable[[], None]] = []
        self._connection_listeners: list[Callable[[], None]] = []
        self._system_listeners: list[SystemListener] = []
        self._report_contexts: dict[str, Context] = {}
        self._call_listeners: dict[str, list[CallListener]] = {}
        self._user_callbacks: list[UsersCallback] = []
        self._queue_callbacks: list[QueuesCallback] = []
        self._pending: dict[str, Callable[[], None]] = {}
        self._active_calls: dict[tuple[str, int], str] = {}
        self._emergency_calls: set[tuple[str, int]] = set()  # the active calls that are emergency calls
        selected_users = entry.options.get(CONF_USERS)
        selected_queues = entry.options.get(CONF_QUEUES)
        self.selected_users: frozenset[str] | None = None if selected_users is None else frozenset(selected_users)
        self.selected_queues: frozenset[str] | None = None if selected_queues is None else frozenset(selected_queues)
        self.dialling: str = entry.options.get(CONF_DIALLING, DIAL_ANY)
        self.feature_codes: bool = entry.options.get(CONF_FEATURE_CODES, False)
        self.auth_codes: dict[str, str] = dict(entry.options.get(CONF_AUTH_CODES, {}))  # by name
        self.caller_names: bool = entry.options.get(CONF_CALLER_NAMES, True)
        self.core_entities_only = False  # set once connected: see CORE_ENTITIES_ABOVE_USERS
        self._system_connected: dict[str, bool] = {}  # of a pair's systems, as last logged
        self._unknown_fields_reported = False

    # --- life cycle -------------------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Connect (errors propagate to the caller) and start listening."""
        client = self.client
        self._unsubs += [
            client.add_connection_listener(self._on_connection),
            client.add_call_listener(self._on_call),
            client.add_directory_listener(self._on_directory),
            client.add_park_listener(self._on_park),
        ]
        if self.pair is not None:
            self._unsubs += [
                self.pair.add_failure_listener(self._on_failure),
                self.pair.add_system_listener(self._on_systems),
            ]
        else:
            self._unsubs.append(self.client_of(PRIMARY).add_failure_listener(partial(self._on_failure, PRIMARY)))
        self._unsubs += [
            self.client_of(system).add_unknown_field_listener(self._on_unknown_field) for system in self.systems
        ]
        await client.connect()
        self.connected = True
        self._started = True
        self._system_connected = {system: self.client_of(system).connected for system in self.systems}
        exposed_users = sum(1 for guid in client.users if self.user_exposed(guid))
        self.core_entities_only = exposed_users > CORE_ENTITIES_ABOVE_USERS
        calls = [call for user in client.users.values() for call in user.calls.values()]
        calls += [call for queue in client.queues.values() for call in queue.calls.values()]
        for call in calls:
            self._active_calls[(call.owner_guid, call.call_id)] = call.gcid or f"{call.owner_guid}/{call.call_id}"
            if call.emergency:
                self._emergency_calls.add((call.owner_guid, call.call_id))
        self._clear_repairs()
        self._remove_stale_devices()
        if self.pair is None:
            self._remove_pair_entities()
        if not self.caller_names:
            self._remove_caller_name_entities()

    async def async_stop(self) -> None:
        """Stop listening and disconnect."""
        for unsub in (*self._unsubs, *self._pending.values()):
            unsub()
        self._unsubs.clear()
        self._pending.clear()
        await self.client.disconnect()

    # --- the systems ------------------------------------------------------------------------------------------

    def client_of(self, system: str) -> IPOfficeClient:
        """The client of the "primary" or "secondary" IP Office."""
        if self.pair is None:
            assert isinstance(self.client, IPOfficeClient)
            return self.client
        return self.pair.primary if system == PRIMARY else self.pair.secondary

    @property
    def systems(self) -> tuple[str, ...]:
        """The IP Offices of the entry: ("primary",) or ("primary", "secondary")."""
        return (PRIMARY,) if self.pair is None else (PRIMARY, SECONDARY)

    @property
    def serving_system(self) -> str:
        """The IP Office that serves users now: "primary" or "secondary"."""
        return PRIMARY if self.pair is None else self.pair.name_of(self.pair.active)

    @property
    def commands(self) -> IPOfficeClient:
        """The client that takes configuration commands (of users and queues): the serving system's."""
        return self.client_of(self.serving_system)

    def command_target(self, owner: str, call_id: int) -> tuple[IPOfficeClient, int]:
        """The client of the system that holds call ``call_id`` of ``owner`` (each system controls its own calls),
        and the call's id on that system (a pair may show a queue call by an id of its own: see PairClient)."""
        return (self.commands, call_id) if self.pair is None else self.pair.command_target(owner, call_id)

    # --- what is exposed ---------------------------------------------------------------------------------------

    def user_exposed(self, guid: str) -> bool:
        """Whether the entry exposes this user."""
        return self.selected_users is None or guid in self.selected_users

    def queue_exposed(self, guid: str) -> bool:
        """Whether the entry exposes this queue."""
        return self.selected_queues is None or guid in self.selected_queues

    def line_of(self, extension: str, kind: LineKind | None = None) -> LineEntry | None:
        """The user or queue (of ``kind``, if given) of the system that has ``extension`` (None: none has)."""
        return next(
            (
                line
                for line in self.client.directory.values()
                if line.extn == extension and (kind is None or line.kind is kind)
            ),
            None,
        )

    def line_exposed(self, line: LineEntry) -> bool:
        """Whether the entry exposes the user or queue of ``line``."""
        return self.user_exposed(line.guid) if line.kind is LineKind.USER else self.queue_exposed(line.guid)

    def check_member_exposed(self, extension: str, queue: str) -> None:
        """Refuse to change the queue membership of a user the entry does not expose (it would start or stop
        ringing for the queue's calls): a ServiceValidationError naming the extension and the queue."""
        if (line := self.line_of(extension)) is not None and not self.user_exposed(line.guid):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="member_not_exposed",
                translation_placeholders={"extension": extension, "queue": queue},
            )

    def extension_exposed(self, extension: str) -> bool:
        """Whether ``extension`` is that of a user or queue the entry exposes (actions may act on its phone)."""
        line = self.line_of(extension)
        return line is not None and self.line_exposed(line)

    def unexposed_answerer(self, call: Call) -> str | None:
        """The extension of the user the entry does not expose who answered ``call`` of a queue (the party the
        queue's call is connected to), or None: nobody has answered it, or an exposed user or someone outside the
        system did."""
        party = call.connected_party
        if party is None or not party.number:
            return None
        line = self.line_of(party.number, LineKind.USER)
        if line is None or self.user_exposed(line.guid):
            return None
        return party.number

    def check_dialled(self, number: str) -> None:
        """Refuse a number the entry does not let its users dial (make_call, transfers, forwarding): a feature code
        (a number with * or #) unless the entry allows them; otherwise a number outside its dialling scope (the
        extensions of exposed users and queues, any extension of the system, or any number). An empty number
        (dial tone, no forwarding number) is not dialled."""
        if not number:
            return
        if has_feature_code(number):
            if not self.feature_codes:
                raise _refused(translation_key="feature_code_refused", number=number)
            return
        if self.dialling == DIAL_ANY:
            return
        line = self.line_of(number)
        if line is None:
            raise _refused(translation_key="number_not_internal", number=number)
        if self.dialling == DIAL_EXPOSED and not self.line_exposed(line):
            raise _refused(translation_key="number_not_exposed", number=number)

    @property
    def system_device_info(self) -> DeviceInfo:
        """The device of the IP Office system itself."""
        system = self.client.system
        return DeviceInfo(
            identifiers={(DOMAIN, self.system_identifier)},
            manufacturer=MANUFACTURER,
            model="IP Office",
            name=self.entry.title,
            sw_version=system.version,
            configuration_url=f"https://{system.host}:{self.entry.data['port']}/",
        )

    @property
    def _via_system(self) -> DeviceInfo:
        """The link of a user's or queue's device to the system's."""
        if DEVICES_OF_ONE_ENTRY:
            return DeviceInfo(via_device_id=self.system_device_id)
        return DeviceInfo(via_device=(DOMAIN, self.system_identifier))  # type: ignore[typeddict-unknown-key]

    def device_of(self, guid: str) -> dr.DeviceEntry | None:
        """The device of the user or queue ``guid`` in this entry, if registered."""
        registry = dr.async_get(self.hass)
        if DEVICES_OF_ONE_ENTRY:
            return registry.async_get_device_by_identifier((DOMAIN, guid), self.entry.entry_id)
        return registry.async_get_device(identifiers={(DOMAIN, guid)})

    def user_device_info(self, user: User) -> DeviceInfo:
        """The device of a user."""
        return DeviceInfo(
            identifiers={(DOMAIN, user.guid)},
            manufacturer=MANUFACTURER,
            model="User",
            name=user.name,
            serial_number=user.extn,
            **self._via_system,
        )

    def queue_device_info(self, queue: Queue) -> DeviceInfo:
        """The device of a queue."""
        return DeviceInfo(
            identifiers={(DOMAIN, queue.guid)},
            manufacturer=MANUFACTURER,
            model="Queue",
            name=queue.name,
            serial_number=queue.extn,
            **self._via_system,
        )

    # --- listeners for entities --------------------------------------------------------------------------------

    @callback
    def async_add_connection_listener(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` when the connection is lost or restored."""
        self._connection_listeners.append(listener)
        return lambda: self._connection_listeners.remove(listener)

    @callback
    def async_add_system_listener(self, listener: SystemListener) -> Callable[[], None]:
        """Call ``listener(context)`` when the system-wide counters (active, parked and emergency calls) change."""
        self._system_listeners.append(listener)
        return lambda: self._system_listeners.remove(listener)

    @callback
    def async_add_call_listener(self, guid: str, listener: CallListener) -> Callable[[], None]:
        """Call ``listener(event_type, details, context)`` for each reported moment of a call of that user or queue
        (``context``: see :meth:`report_context`)."""
        listeners = self._call_listeners.setdefault(guid, [])
        listeners.append(listener)

        def remove() -> None:
            listeners.remove(listener)
            if not listeners:
                self._call_listeners.pop(guid, None)

        return remove

    @callback
    def async_register_platform(self, users: UsersCallback | None = None, queues: QueuesCallback | None = None) -> None:
        """Hand a platform the exposed users and queues now, and each new one as it appears (a platform without
        entities for users or for queues passes no callback for them)."""
        if users is not None:
            self._user_callbacks.append(users)
            self.entry.async_on_unload(lambda: self._user_callbacks.remove(users))
            users([user for guid, user in self.client.users.items() if self.user_exposed(guid)])
        if queues is not None:
            self._queue_callbacks.append(queues)
            self.entry.async_on_unload(lambda: self._queue_callbacks.remove(queues))
            queues([queue for guid, queue in self.client.queues.items() if self.queue_exposed(guid)])

    @property
    def active_calls(self) -> int:
        """Calls in progress on the exposed users and queues (a call seen by several of them counts once)."""
        return len(set(self._active_calls.values()))

    @property
    def emergency_extensions(self) -> list[str]:
        """The extensions of the exposed users and queues that have an emergency call now, in order."""
        client = self.client
        found = {
            owner.extn
            for guid, _call_id in self._emergency_calls
            if (owner := client.users.get(guid) or client.queues.get(guid)) is not None
        }
        return sorted(found)

    # --- client listeners --------------------------------------------------------------------------------------

    @callback
    def _on_connection(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        if connected:
            self._clear_repairs()
        if self.pair is None:  # (a pair's systems are logged one by one: _on_systems)
            self._log_system(PRIMARY, connected)
        for listener in list(self._connection_listeners):
            listener()

    def _log_system(self, system: str, connected: bool) -> None:
        """Log once, at info, that a system's connection was lost or is back (the client logs its retries at debug)."""
        client = self.client_of(system)
        name = client.host if self.pair is None else f"{system} {client.host}"
        if connected:
            LOGGER.info("Connection to IP Office %s restored", name)
        else:
            LOGGER.info("Connection to IP Office %s lost (%s); reconnecting", name, client.loss_reason or "unknown")

    @callback
    def _on_systems(self) -> None:
        """A system of the pair connected or disconnected, or users are served from the other one."""
        for system in self.systems:
            connected = self.client_of(system).connected
            if self._system_connected.get(system, connected) != connected:
                self._log_system(system, connected)
            self._system_connected[system] = connected
        self._clear_repairs()
        for listener in list(self._connection_listeners):
            listener()

    @callback
    def _on_failure(self, system: str, error: MTCTI3Error) -> None:
        """A reconnect failed: ask for the new password, or raise the repair issue a person must act on."""
        if isinstance(error, AuthenticationError):
            if not any(self.entry.async_get_active_flows(self.hass, {SOURCE_REAUTH})):
                LOGGER.warning(
                    "IP Office %s refused the service user's password; asking for it again",
                    self.client_of(system).host,
                )
            self.entry.async_start_reauth(self.hass)  # a no-op while a reauth flow of the entry is in progress
        elif (issue := repair_issue_of(error)) is not None:
            async_create_repair_issue(self.hass, self.entry, issue, system)

    @property
    def unknown_fields(self) -> dict[str, dict[int, int]]:
        """How many times the IP Office (both, of a pair) sent each field this version does not know: message type
        -> field number -> count."""
        merged: dict[str, dict[int, int]] = {}
        for system in self.systems:
            for message, numbers in self.client_of(system).unknown_fields.items():
                counts = merged.setdefault(message, {})
                for number, count in numbers.items():
                    counts[number] = counts.get(number, 0) + count
        return {message: dict(sorted(merged[message].items())) for message in sorted(merged)}

    @callback
    def _on_unknown_field(self, field: UnknownField) -> None:
        """IP Office sent a field this version does not know (a newer release's): say so once per entry, with a
        repair issue a user may dismiss (diagnostics count every field)."""
        if self._unknown_fields_reported:
            return
        self._unknown_fields_reported = True
        LOGGER.info(
            "IP Office of %s sent data this version does not understand (%s field %d)",
            self.entry.title,
            field.message,
            field.number,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            unknown_fields_issue_id(self.entry.entry_id),
            is_fixable=False,
            is_persistent=False,
            learn_more_url=TROUBLESHOOTING_URL,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_UNKNOWN_FIELDS,
            translation_placeholders={"title": self.entry.title, "field": f"{field.message} {field.number}"},
        )

    @callback
    def _clear_repairs(self) -> None:
        """A system is connected: its repair issues hold no more; the stored password works (no reauth to ask)."""
        connected = [system for system in self.systems if self.client_of(system).connected]
        for system in connected:
            for issue in REPAIR_ISSUES:
                ir.async_delete_issue(self.hass, DOMAIN, repair_issue_id(issue, system))
            if not self.client_of(system).lines_refused:
                ir.async_delete_issue(self.hass, DOMAIN, repair_issue_id(ISSUE_TOO_MANY_LINES, system))
        if len(connected) == len(self.systems):
            for flow in self.entry.async_get_active_flows(self.hass, {SOURCE_REAUTH}):
                self.hass.config_entries.flow.async_abort(flow["flow_id"])

    @callback
    def report_context(self, owner: str) -> Context:
        """The context of the state changes and events that IP Office's reports about ``owner`` (a user's or queue's
        guid; "" for the system) cause in this loop iteration.

        Home Assistant gives each state write and event that has no context a new one, and the first event of a
        context refers back to it (``Context.origin_event``): a reference cycle per write, which only the garbage
        collector frees, and at a few thousand notifies a second those cycles were most of its work and its longest
        pauses. One context per owner and loop iteration groups what one report changed (the logbook shows it as
        caused by the first event: the ``ipoffice_call`` event of a call) and leaves one such cycle per report.
        """
        contexts = self._report_contexts
        if not contexts:
            self.hass.loop.call_soon(contexts.clear)
        context = contexts.get(owner)
        if context is None:
            context = contexts[owner] = Context()
        return context

    @callback
    def _notify_system(self, context: Context) -> None:
        for listener in list(self._system_listeners):
            listener(context)

    @callback
    def _on_park(self, parked: dict[str, Call]) -> None:
        self._notify_system(self.report_context(""))

    @callback
    def _on_call(self, event: CallEvent) -> None:
        call = event.call
        guid = call.owner_guid
        if not guid:  # a parked call (the park server's): the parked calls sensor follows those, not Active calls
            return
        key = (guid, call.call_id)
        if event.type is CallEventType.ENDED:
            changed = self._active_calls.pop(key, None) is not None
            if key in self._emergency_calls:
                self._emergency_calls.discard(key)
                changed = True
        elif event.type in (CallEventType.MISSED, CallEventType.ABANDONED):
            changed = False  # follows ENDED
        else:
            changed = key not in self._active_calls
            self._active_calls[key] = call.gcid or f"{guid}/{call.call_id}"
            if call.emergency and key not in self._emergency_calls:  # (known once dialled: not always when new)
                self._emergency_calls.add(key)
                changed = True
        context = self.report_context(guid)
        if self._started:
            self._report_call(event, guid, context)
        if changed:
            self._notify_system(context)

    def _report_call(self, event: CallEvent, guid: str, context: Context) -> None:
        """Fire the ``ipoffice_call`` event of a call event of an exposed user or queue, then tell its entities."""
        user = self.client.users.get(guid)
        queue = self.client.queues.get(guid) if user is None else None
        if user is not None and self.user_exposed(guid):
            event_type, owner, extn, name = user_event_type(event), "user", user.extn, user.name
        elif queue is not None and self.queue_exposed(guid):
            event_type, owner, extn, name = queue_event_type(event), "queue", queue.extn, queue.name
        else:
            return
        if event_type is None:
            return
        details = call_details(event)
        if not self.caller_names:
            details["other_party_name"] = None
        device = self.device_of(guid)
        self.hass.bus.async_fire(  # first: the event the changes it causes are logged as caused by
            EVENT_CALL,
            {
                "type": event_type,
                "device_id": device.id if device else None,
                "owner": owner,
                "extension": extn,
                "name": name,
                **details,
            },
            context=context,
        )
        for listener in list(self._call_listeners.get(guid, ())):
            listener(event_type, details, context)

    @callback
    def _on_directory(self, added: list[LineEntry], removed: list[LineEntry], changed: list[LineEntry]) -> None:
        for line in added:
            if self.line_exposed(line):
                self._await_new(line)
        device_registry = dr.async_get(self.hass)
        for line in removed:
            if (unsub := self._pending.pop(line.guid, None)) is not None:
                unsub()
            if device := self.device_of(line.guid):
                LOGGER.debug(
                    "Removing %s %s (%s), gone from IP Office", line.kind, printable(line.extn), printable(line.name)
                )
                device_registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)
        for line in changed:
            if device := self.device_of(line.guid):
                device_registry.async_update_device(device.id, name=line.name, serial_number=line.extn)

    @callback
    def _await_new(self, line: LineEntry) -> None:
        """Add the entities of a new user or queue once its subscription has delivered its first notify."""
        is_user = line.kind is LineKind.USER

        @callback
        def check(_: object = None) -> None:
            owner = (self.client.users if is_user else self.client.queues).get(line.guid)
            if owner is None or not owner.synced:
                return
            if (unsub := self._pending.pop(line.guid, None)) is not None:
                unsub()
            if isinstance(owner, User):
                for users_cb in list(self._user_callbacks):
                    users_cb([owner])
            else:
                for queues_cb in list(self._queue_callbacks):
                    queues_cb([owner])

        if line.guid in self._pending:
            return
        if is_user:
            self._pending[line.guid] = self.client.add_user_listener(check, guid=line.guid)
        else:
            self._pending[line.guid] = self.client.add_queue_listener(check, guid=line.guid)
        check()

    @callback
    def _remove_stale_devices(self) -> None:
        """Remove the devices of users and queues that are gone or no longer exposed."""
        device_registry = dr.async_get(self.hass)
        keep = {self.system_identifier}
        keep.update(guid for guid in self.client.users if self.user_exposed(guid))
        keep.update(guid for guid in self.client.queues if self.queue_exposed(guid))
        for device in dr.async_entries_for_config_entry(device_registry, self.entry.entry_id):
            if not any(domain == DOMAIN and ident in keep for domain, ident in device.identifiers):
                device_registry.async_update_device(device.id, remove_config_entry_id=self.entry.entry_id)

    @callback
    def _remove_caller_name_entities(self) -> None:
        """The entry leaves callers' names out: remove the entities that showed them (see CALLER_NAME_ENTITIES)."""
        registry = er.async_get(self.hass)
        for entity in er.async_entries_for_config_entry(registry, self.entry.entry_id):
            if any(
                entity.domain == platform and entity.unique_id.endswith(f"_{key}")
                for platform, key in CALLER_NAME_ENTITIES
            ):
                registry.async_remove(entity.entity_id)

    @callback
    def _remove_pair_entities(self) -> None:
        """No secondary IP Office (any more): remove the entities that only a pair has."""
        registry = er.async_get(self.hass)
        for platform, key in PAIR_ENTITIES:
            if entity_id := registry.async_get_entity_id(platform, DOMAIN, f"{self.system_identifier}_{key}"):
                registry.async_remove(entity_id)

    def device_is_current(self, device: dr.DeviceEntry) -> bool:
        """Whether a device still stands for something exposed on the IP Office."""
        for domain, ident in device.identifiers:
            if domain != DOMAIN:
                continue
            if ident == self.system_identifier:
                return True
            if (ident in self.client.users and self.user_exposed(ident)) or (
                ident in self.client.queues and self.queue_exposed(ident)
            ):
                return True
        return False
