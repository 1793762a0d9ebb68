"""Diagnostics of the Avaya IP Office integration (secrets and personal data of the public redacted)."""

from __future__ import annotations

import dataclasses
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import (
    CONF_AUTH_CODES,
    CONF_CALLER_NAMES,
    CONF_DIALLING,
    CONF_FEATURE_CODES,
    CONF_QUEUES,
    CONF_USERS,
    DIAL_ANY,
    DOMAIN,
    PRIMARY,
    SECONDARY,
)
from .coordinator import IPOfficeConfigEntry, IPOfficeCoordinator

TO_REDACT = {CONF_PASSWORD, CONF_USERNAME}
# Fields that may hold a number of the public (a caller, a forwarding destination, a teleworker's phone, a party's
# subaddress): redacted unless an extension.
NUMBER_FIELDS = {
    "number",
    "called_party",
    "fwdu_number",
    "fwdb_number",
    "trunk_did",
    "queue_overflow_number",
    "subaddress",
    "teleworker",
}
# Personal fields: redacted when set. A call's tag and account code (fields of a Call only) say who or what the
# call is about; email is the user's or queue's address; a user's absence text (``text`` of its Absence, the only
# field of that name) and application presence text often hold a phone number or whereabouts.
PERSONAL_FIELDS = {"email", "tag", "account_code", "text", "app"}
# Fields whose value is a Party (or a list of them): of a Call, and ``party`` of a ConferenceMember. A party's name
# is that of a caller or callee (a third party) and is redacted; the owner's own ``name``/``fullname`` (User, Queue)
# is not in a party and stays.
PARTY_FIELDS = {"calling_party", "connected_party", "original_called_party", "targets", "party"}
PARTY_PERSONAL_FIELDS = {"name"}


def _redact_numbers(value: Any, extensions: set[str], *, party: bool = False) -> Any:
    """Redact numbers that are not extensions of the system, personal fields and the names of parties.

    ``value`` is what ``dataclasses.asdict`` makes of a model; ``party``: ``value`` is a Party (or a list of them).
    """
    if isinstance(value, dict):
        result: dict[Any, Any] = {}
        for key, item in value.items():
            if ((key in PERSONAL_FIELDS or (party and key in PARTY_PERSONAL_FIELDS)) and item) or (
                key in NUMBER_FIELDS and isinstance(item, str) and item and item not in extensions
            ):
                result[key] = REDACTED
            else:
                result[key] = _redact_numbers(item, extensions, party=key in PARTY_FIELDS)
        return result
    if isinstance(value, (list, tuple)):
        return [_redact_numbers(item, extensions, party=party) for item in value]
    return value


def _extensions(coordinator: IPOfficeCoordinator) -> set[str]:
    return {line.extn for line in coordinator.client.directory.values()}


def _connection(coordinator: IPOfficeCoordinator) -> dict[str, Any]:
    """The state of the connection (of each system's, with a secondary IP Office, and which one serves users)."""
    connection: dict[str, Any] = {
        "state": str(coordinator.client_of(PRIMARY).state),
        "connected": coordinator.connected,
    }
    if coordinator.pair is not None:
        secondary = coordinator.client_of(SECONDARY)
        connection |= {
            "secondary_state": str(secondary.state),
            "secondary_version": secondary.system.version,
            "serving": coordinator.serving_system,
        }
    return connection


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: IPOfficeConfigEntry) -> dict[str, Any]:
    """Diagnostics of the entry: the connection, the system and what is exposed."""
    coordinator = entry.runtime_data
    client = coordinator.client
    options = entry.options
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": {
                "users": "all" if CONF_USERS not in options else len(options[CONF_USERS]),
                "queues": "all" if CONF_QUEUES not in options else len(options[CONF_QUEUES]),
                "dialling": options.get(CONF_DIALLING, DIAL_ANY),
                "feature_codes": options.get(CONF_FEATURE_CODES, False),
                "caller_names": options.get(CONF_CALLER_NAMES, True),
                "auth_codes": len(options.get(CONF_AUTH_CODES, {})),  # how many: never their names or codes
            },
        },
        "connection": _connection(coordinator),
        "system": dataclasses.asdict(client.system),
        "directory": {
            "users": sum(1 for line in client.directory.values() if line.kind == "user"),
            "queues": sum(1 for line in client.directory.values() if line.kind == "queue"),
        },
        "subscribed": {"users": len(client.users), "queues": len(client.queues)},
        "active_calls": coordinator.active_calls,
        "parked_calls": len(client.parked_calls),
        # what IP Office sent that this version does not know: message type -> field number -> times
        "unknown_fields": coordinator.unknown_fields,
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: IPOfficeConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Diagnostics of a user or a queue: its model as IP Office reports it."""
    coordinator = entry.runtime_data
    client = coordinator.client
    for domain, ident in device.identifiers:
        if domain != DOMAIN:
            continue
        owner = client.users.get(ident) or client.queues.get(ident)
        if owner is not None:
            return {
                "kind": "user" if ident in client.users else "queue",
                "model": _redact_numbers(dataclasses.asdict(owner), _extensions(coordinator)),
            }
    return await async_get_config_entry_diagnostics(hass, entry)
