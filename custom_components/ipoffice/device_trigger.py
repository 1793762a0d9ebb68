"""Device triggers of the Avaya IP Office integration: the moments of calls, without knowing event payloads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import CONF_DEVICE_ID, CONF_DOMAIN, CONF_EVENT_DATA, CONF_PLATFORM, CONF_TYPE
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, EVENT_CALL

if TYPE_CHECKING:
    import probatio as vol
else:  # Home Assistant 2026.9 and later alias voluptuous to probatio; 2026.3-2026.8 validate with voluptuous itself
    import voluptuous as vol

# Trigger type -> the event type of the ipoffice_call event it listens to.
USER_TRIGGERS: Final = {
    "incoming_call": "incoming",
    "outgoing_call": "outgoing",
    "call_answered": "answered",
    "call_ended": "ended",
    "call_missed": "missed",
}
QUEUE_TRIGGERS: Final = {
    "queue_call_waiting": "queued",
    "queue_call_answered": "answered",
    "queue_call_abandoned": "abandoned",
}
TRIGGER_TYPES: Final = {**USER_TRIGGERS, **QUEUE_TRIGGERS}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend({vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES)})


def _triggers_of(device: dr.DeviceEntry | dr.ChildDeviceEntry | None) -> dict[str, str]:
    model = getattr(device, "model", None)
    if model == "User":
        return USER_TRIGGERS
    if model == "Queue":
        return QUEUE_TRIGGERS
    return {}


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """List the triggers of a user or queue device."""
    device = dr.async_get(hass).async_get(device_id)
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: trigger}
        for trigger in _triggers_of(device)
    ]


async def async_attach_trigger(
    hass: HomeAssistant, config: ConfigType, action: TriggerActionType, trigger_info: TriggerInfo
) -> CALLBACK_TYPE:
    """Listen to the ipoffice_call events of the device with the trigger's event type."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            "event_type": EVENT_CALL,
            CONF_EVENT_DATA: {
                CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                CONF_TYPE: TRIGGER_TYPES[config[CONF_TYPE]],
            },
        }
    )
    return await event_trigger.async_attach_trigger(hass, event_config, action, trigger_info, platform_type="device")
