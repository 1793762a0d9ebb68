"""Base entities of the Avaya IP Office integration: the system, a user and a queue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary, ref

from homeassistant.core import Context, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import CORE_ENTITIES, DOMAIN
from .coordinator import IPOfficeCoordinator
from .mtcti3 import (
    CommandValidationError,
    FeatureNotAvailableError,
    MTCTI3Error,
    NotConnectedError,
    Queue,
    RequestTimeoutError,
    ResultError,
    User,
)


async def async_command[T](awaitable: Awaitable[T]) -> T:
    """Run a client command, turning its errors into translated Home Assistant errors."""
    try:
        return await awaitable
    except FeatureNotAvailableError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="feature_not_available",
            translation_placeholders={"error": str(err)},
        ) from err
    except CommandValidationError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_value",
            translation_placeholders={"field": err.field, "limit": err.limit},
        ) from err
    except NotConnectedError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="not_connected") from err
    except RequestTimeoutError as err:
        raise HomeAssistantError(translation_domain=DOMAIN, translation_key="request_timeout") from err
    except ResultError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"error": err.meaning, "code": str(int(err.code))},
        ) from err
    except MTCTI3Error as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN, translation_key="command_error", translation_placeholders={"error": str(err)}
        ) from err


class _UpdateBatch:
    """The state checks of one coordinator's user and queue entities, batched per event loop iteration.

    A user's notify reaches every entity of that user (about a dozen). Instead of a client listener per entity,
    each user or queue has one listener that marks its entities dirty; one ``call_soon`` per loop iteration then
    checks each dirty entity once and writes the states that changed. Several notifies of one user handled in the
    same iteration (a burst of frames read at once, a call change and a NotifyUser) cost one check per entity.
    """

    def __init__(self, coordinator: IPOfficeCoordinator) -> None:
        self._loop = coordinator.hass.loop
        self._coordinator = ref(coordinator)  # weak: the batches are kept per coordinator in a WeakKeyDictionary
        self._groups: dict[tuple[str, str], list[IPOfficeEntity]] = {}
        self._unlisten: dict[tuple[str, str], Callable[[], None]] = {}
        self._dirty: dict[tuple[str, str], Context] = {}  # ordered: the context of the report that changed it
        self._scheduled = False

    def add(self, entity: IPOfficeEntity, kind: str, guid: str, listen: Callable[..., Callable[[], None]]) -> None:
        key = (kind, guid)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = []

            @callback
            def mark(*_: Any) -> None:
                if (coordinator := self._coordinator()) is None:  # pragma: no cover - the client goes with it
                    return
                self._dirty[key] = coordinator.report_context(guid)
                if not self._scheduled:
                    self._scheduled = True
                    self._loop.call_soon(self._flush)

            self._unlisten[key] = listen(mark, guid=guid)
        group.append(entity)

    def remove(self, entity: IPOfficeEntity, kind: str, guid: str) -> None:
        key = (kind, guid)
        group = self._groups[key]  # removed once, by the entity's own async_on_remove
        group.remove(entity)
        if not group:
            del self._groups[key]
            self._dirty.pop(key, None)
            self._unlisten.pop(key)()

    @callback
    def _flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, {}
        for key, context in dirty.items():
            for entity in list(self._groups.get(key, ())):
                entity._handle_update(context)


_BATCHES: WeakKeyDictionary[IPOfficeCoordinator, _UpdateBatch] = WeakKeyDictionary()


def _batch(coordinator: IPOfficeCoordinator) -> _UpdateBatch:
    batch = _BATCHES.get(coordinator)
    if batch is None:
        batch = _BATCHES[coordinator] = _UpdateBatch(coordinator)
    return batch


class IPOfficeEntity(Entity):
    """An entity of an IP Office: unavailable while the connection is down."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _last_shown: tuple[bool, Any, Any] | None = None  # what _handle_update last wrote
    # Writes in the context of the IP Office report that changed it. Not for the entities Home Assistant's actions
    # control (switches, selects, texts): their change is written in the context of the action that asked for it.
    _follows_reports = True

    def __init__(self, coordinator: IPOfficeCoordinator, description: EntityDescription) -> None:
        """Initialise the entity."""
        self.coordinator = coordinator
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Available while connected."""
        return self.coordinator.connected

    async def async_added_to_hass(self) -> None:
        """Follow the connection."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_connection_listener(self._handle_update))

    @callback
    def _handle_update(self, context: Context | None = None) -> None:
        """Write the state when what the entity shows changed, as caused by ``context`` (an IP Office report's:
        see ``IPOfficeCoordinator.report_context``; None: Home Assistant's own, e.g. when the connection drops).

        A user's notify reaches every entity of that user (about a dozen), and most notifies change one or two of
        them: comparing availability, state and extra attributes first saves Home Assistant a state write (and a
        state_reported event) per unchanged entity.
        """
        available = self.available
        shown = (available, self._shown_value(), self.extra_state_attributes) if available else (False, None, None)
        if shown == self._last_shown:
            return
        self._last_shown = shown
        if context is not None and self._follows_reports:
            self.async_set_context(context)
        self.async_write_ha_state()

    def _shown_value(self) -> Any:
        """What the state is computed from (sensors: the native value, cheaper than the formatted state)."""
        return self.state


class IPOfficeDeviceEntity(IPOfficeEntity):
    """An entity of a user or queue device: only its core entities are enabled by default on a large entry."""

    def __init__(self, coordinator: IPOfficeCoordinator, description: EntityDescription) -> None:
        """Initialise the entity; on a large entry, create all but the core entities disabled."""
        super().__init__(coordinator, description)
        if coordinator.core_entities_only and description.key not in CORE_ENTITIES:
            self._attr_entity_registry_enabled_default = False


class IPOfficeSystemEntity(IPOfficeEntity):
    """An entity of the system device."""

    def __init__(self, coordinator: IPOfficeCoordinator, description: EntityDescription) -> None:
        """Initialise the entity."""
        super().__init__(coordinator, description)
        self._attr_unique_id = f"{coordinator.system_identifier}_{description.key}"
        self._attr_device_info = coordinator.system_device_info


class IPOfficeUserEntity(IPOfficeDeviceEntity):
    """An entity of a user device, updated by that user's notifies only."""

    def __init__(self, coordinator: IPOfficeCoordinator, description: EntityDescription, user: User) -> None:
        """Initialise the entity."""
        super().__init__(coordinator, description)
        self.guid = user.guid
        self._attr_unique_id = f"{user.guid}_{description.key}"
        self._attr_device_info = coordinator.user_device_info(user)

    @property
    def user(self) -> User:
        """The current model of the user."""
        return self.coordinator.client.users[self.guid]

    @property
    def available(self) -> bool:
        """Available while connected and subscribed."""
        return super().available and self.guid in self.coordinator.client.users

    async def async_added_to_hass(self) -> None:
        """Follow the user (checked once per loop iteration, see ``_UpdateBatch``)."""
        await super().async_added_to_hass()
        batch = _batch(self.coordinator)
        batch.add(self, "user", self.guid, self.coordinator.client.add_user_listener)
        self.async_on_remove(lambda: batch.remove(self, "user", self.guid))


class IPOfficeQueueEntity(IPOfficeDeviceEntity):
    """An entity of a queue device, updated by that queue's notifies only."""

    def __init__(self, coordinator: IPOfficeCoordinator, description: EntityDescription, queue: Queue) -> None:
        """Initialise the entity."""
        super().__init__(coordinator, description)
        self.guid = queue.guid
        self._attr_unique_id = f"{queue.guid}_{description.key}"
        self._attr_device_info = coordinator.queue_device_info(queue)

    @property
    def queue(self) -> Queue:
        """The current model of the queue."""
        return self.coordinator.client.queues[self.guid]

    @property
    def available(self) -> bool:
        """Available while connected and subscribed."""
        return super().available and self.guid in self.coordinator.client.queues

    async def async_added_to_hass(self) -> None:
        """Follow the queue (checked once per loop iteration, see ``_UpdateBatch``)."""
        await super().async_added_to_hass()
        batch = _batch(self.coordinator)
        batch.add(self, "queue", self.guid, self.coordinator.client.add_queue_listener)
        self.async_on_remove(lambda: batch.remove(self, "queue", self.guid))
