"""Texts of the Avaya IP Office integration: forwarding destinations and absence text of a user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.text import TextEntity, TextEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import IPOfficeConfigEntry
from .entity import IPOfficeUserEntity, async_command
from .mtcti3 import AbsenceMessage, IPOfficeClient, User, UserFeature
from .mtcti3.const import ABSENCE_TEXT_MAX, TRANSFER_TARGET_MAX
from .mtcti3.validation import check_number, check_text

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class UserTextDescription(TextEntityDescription):
    """A text of a user, offered only when featuresavailable allows changing it.

    ``check`` is the shared rule of the field (:mod:`.mtcti3.validation`) a new value must pass before anything is
    sent, and a ``dialled`` value must be one the entry lets its users dial: as for the action that sets it.
    """

    feature: UserFeature
    value_fn: Callable[[User], str]
    set_fn: Callable[[IPOfficeClient, User, str], Awaitable[None]]
    check: Callable[[str], str]
    dialled: bool = False


def _set_absence(client: IPOfficeClient, user: User, text: str) -> Awaitable[None]:
    if not text:
        return client.set_absence(user, None)
    return client.set_absence(user, AbsenceMessage.CUSTOM, text)


USER_TEXTS: tuple[UserTextDescription, ...] = (
    UserTextDescription(
        key="forward_destination",
        translation_key="forward_destination",
        entity_category=EntityCategory.CONFIG,
        feature=UserFeature.FWDU,
        native_max=TRANSFER_TARGET_MAX,  # a dial string, limited as the client limits it (and transfer targets)
        value_fn=lambda user: user.fwdu_number,
        set_fn=lambda client, user, number: client.set_forward_unconditional(user, user.fwdu, number=number),
        check=lambda number: check_number("destination", number, 0, TRANSFER_TARGET_MAX),
        dialled=True,
    ),
    UserTextDescription(
        key="forward_busy_destination",
        translation_key="forward_busy_destination",
        entity_category=EntityCategory.CONFIG,
        feature=UserFeature.SHORTCODE,  # short code 114
        native_max=TRANSFER_TARGET_MAX,
        value_fn=lambda user: user.fwdb_number,
        set_fn=lambda client, user, number: client.set_forward_busy(user, user.fwdb, number=number),
        check=lambda number: check_number("destination", number, 1, TRANSFER_TARGET_MAX),  # no way to clear it
        dialled=True,
    ),
    UserTextDescription(
        key="absence_text",
        translation_key="absence_text",
        entity_category=EntityCategory.CONFIG,
        feature=UserFeature.ABSENCE,
        native_max=ABSENCE_TEXT_MAX,
        value_fn=lambda user: user.absence.text if user.absence else "",
        set_fn=_set_absence,
        check=lambda text: check_text("text", text, 0, ABSENCE_TEXT_MAX),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the texts of each user."""
    coordinator = entry.runtime_data

    @callback
    def add_users(users: list[User]) -> None:
        async_add_entities(
            IPOfficeUserText(coordinator, description, user)
            for user in users
            for description in USER_TEXTS
            if user.can(description.feature)
        )

    coordinator.async_register_platform(users=add_users)


class IPOfficeUserText(IPOfficeUserEntity, TextEntity):
    """A text of a user."""

    _follows_reports = False  # an action's change is written in the action's context

    entity_description: UserTextDescription

    @property
    def native_value(self) -> str:
        """The value, read from the user's model."""
        return self.entity_description.value_fn(self.user)

    def _shown_value(self) -> Any:
        """The native value: the state and its limit follow from it, and ``TextEntity.state`` validates it anew."""
        return self.native_value

    @property
    def native_max(self) -> int:
        """The limit for a new value, but never below the value IP Office reports (which may be longer)."""
        if not self.available:  # the user is gone: there is no value
            return self.entity_description.native_max
        return max(self.entity_description.native_max, len(self.native_value))

    async def async_set_value(self, value: str) -> None:
        """Change it at the IP Office, once the value passed the field's rule."""
        await async_command(self._set(value))

    async def _set(self, value: str) -> None:
        description = self.entity_description
        description.check(value)
        if description.dialled:
            self.coordinator.check_dialled(value)
        await description.set_fn(self.coordinator.commands, self.user, value)
