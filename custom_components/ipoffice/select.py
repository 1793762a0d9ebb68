"""Selects of the Avaya IP Office integration: the service mode of a queue."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IPOfficeConfigEntry
from .entity import IPOfficeQueueEntity, async_command
from .mtcti3 import Queue, ServiceMode

PARALLEL_UPDATES = 1

SERVICE_MODES: dict[str, ServiceMode] = {
    "in_service": ServiceMode.ACTIVE,
    "night_service": ServiceMode.NIGHT_SERVICE,
    "out_of_service": ServiceMode.OUT_OF_SERVICE,
}
OPTIONS_BY_MODE = {mode: option for option, mode in SERVICE_MODES.items()}

SERVICE_MODE = SelectEntityDescription(key="service_mode", translation_key="service_mode", options=list(SERVICE_MODES))


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the service mode select of each queue."""
    coordinator = entry.runtime_data

    @callback
    def add_queues(queues: list[Queue]) -> None:
        async_add_entities(IPOfficeServiceModeSelect(coordinator, SERVICE_MODE, queue) for queue in queues)

    coordinator.async_register_platform(queues=add_queues)


class IPOfficeServiceModeSelect(IPOfficeQueueEntity, SelectEntity):
    """The service mode of a queue: in service, night service or out of service."""

    _follows_reports = False  # an action's change is written in the action's context

    @property
    def current_option(self) -> str | None:
        """The current mode (None until IP Office tells it)."""
        return OPTIONS_BY_MODE.get(self.queue.service_mode)

    async def async_select_option(self, option: str) -> None:
        """Change the service mode."""
        await async_command(self.coordinator.commands.set_queue_service_mode(self.queue, SERVICE_MODES[option]))
