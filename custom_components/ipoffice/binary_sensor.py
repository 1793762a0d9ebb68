"""Binary sensors of the Avaya IP Office integration: connectivity, emergency calls, logged in, phone fault, hunt
group calls forwarded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import PRIMARY, SECONDARY
from .coordinator import IPOfficeConfigEntry, IPOfficeCoordinator
from .entity import IPOfficeSystemEntity, IPOfficeUserEntity
from .mtcti3 import User

if TYPE_CHECKING:
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
else:  # binary_sensor.const is new in Home Assistant 2026.10; the package has always offered the class
    from homeassistant.components.binary_sensor import BinarySensorDeviceClass

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class UserBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a user."""

    value_fn: Callable[[User], bool]


USER_BINARY_SENSORS: tuple[UserBinarySensorDescription, ...] = (
    UserBinarySensorDescription(
        key="logged_in",
        translation_key="logged_in",
        value_fn=lambda user: not user.logged_off,
    ),
    UserBinarySensorDescription(
        key="phone_fault",
        translation_key="phone_fault",
        device_class=BinarySensorDeviceClass.PROBLEM,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda user: user.extn_fault,
    ),
    UserBinarySensorDescription(
        key="forward_hunt_group",
        translation_key="forward_hunt_group",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda user: user.fwdhg,
    ),
)

# On while an exposed user or queue has an emergency call.
EMERGENCY_CALL = BinarySensorEntityDescription(
    key="emergency_call",
    translation_key="emergency_call",
    device_class=BinarySensorDeviceClass.SAFETY,
)

CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    translation_key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)
# With a secondary IP Office, "connectivity" says whether either system is connected; these say which.
SYSTEM_CONNECTIVITY = (
    BinarySensorEntityDescription(
        key="primary_connectivity",
        translation_key="primary_connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
    BinarySensorEntityDescription(
        key="secondary_connectivity",
        translation_key="secondary_connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """Set up the binary sensors of the system and each user."""
    coordinator = entry.runtime_data
    async_add_entities(
        [
            IPOfficeConnectivitySensor(coordinator, CONNECTIVITY),
            IPOfficeEmergencyCallSensor(coordinator, EMERGENCY_CALL),
        ]
    )
    if coordinator.pair is not None:
        async_add_entities(
            IPOfficeSystemConnectivitySensor(coordinator, description, system)
            for system, description in zip((PRIMARY, SECONDARY), SYSTEM_CONNECTIVITY, strict=True)
        )

    @callback
    def add_users(users: list[User]) -> None:
        async_add_entities(
            IPOfficeUserBinarySensor(coordinator, description, user)
            for user in users
            for description in USER_BINARY_SENSORS
        )

    coordinator.async_register_platform(users=add_users)


class IPOfficeConnectivitySensor(IPOfficeSystemEntity, BinarySensorEntity):
    """Whether the MTCTI-3 connection is up (available even while it is down, to say so)."""

    @property
    def available(self) -> bool:
        """Always available."""
        return True

    @property
    def is_on(self) -> bool:
        """Connected."""
        return self.coordinator.connected


class IPOfficeSystemConnectivitySensor(IPOfficeConnectivitySensor):
    """Whether the connection to the primary or to the secondary IP Office of a pair is up."""

    def __init__(
        self, coordinator: IPOfficeCoordinator, description: BinarySensorEntityDescription, system: str
    ) -> None:
        """Initialise the sensor of ``system``."""
        super().__init__(coordinator, description)
        self.system = system

    @property
    def is_on(self) -> bool:
        """That system is connected."""
        return self.coordinator.client_of(self.system).connected


class IPOfficeEmergencyCallSensor(IPOfficeSystemEntity, BinarySensorEntity):
    """Whether an exposed user or queue has an emergency call (a call IP Office marks as one), and which."""

    @property
    def is_on(self) -> bool:
        """An emergency call is in progress."""
        return bool(self.coordinator.emergency_extensions)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The extensions of the users and queues with an emergency call."""
        return {"extensions": self.coordinator.emergency_extensions}

    async def async_added_to_hass(self) -> None:
        """Follow the system's calls."""
        await super().async_added_to_hass()
        self.async_on_remove(self.coordinator.async_add_system_listener(self._handle_update))


class IPOfficeUserBinarySensor(IPOfficeUserEntity, BinarySensorEntity):
    """A binary sensor of a user."""

    entity_description: UserBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """The state, read from the user's model."""
        return self.entity_description.value_fn(self.user)
