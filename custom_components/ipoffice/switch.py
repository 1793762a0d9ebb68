"""Switches of the Avaya IP Office integration: do not disturb, forwarding, twinning, queue service, members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import IPOfficeConfigEntry, IPOfficeCoordinator
from .entity import IPOfficeQueueEntity, IPOfficeUserEntity, async_command
from .mtcti3 import IPOfficeClient, Queue, ServiceMode, User, UserFeature
from .mtcti3.models import LineKind

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class UserSwitchDescription(SwitchEntityDescription):
    """A switch of a user, offered only when featuresavailable allows changing it."""

    feature: UserFeature
    value_fn: Callable[[User], bool]
    set_fn: Callable[[IPOfficeClient, User, bool], Awaitable[None]]


USER_SWITCHES: tuple[UserSwitchDescription, ...] = (
    UserSwitchDescription(
        key="do_not_disturb",
        translation_key="do_not_disturb",
        feature=UserFeature.SAC,
        value_fn=lambda user: user.dnd,
        set_fn=lambda client, user, on: client.set_dnd(user, on),
    ),
    UserSwitchDescription(
        key="forward_unconditional",
        translation_key="forward_unconditional",
        feature=UserFeature.FWDU,
        value_fn=lambda user: user.fwdu,
        set_fn=lambda client, user, on: client.set_forward_unconditional(user, on),
    ),
    UserSwitchDescription(
        key="forward_busy",
        translation_key="forward_busy",
        feature=UserFeature.SHORTCODE,  # short codes 2 and 3
        value_fn=lambda user: user.fwdb,
        set_fn=lambda client, user, on: client.set_forward_busy(user, on),
    ),
    UserSwitchDescription(
        key="forward_no_answer",
        translation_key="forward_no_answer",
        feature=UserFeature.SHORTCODE,  # short codes 4 and 5
        value_fn=lambda user: user.fwdna,
        set_fn=lambda client, user, on: client.set_forward_no_answer(user, on),
    ),
    UserSwitchDescription(
        key="forward_to_voicemail",
        translation_key="forward_to_voicemail",
        feature=UserFeature.FWDU,
        value_fn=lambda user: user.fwd_to_voicemail,
        set_fn=lambda client, user, on: client.set_forward_unconditional(user, user.fwdu, to_voicemail=on),
    ),
    UserSwitchDescription(
        key="mobile_twinning",
        translation_key="mobile_twinning",
        feature=UserFeature.EC500,
        value_fn=lambda user: user.ec500,
        set_fn=lambda client, user, on: client.set_mobile_twinning(user, on),
    ),
)

IN_SERVICE = SwitchEntityDescription(key="in_service", translation_key="in_service")


def member_unique_id(queue_guid: str, extn: str) -> str:
    """The unique id of the switch of a queue member."""
    return f"{queue_guid}_member_{extn}"


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the switches of each user and each queue."""
    coordinator = entry.runtime_data

    @callback
    def add_users(users: list[User]) -> None:
        async_add_entities(
            IPOfficeUserSwitch(coordinator, description, user)
            for user in users
            for description in USER_SWITCHES
            if user.can(description.feature)
        )

    @callback
    def add_queues(queues: list[Queue]) -> None:
        async_add_entities(IPOfficeQueueServiceSwitch(coordinator, IN_SERVICE, queue) for queue in queues)
        for queue in queues:
            _track_members(hass, coordinator, queue, async_add_entities)

    coordinator.async_register_platform(add_users, add_queues)


@callback
def _track_members(
    hass: HomeAssistant,
    coordinator: IPOfficeCoordinator,
    queue: Queue,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a switch per member of the queue, and add and remove them as the membership changes."""
    known: set[str] = set()
    guid = queue.guid

    @callback
    def update(_: object = None) -> None:
        current = coordinator.client.queues.get(guid)
        if current is None:
            return
        members = {member.extn for member in current.members}
        if new := members - known:
            known.update(new)
            async_add_entities(IPOfficeQueueMemberSwitch(coordinator, current, extn) for extn in sorted(new))
        if gone := known - members:
            known.difference_update(gone)
            registry = er.async_get(hass)
            for extn in gone:
                if entity_id := registry.async_get_entity_id("switch", DOMAIN, member_unique_id(guid, extn)):
                    registry.async_remove(entity_id)

    update()
    coordinator.entry.async_on_unload(coordinator.client.add_queue_listener(update, guid=guid))


class IPOfficeUserSwitch(IPOfficeUserEntity, SwitchEntity):
    """A switch of a user."""

    _follows_reports = False  # an action's change is written in the action's context

    entity_description: UserSwitchDescription

    @property
    def is_on(self) -> bool:
        """The state, read from the user's model."""
        return self.entity_description.value_fn(self.user)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn it on at the IP Office."""
        await async_command(self.entity_description.set_fn(self.coordinator.commands, self.user, True))

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn it off at the IP Office."""
        await async_command(self.entity_description.set_fn(self.coordinator.commands, self.user, False))


class IPOfficeQueueServiceSwitch(IPOfficeQueueEntity, SwitchEntity):
    """Whether the queue is in service (off puts it out of service)."""

    _follows_reports = False  # an action's change is written in the action's context

    @property
    def is_on(self) -> bool:
        """In service."""
        return self.queue.service_mode is ServiceMode.ACTIVE

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Put the queue in service."""
        await async_command(self.coordinator.commands.set_queue_service_mode(self.queue, ServiceMode.ACTIVE))

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Put the queue out of service."""
        await async_command(self.coordinator.commands.set_queue_service_mode(self.queue, ServiceMode.OUT_OF_SERVICE))


class IPOfficeQueueMemberSwitch(IPOfficeQueueEntity, SwitchEntity):
    """Whether a member of the queue is enabled (takes calls of the queue)."""

    _follows_reports = False  # an action's change is written in the action's context

    def __init__(self, coordinator: IPOfficeCoordinator, queue: Queue, extn: str) -> None:
        """Initialise the switch of member ``extn``."""
        super().__init__(
            coordinator,
            SwitchEntityDescription(
                key=f"member_{extn}",
                translation_key="queue_member",
                entity_category=EntityCategory.CONFIG,
            ),
            queue,
        )
        self.extn = extn
        line = coordinator.line_of(extn, LineKind.USER)
        name = "" if line is None else line.name
        self._attr_translation_placeholders = {"member": f"{extn} {name}".strip()}

    @property
    def available(self) -> bool:
        """Available while the extension is a member."""
        return super().available and any(member.extn == self.extn for member in self.queue.members)

    @property
    def is_on(self) -> bool:
        """The member is enabled."""
        return any(member.extn == self.extn and not member.disabled for member in self.queue.members)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Enable the member."""
        await self._set_enabled(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Disable the member."""
        await self._set_enabled(False)

    async def _set_enabled(self, enabled: bool) -> None:
        """Enable or disable the member: only a user the entry exposes (the switch of another shows its state)."""
        self.coordinator.check_member_exposed(self.extn, self.queue.name)
        await async_command(self.coordinator.commands.set_queue_member_enabled(self.queue, self.extn, enabled))
