"""Sensors of the Avaya IP Office integration: phone state, calls, voicemail, queue statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CALLER_NAME_ENTITIES, PRIMARY, SECONDARY
from .coordinator import IPOfficeConfigEntry, IPOfficeCoordinator
from .entity import IPOfficeQueueEntity, IPOfficeSystemEntity, IPOfficeUserEntity
from .mtcti3 import Call, CallState, Party, PhoneState, Queue, User

PARALLEL_UPDATES = 0

type StateType = str | int | datetime | None


def current_call(user: User) -> Call | None:
    """The call that matters most now: a connected one, else a ringing one, else any."""
    if len(user.calls) <= 1:  # the common case, on every notify of the user
        return next(iter(user.calls.values()), None)
    calls = sorted(user.calls.values(), key=lambda call: call.started)
    for wanted in (lambda c: c.state is CallState.CONNECTED, lambda c: c.is_ringing):
        for call in calls:
            if wanted(call):
                return call
    return calls[0]


def _other_party(user: User) -> Party | None:
    call = current_call(user)
    return call.other_party if call is not None else None


WITHHELD = "Withheld"  # the other party's number when its caller withheld it


def _other_party_number(user: User) -> str | None:
    party = _other_party(user)
    if party is None:
        return None
    return party.number or (WITHHELD if party.withheld else None)


def _withheld(user: User) -> bool:
    party = _other_party(user)
    return party is not None and party.withheld


def _did(user: User) -> str | None:
    """The number the current call was dialled in on (a trunk call to one of the office's numbers)."""
    call = current_call(user)
    return (call.trunk_did or None) if call is not None else None


@dataclass(frozen=True, kw_only=True)
class UserSensorDescription(SensorEntityDescription):
    """A sensor of a user."""

    value_fn: Callable[[User], StateType]
    attributes_fn: Callable[[User], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class QueueSensorDescription(SensorEntityDescription):
    """A sensor of a queue."""

    value_fn: Callable[[Queue], StateType]


@dataclass(frozen=True, kw_only=True)
class SystemSensorDescription(SensorEntityDescription):
    """A sensor of the system."""

    value_fn: Callable[[IPOfficeCoordinator], StateType]


# What User.phone_state derives from the user's calls and flags (never RECOVER, nor UNKNOWN: a presence's values)
PHONE_STATES = [state.name.lower() for state in PhoneState if state not in (PhoneState.RECOVER, PhoneState.UNKNOWN)]


def _longest_waiting(queue: Queue) -> datetime | None:
    waiting = queue.waiting_calls
    if not waiting or not waiting[0].started:
        return None
    return datetime.fromtimestamp(waiting[0].started, UTC)


USER_SENSORS: tuple[UserSensorDescription, ...] = (
    UserSensorDescription(
        key="phone_state",
        translation_key="phone_state",
        device_class=SensorDeviceClass.ENUM,
        options=PHONE_STATES,
        value_fn=lambda user: user.phone_state.name.lower(),
        attributes_fn=lambda user: {"did": _did(user)},
    ),
    UserSensorDescription(
        key="active_calls",
        translation_key="active_calls",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda user: len(user.calls),
    ),
    UserSensorDescription(
        key="other_party_number",
        translation_key="other_party_number",
        value_fn=_other_party_number,
        attributes_fn=lambda user: {"withheld": _withheld(user), "did": _did(user)},
    ),
    UserSensorDescription(
        key="other_party_name",
        translation_key="other_party_name",
        value_fn=lambda user: (party.name or None) if (party := _other_party(user)) else None,
    ),
    UserSensorDescription(
        key="voicemail_new",
        translation_key="voicemail_new",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda user: user.mailbox.new if user.mailbox else None,
    ),
    UserSensorDescription(
        key="logged_in_extension",
        translation_key="logged_in_extension",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda user: user.logged_in_extn or None,
    ),
)

MISSED_CALLS = SensorEntityDescription(
    key="missed_calls",
    translation_key="missed_calls",
    state_class=SensorStateClass.TOTAL_INCREASING,
)

QUEUE_SENSORS: tuple[QueueSensorDescription, ...] = (
    QueueSensorDescription(
        key="calls_waiting",
        translation_key="calls_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: len(queue.waiting_calls),
    ),
    QueueSensorDescription(
        key="longest_waiting",
        translation_key="longest_waiting",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_longest_waiting,
    ),
    QueueSensorDescription(
        key="agents_available",
        translation_key="agents_available",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: sum(1 for member in queue.members if not member.disabled),
    ),
    QueueSensorDescription(
        key="voicemail_new",
        translation_key="voicemail_new",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda queue: queue.mailbox.new if queue.mailbox else None,
    ),
)

SYSTEM_SENSORS: tuple[SystemSensorDescription, ...] = (
    SystemSensorDescription(
        key="active_calls",
        translation_key="active_calls",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda coordinator: coordinator.active_calls,
    ),
    SystemSensorDescription(
        key="parked_calls",
        translation_key="parked_calls",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda coordinator: len(coordinator.client.parked_calls),
    ),
)


# With a secondary IP Office: which system serves users (and the park server) now.
SERVING_SYSTEM = SystemSensorDescription(
    key="serving_system",
    translation_key="serving_system",
    device_class=SensorDeviceClass.ENUM,
    options=[PRIMARY, SECONDARY],
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda coordinator: coordinator.serving_system,
)


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the sensors of the system, each user and each queue."""
    coordinator = entry.runtime_data
    async_add_entities(IPOfficeSystemSensor(coordinator, description) for description in SYSTEM_SENSORS)
    if coordinator.pair is not None:
        async_add_entities([IPOfficeSystemSensor(coordinator, SERVING_SYSTEM)])

    @callback
    def add_users(users: list[User]) -> None:
        entities: list[SensorEntity] = []
        for user in users:
            entities.extend(
                IPOfficeUserSensor(coordinator, description, user)
                for description in USER_SENSORS
                if coordinator.caller_names or ("sensor", description.key) not in CALLER_NAME_ENTITIES
            )
            entities.append(IPOfficeMissedCallsSensor(coordinator, MISSED_CALLS, user))
        async_add_entities(entities)

    @callback
    def add_queues(queues: list[Queue]) -> None:
        async_add_entities(
            IPOfficeQueueSensor(coordinator, description, queue) for queue in queues for description in QUEUE_SENSORS
        )

    coordinator.async_register_platform(add_users, add_queues)


class IPOfficeUserSensor(IPOfficeUserEntity, SensorEntity):
    """A sensor of a user."""

    entity_description: UserSensorDescription

    @property
    def native_value(self) -> StateType:
        """The state, read from the user's model."""
        return self.entity_description.value_fn(self.user)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the sensor tells beside its state (of the user's current call), when it has any."""
        attributes_fn = self.entity_description.attributes_fn
        return None if attributes_fn is None else attributes_fn(self.user)

    def _shown_value(self) -> Any:
        """The native value: the formatted state follows from it and costs more to compute."""
        return self.native_value


class IPOfficeQueueSensor(IPOfficeQueueEntity, SensorEntity):
    """A sensor of a queue."""

    entity_description: QueueSensorDescription

    @property
    def native_value(self) -> StateType:
        """The state, read from the queue's model."""
        return self.entity_description.value_fn(self.queue)

    def _shown_value(self) -> Any:
        """The native value: the formatted state follows from it and costs more to compute."""
        return self.native_value


class IPOfficeSystemSensor(IPOfficeSystemEntity, SensorEntity):
    """A sensor of the system."""

    entity_description: SystemSensorDescription

    @property
    def native_value(self) -> StateType:
        """The state, counted by the coordinator."""
        return self.entity_description.value_fn(self.coordinator)

    def _shown_value(self) -> Any:
        """The native value: the formatted state follows from it and costs more to compute."""
        return self.native_value

    async def async_added_to_hass(self) -> None:
        """Follow the system counters."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_system_listener(self._handle_update))


class IPOfficeMissedCallsSensor(IPOfficeUserEntity, RestoreSensor):
    """Calls to the user that ended unanswered, counted since the entity was created (kept over restarts)."""

    _attr_native_value: int = 0

    async def async_added_to_hass(self) -> None:
        """Restore the count and follow the user's calls."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_sensor_data()) is not None and isinstance(
            last.native_value, (int, float)
        ):
            self._attr_native_value = int(last.native_value)
        self.async_on_remove(self.coordinator.async_add_call_listener(self.guid, self._on_call))

    @callback
    def _on_call(self, event_type: str, details: dict[str, Any], context: Context) -> None:
        if event_type == "missed":
            self._attr_native_value += 1
            self.async_set_context(context)
            self.async_write_ha_state()
