"""Event entities of the Avaya IP Office integration: the moments of the calls of a user or a queue."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import QUEUE_EVENT_TYPES, USER_EVENT_TYPES
from .coordinator import IPOfficeConfigEntry
from .entity import IPOfficeDeviceEntity, IPOfficeQueueEntity, IPOfficeUserEntity
from .mtcti3 import Queue, User

PARALLEL_UPDATES = 0

USER_CALL = EventEntityDescription(key="call", translation_key="user_call", event_types=USER_EVENT_TYPES)
QUEUE_CALL = EventEntityDescription(key="call", translation_key="queue_call", event_types=QUEUE_EVENT_TYPES)


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the call event entity of each user and each queue."""
    coordinator = entry.runtime_data

    @callback
    def add_users(users: list[User]) -> None:
        async_add_entities(IPOfficeUserCallEvent(coordinator, USER_CALL, user) for user in users)

    @callback
    def add_queues(queues: list[Queue]) -> None:
        async_add_entities(IPOfficeQueueCallEvent(coordinator, QUEUE_CALL, queue) for queue in queues)

    coordinator.async_register_platform(add_users, add_queues)


class IPOfficeCallEvent(IPOfficeDeviceEntity, EventEntity):
    """The calls of a user or a queue, one event per reported moment (see the coordinator's call listeners)."""

    guid: str  # set by the user or queue entity

    def _shown_value(self) -> Any:
        """Nothing but availability: the state (the last event) is written by ``_on_call`` itself."""
        return None

    async def async_added_to_hass(self) -> None:
        """Follow the calls of the user or queue."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_call_listener(self.guid, self._on_call))

    @callback
    def _on_call(self, event_type: str, details: dict[str, Any], context: Context) -> None:
        self._trigger_event(event_type, details)
        self.async_set_context(context)
        self.async_write_ha_state()


class IPOfficeUserCallEvent(IPOfficeUserEntity, IPOfficeCallEvent):
    """The calls of a user: incoming, outgoing, answered, held, resumed, transferred, ended, missed."""


class IPOfficeQueueCallEvent(IPOfficeQueueEntity, IPOfficeCallEvent):
    """The calls of a queue: queued, answered, abandoned, ended."""
