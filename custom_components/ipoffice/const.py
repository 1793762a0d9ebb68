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
# What the actions and texts of an entry let a Home Assistant user dial (make_call, transfers, forwarding...): the
# extensions of exposed users and queues, any extension of the system, or any number (the default, as any phone).
# Feature codes (numbers with * or #, such as *32*N# to pick up N's call) are a choice of their own, off by default.
CONF_DIALLING: Final = "dialling"
DIAL_EXPOSED: Final = "exposed"
DIAL_INTERNAL: Final = "internal"
DIAL_ANY: Final = "any"
DIALLING_SCOPES: Final = (DIAL_EXPOSED, DIAL_INTERNAL, DIAL_ANY)
CONF_FEATURE_CODES: Final = "feature_codes"
# Authorization codes kept in the entry's options, by name: actions name a code (auth_code_name) instead of carrying
# it, so that it stays out of the action data Home Assistant records.
CONF_AUTH_CODES: Final = "auth_codes"
# Whether the names of the other parties of calls (callers' names as IP Office reports them) are shown: in the user's
# Other party name sensor, the call events and the logbook, which every Home Assistant user can read. On by default.
CONF_CALLER_NAMES: Final = "caller_names"
# The entities that show a caller's name: not created (and removed) when an entry leaves names out.
CALLER_NAME_ENTITIES: Final = (("sensor", "other_party_name"),)
AUTH_CODE_NAME_MAX: Final = 32
# The identifier of the system device: the first unique id of the entry (kept when a renewed certificate changes it).
CONF_SYSTEM_ID: Final = "system_id"
# An optional secondary IP Office of a resilient pair (the spec's "Resilient solutions"): its address and the trust
# in its own certificate; it shares the primary's service user.
CONF_SECONDARY: Final = "secondary"  # the config flow's section
CONF_SECONDARY_HOST: Final = "secondary_host"
CONF_SECONDARY_PORT: Final = "secondary_port"
CONF_SECONDARY_TLS_MODE: Final = "secondary_tls_mode"
CONF_SECONDARY_FINGERPRINT: Final = "secondary_fingerprint"
PRIMARY: Final = "primary"
SECONDARY: Final = "secondary"

TLS_VERIFY: Final = "verify"
TLS_PINNED: Final = "pinned"
TLS_INSECURE: Final = "insecure"

# Above this many users the config flow asks which users to expose instead of exposing all of them.
LARGE_SYSTEM_USERS: Final = 50
# Home Assistant enables at most 10,000 entities per config entry. An entry that exposes more users than this creates
# only the core entities of each user and queue enabled, the others disabled (a user can enable them); a smaller
# entry (about 15 entities per user) has them all enabled.
CORE_ENTITIES_ABOVE_USERS: Final = 200
CORE_ENTITIES: Final = frozenset({"phone_state", "do_not_disturb", "call", "calls_waiting", "service_mode"})

EVENT_CALL: Final = "ipoffice_call"

ISSUE_TOO_MANY_CONNECTIONS: Final = "too_many_connections"
ISSUE_SERVICE_REFUSED: Final = "service_refused"
ISSUE_CERTIFICATE_CHANGED: Final = "certificate_changed"
ISSUE_UNKNOWN_FIELDS: Final = "unknown_fields"
"""IP Office sent data this version does not understand (once per entry: its id ends with the entry's id)."""
TROUBLESHOOTING_URL: Final = "https://github.com/ipoffice-ha/ipoffice#troubleshooting"
ISSUE_TOO_MANY_LINES: Final = "too_many_lines"  # Lines listed more users or queues than the client accepts

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
