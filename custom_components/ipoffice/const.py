"""Constants of the Avaya IP Office integration."""

from __future__ import annotations

import logging
from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "ipoffice"
LOGGER: Final = logging.getLogger(__package__)

MANUFACTURER: Final = "Avaya"
DEFAULT_PORT: Final = 443

CONF_TLS_MODE: Final = "tls_mode"
CONF_FINGERPRINT: Final = "fingerprint"
CONF_USERS: Final = "users"
CONF_QUEUES: Final = "queues"
CONF_ALL_USERS: Final = "all_users"
CONF_ALL_QUEUES: Final = "all_queues"
# The identifier of the system device: the first unique id of the entry (kept when a renewed certificate changes it).
CONF_SYSTEM_ID: Final = "system_id"

TLS_VERIFY: Final = "verify"
TLS_PINNED: Final = "pinned"
TLS_INSECURE: Final = "insecure"

# Above this many users the config flow asks which users to expose instead of exposing all of them.
LARGE_SYSTEM_USERS: Final = 50

EVENT_CALL: Final = "ipoffice_call"

ISSUE_TOO_MANY_CONNECTIONS: Final = "too_many_connections"
ISSUE_SERVICE_REFUSED: Final = "service_refused"
ISSUE_CERTIFICATE_CHANGED: Final = "certificate_changed"

PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
]

# Event types of the user and queue event entities (and of the ipoffice_call bus event).
USER_EVENT_TYPES: Final = [
    "incoming",
    "outgoing",
    "answered",
    "held",
    "resumed",
    "transferred",
    "ended",
    "missed",
]
QUEUE_EVENT_TYPES: Final = ["queued", "answered", "abandoned", "ended"]
