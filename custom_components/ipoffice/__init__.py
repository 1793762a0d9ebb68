"""The Avaya IP Office integration: users, queues and calls of an IP Office over MTCTI-3."""

from __future__ import annotations

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_FINGERPRINT,
    CONF_QUEUES,
    CONF_SECONDARY_FINGERPRINT,
    CONF_SECONDARY_HOST,
    CONF_SECONDARY_PORT,
    CONF_SECONDARY_TLS_MODE,
    CONF_TLS_MODE,
    CONF_USERS,
    DOMAIN,
    PLATFORMS,
    PRIMARY,
    TLS_PINNED,
)
from .coordinator import (
    IPOfficeConfigEntry,
    IPOfficeCoordinator,
    async_create_repair_issue,
    repair_issue_of,
    unknown_fields_issue_id,
)
from .mtcti3 import (
    AuthenticationError,
    FingerprintMismatchError,
    IPOfficeClient,
    MTCTI3Error,
    ServiceRefusedError,
    TLSMode,
    TooManyConnectionsError,
)
from .mtcti3.pair import PairClient
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

__all__ = ["DOMAIN", "IPOfficeConfigEntry"]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: register its actions (once, whatever the number of entries)."""
    async_setup_services(hass)
    return True


def create_client(hass: HomeAssistant, entry: IPOfficeConfigEntry) -> IPOfficeClient | PairClient:
    """Create the MTCTI-3 client of an entry (a pair of them with a secondary), on Home Assistant's web session."""
    data = entry.data
    users = entry.options.get(CONF_USERS)
    queues = entry.options.get(CONF_QUEUES)

    def client(host_key: str, port_key: str, tls_key: str, fingerprint_key: str) -> IPOfficeClient:
        mode = TLSMode(data.get(tls_key, TLS_PINNED))
        return IPOfficeClient(
            data[host_key],
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            port=data[port_key],
            session=async_get_clientsession(hass),
            tls=mode,
            fingerprint=data.get(fingerprint_key) if mode is TLSMode.PINNED else None,
            users=None if users is None else set(users),
            queues=None if queues is None else set(queues),
        )

    primary = client(CONF_HOST, CONF_PORT, CONF_TLS_MODE, CONF_FINGERPRINT)
    if not data.get(CONF_SECONDARY_HOST):
        return primary
    secondary = client(CONF_SECONDARY_HOST, CONF_SECONDARY_PORT, CONF_SECONDARY_TLS_MODE, CONF_SECONDARY_FINGERPRINT)
    return PairClient(primary, secondary)


def _setup_error(err: MTCTI3Error, host: str) -> HomeAssistantError:
    """What Home Assistant should do about a failed first connection: reauth, give up, or retry later."""
    placeholders = {"host": host}
    if isinstance(err, AuthenticationError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth", translation_placeholders=placeholders
        )
    if isinstance(err, FingerprintMismatchError):
        return ConfigEntryError(
            translation_domain=DOMAIN, translation_key="certificate_changed", translation_placeholders=placeholders
        )
    if isinstance(err, TooManyConnectionsError):
        return ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="too_many_connections", translation_placeholders=placeholders
        )
    if isinstance(err, ServiceRefusedError):
        return ConfigEntryNotReady(
            translation_domain=DOMAIN, translation_key="service_refused", translation_placeholders=placeholders
        )
    return ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="cannot_connect",
        translation_placeholders={**placeholders, "error": str(err)},
    )


async def async_setup_entry(hass: HomeAssistant, entry: IPOfficeConfigEntry) -> bool:
    """Connect to the IP Office and set up its devices and entities."""
    coordinator = IPOfficeCoordinator(hass, entry, create_client(hass, entry))
    try:
        await coordinator.async_start()
    except MTCTI3Error as err:
        await coordinator.async_stop()
        if (issue := repair_issue_of(err)) is not None:
            async_create_repair_issue(hass, entry, issue, PRIMARY)
        raise _setup_error(err, entry.data[CONF_HOST]) from err
    entry.runtime_data = coordinator
    system_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **coordinator.system_device_info
    )
    coordinator.system_device_id = system_device.id
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: IPOfficeConfigEntry) -> bool:
    """Unload the entities and disconnect."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: IPOfficeConfigEntry) -> None:
    """The entry is deleted: so is its repair issue about data its IP Office sent that this version does not
    understand (kept until then, so that dismissing it lasts across reloads)."""
    ir.async_delete_issue(hass, DOMAIN, unknown_fields_issue_id(entry.entry_id))


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow removing a device only when it no longer stands for an exposed user or queue."""
    return not entry.runtime_data.device_is_current(device)
