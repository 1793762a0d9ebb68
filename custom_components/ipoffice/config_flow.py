"""Config flow of the Avaya IP Office integration: connect, trust the certificate, choose what to expose."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    ObjectSelector,
    ObjectSelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .const import (
    AUTH_CODE_NAME_MAX,
    CONF_ALL_QUEUES,
    CONF_ALL_USERS,
    CONF_AUTH_CODES,
    CONF_CALLER_NAMES,
    CONF_DIALLING,
    CONF_FEATURE_CODES,
    CONF_FINGERPRINT,
    CONF_QUEUES,
    CONF_SECONDARY,
    CONF_SECONDARY_FINGERPRINT,
    CONF_SECONDARY_HOST,
    CONF_SECONDARY_PORT,
    CONF_SECONDARY_TLS_MODE,
    CONF_SYSTEM_ID,
    CONF_TLS_MODE,
    CONF_USERS,
    DEFAULT_PORT,
    DIAL_ANY,
    DIALLING_SCOPES,
    DOMAIN,
    LARGE_SYSTEM_USERS,
    LOGGER,
    PRIMARY,
    SECONDARY,
    TLS_INSECURE,
    TLS_PINNED,
    TLS_VERIFY,
)
from .coordinator import IPOfficeConfigEntry
from .mtcti3 import (
    AuthenticationError,
    CannotConnectError,
    CommandValidationError,
    IPOfficeClient,
    LineEntry,
    MTCTI3Error,
    ServiceRefusedError,
    TLSError,
    TLSMode,
    TooManyConnectionsError,
    authorization,
    get_server_fingerprint,
    url_host,
)
from .mtcti3.const import AUTH_CODE_MAX
from .mtcti3.models import LineKind
from .mtcti3.validation import check_text

if TYPE_CHECKING:
    import probatio as vol
else:  # Home Assistant 2026.9 and later alias voluptuous to probatio; 2026.3-2026.8 validate with voluptuous itself
    import voluptuous as vol

PORT_SCHEMA = vol.All(vol.Coerce(int), vol.Range(min=1, max=65535))

# The entry data keys of each system: host, port, TLS mode, pinned fingerprint.
KEYS: dict[str, tuple[str, str, str, str]] = {
    PRIMARY: (CONF_HOST, CONF_PORT, CONF_TLS_MODE, CONF_FINGERPRINT),
    SECONDARY: (CONF_SECONDARY_HOST, CONF_SECONDARY_PORT, CONF_SECONDARY_TLS_MODE, CONF_SECONDARY_FINGERPRINT),
}


# A system whose certificate is not verified: its host, port and certificate fingerprint (None: not known).
type Unverified = tuple[str, int, str | None]


# The error keys of the secondary IP Office, by the primary's error key.
SECONDARY_ERRORS = {
    "cannot_connect": "secondary_cannot_connect",
    "invalid_auth": "secondary_invalid_auth",
    "too_many_connections": "secondary_too_many_connections",
    "service_refused": "secondary_service_refused",
    "tls_error": "secondary_tls_error",
}


def _secondary_section(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """The collapsed section of an optional secondary IP Office (a resilient pair)."""
    host = defaults.get(CONF_SECONDARY_HOST)
    return {
        vol.Optional(CONF_SECONDARY): section(
            vol.Schema(
                {
                    vol.Optional(CONF_HOST, description={"suggested_value": host}): str,
                    vol.Optional(CONF_PORT, default=defaults.get(CONF_SECONDARY_PORT, DEFAULT_PORT)): PORT_SCHEMA,
                }
            ),
            {"collapsed": not host},
        )
    }


def _user_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): str,
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): PORT_SCHEMA,
            vol.Required(CONF_USERNAME, default=defaults.get(CONF_USERNAME, vol.UNDEFINED)): str,
            vol.Required(CONF_PASSWORD): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
            **_secondary_section(defaults),
        }
    )


def _with_secondary(data: dict[str, Any], user_input: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the secondary IP Office of the form's section, or without one when its host is empty."""
    secondary = user_input.get(CONF_SECONDARY) or {}
    data = {key: value for key, value in data.items() if key not in KEYS[SECONDARY]}
    if host := (secondary.get(CONF_HOST) or "").strip():
        data[CONF_SECONDARY_HOST] = host
        data[CONF_SECONDARY_PORT] = secondary.get(CONF_PORT, DEFAULT_PORT)
    return data


def _input_errors(data: Mapping[str, Any], *, credentials: bool = True) -> dict[str, str]:
    """The form errors of what the client would refuse before connecting (the library's own checks): a host that is
    not a host name or an IP address (no scheme, port or path), a user name or password HTTP Basic authentication
    cannot carry. Empty: nothing to refuse."""
    errors: dict[str, str] = {}
    for key, error in ((CONF_HOST, CONF_HOST), (CONF_SECONDARY_HOST, "base")):
        if key in data:
            try:
                url_host(data[key])
            except CommandValidationError:
                errors[error] = "invalid_host" if key == CONF_HOST else "secondary_invalid_host"
    if credentials and CONF_USERNAME in data and CONF_PASSWORD in data:
        try:
            authorization(data[CONF_USERNAME], data[CONF_PASSWORD])
        except CommandValidationError as err:
            if err.field == "username":
                errors[CONF_USERNAME] = "invalid_username"
            else:
                errors[CONF_PASSWORD] = "invalid_password"
    return errors


def _unverified_of(entry: IPOfficeConfigEntry) -> dict[str, Unverified]:
    """The systems that ``entry`` does not verify, by system: the trust decisions a reconfigure starts from.

    An entry that does not verify stores no fingerprint. The primary's certificate is the entry's unique id (the one
    seen when it was set up or last reconfigured): a primary that presents another one is asked about again. The
    secondary's is not known: its address alone is compared (the entry connects to that address unverified already).
    """
    data = entry.data
    unverified: dict[str, Unverified] = {}
    if data.get(CONF_TLS_MODE) == TLS_INSECURE:
        unverified[PRIMARY] = (data[CONF_HOST], data[CONF_PORT], entry.unique_id)
    if data.get(CONF_SECONDARY_HOST) and data.get(CONF_SECONDARY_TLS_MODE) == TLS_INSECURE:
        unverified[SECONDARY] = (data[CONF_SECONDARY_HOST], data[CONF_SECONDARY_PORT], None)
    return unverified


def _selector(lines: list[LineEntry]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=line.guid, label=f"{line.extn} {line.name}")
                for line in sorted(lines, key=lambda line: (line.extn, line.name))
            ],
            multiple=True,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


def _lines(directory: Mapping[str, LineEntry], kind: LineKind) -> list[LineEntry]:
    return [line for line in directory.values() if line.kind is kind]


def _exposure_schema(directory: Mapping[str, LineEntry], options: Mapping[str, Any], *, with_all: bool) -> vol.Schema:
    users = _lines(directory, LineKind.USER)
    queues = _lines(directory, LineKind.QUEUE)
    schema: dict[Any, Any] = {}
    if with_all:
        schema[vol.Required(CONF_ALL_USERS, default=CONF_USERS not in options)] = bool
    schema[vol.Optional(CONF_USERS, default=list(options.get(CONF_USERS, [])))] = _selector(users)
    if with_all:
        schema[vol.Required(CONF_ALL_QUEUES, default=CONF_QUEUES not in options)] = bool
    schema[vol.Optional(CONF_QUEUES, default=list(options.get(CONF_QUEUES, [])))] = _selector(queues)
    return vol.Schema(schema)


class IPOfficeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an IP Office (optionally a resilient pair): connect, check the service user, trust certificates."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with nothing known."""
        self._data: dict[str, Any] = {}
        self._fingerprints: dict[str, str] = {}
        self._system = PRIMARY  # whose certificate the certificate step asks about
        self._previous: Mapping[str, Any] = {}  # the data of the previous attempt (its trust decisions are kept)
        self._unverified: dict[str, Unverified] = {}  # by system: the one the user chose not to verify
        self._directory: dict[str, LineEntry] = {}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: IPOfficeConfigEntry) -> IPOfficeOptionsFlow:
        """Create the options flow."""
        return IPOfficeOptionsFlow()

    @property
    def _fingerprint(self) -> str:
        """The primary's certificate fingerprint: the unique id of the entry."""
        return self._fingerprints.get(PRIMARY, "")

    async def _async_connect(self, system: str = PRIMARY) -> str | None:
        """Log in to ``system`` with ``self._data``; return an error key, or None (the primary's directory kept)."""
        data = self._data
        host_key, port_key, tls_key, fingerprint_key = KEYS[system]
        mode = TLSMode(data[tls_key])
        client = IPOfficeClient(
            data[host_key],
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            port=data[port_key],
            session=async_get_clientsession(self.hass),
            tls=mode,
            fingerprint=data.get(fingerprint_key) if mode is TLSMode.PINNED else None,
            users=(),
            queues=(),
            park_server=False,
            reconnect=False,
        )
        try:
            await client.connect()
            if system == PRIMARY:
                self._directory = dict(client.directory)
        except TLSError:
            return "tls_error"
        except AuthenticationError:
            return "invalid_auth"
        except TooManyConnectionsError:
            return "too_many_connections"
        except ServiceRefusedError:
            return "service_refused"
        except MTCTI3Error:
            return "cannot_connect"
        except Exception:
            LOGGER.exception("Unexpected error connecting to IP Office %s", data[host_key])
            return "unknown"
        finally:
            await client.disconnect()
        return None

    async def _async_fingerprint(self, system: str = PRIMARY) -> str | None:
        """Read the certificate fingerprint of ``system``; return an error key or None."""
        host_key, port_key, _, _ = KEYS[system]
        try:
            self._fingerprints[system] = await get_server_fingerprint(
                self._data[host_key], self._data[port_key], session=async_get_clientsession(self.hass)
            )
        except TLSError:
            return "tls_error"
        except CannotConnectError:
            return "cannot_connect"
        return None

    async def _async_connect_and_finish(self, step_id: str) -> ConfigFlowResult:
        """Connect with the chosen TLS mode; offer to trust the certificate when it cannot be verified."""
        self._system = PRIMARY
        error = await self._async_connect()
        if error == "tls_error" and self._data[CONF_TLS_MODE] == TLS_VERIFY:
            return await self.async_step_certificate()
        if error is not None:
            return self._show_step(step_id, {"base": error})
        return await self._async_check_secondary(step_id)

    async def _async_check_secondary(self, step_id: str) -> ConfigFlowResult:
        """With a secondary IP Office: read its certificate, keep a trust given earlier, then connect to it."""
        if not self._data.get(CONF_SECONDARY_HOST):
            return self._finish()
        data = self._data
        if self._address(SECONDARY) == self._address(PRIMARY):
            return self._show_step(step_id, {"base": "secondary_same_as_primary"})
        if error := await self._async_fingerprint(SECONDARY):
            return self._show_step(step_id, {"base": SECONDARY_ERRORS[error]})
        if self._configured_elsewhere(SECONDARY):
            return self._show_step(step_id, {"base": "secondary_already_configured"})
        if not self._keep_trust(self._previous, SECONDARY):
            data[CONF_SECONDARY_TLS_MODE] = TLS_VERIFY
            data[CONF_SECONDARY_FINGERPRINT] = None
        return await self._async_connect_secondary_and_finish(step_id)

    async def _async_connect_secondary_and_finish(self, step_id: str) -> ConfigFlowResult:
        """Connect to the secondary with its TLS mode; offer to trust its certificate when it cannot be verified."""
        self._system = SECONDARY
        error = await self._async_connect(SECONDARY)
        if error == "tls_error" and self._data[CONF_SECONDARY_TLS_MODE] == TLS_VERIFY:
            return await self.async_step_certificate()
        if error is not None:
            return self._show_step(step_id, {"base": SECONDARY_ERRORS.get(error, error)})
        return self._finish()

    def _address(self, system: str) -> tuple[str, int]:
        """The host and port of ``system`` in this flow's data."""
        host_key, port_key, _, _ = KEYS[system]
        return self._data[host_key], self._data[port_key]

    def _configured_elsewhere(self, system: str) -> bool:
        """Whether ``system`` of this flow is a system (primary or secondary) of another entry already.

        The same system twice would show its users twice (with the same device and entity ids) and use two of its
        ten MTCTI-3 connections. A system is known by its certificate (an entry's unique id, a pinned fingerprint) or
        by its address.
        """
        address = self._address(system)
        fingerprint = self._fingerprints.get(system)
        own = self.context.get("entry_id")  # the entry a reconfigure flow changes
        for other in self._async_current_entries(include_ignore=False):
            if other.entry_id == own:
                continue
            data = other.data
            fingerprints = {other.unique_id, data.get(CONF_FINGERPRINT), data.get(CONF_SECONDARY_FINGERPRINT)}
            addresses = {
                (data.get(CONF_HOST), data.get(CONF_PORT)),
                (data.get(CONF_SECONDARY_HOST), data.get(CONF_SECONDARY_PORT)),
            }
            if (fingerprint and fingerprint in fingerprints) or address in addresses:
                return True
        return False

    def _finish(self) -> ConfigFlowResult:
        """Every system connected: save a reconfigured entry, or ask what to expose, or create the entry."""
        if self.source == SOURCE_RECONFIGURE:
            if not self._same_system():
                return self.async_abort(reason="wrong_system")
            return self._update_reconfigured()
        if len(_lines(self._directory, LineKind.USER)) > LARGE_SYSTEM_USERS:
            return self._show_select()
        return self.async_create_entry(title=self._title, data=self._data, options={})

    def _show_select(self) -> ConfigFlowResult:
        return self.async_show_form(
            step_id="select",
            data_schema=_exposure_schema(self._directory, {}, with_all=False),
            description_placeholders={"users": str(len(_lines(self._directory, LineKind.USER)))},
        )

    def _same_system(self) -> bool:
        """Whether a reconfigure reaches the entry's own IP Office, not another one.

        Checked when the certificate changed (else it is the same system): some user or queue that the entry has a
        device of must be in the directory of the system reached. A renewed certificate keeps the users; another
        system has none of them (and its set-up would remove them all from Home Assistant as stale).
        """
        entry = self._get_reconfigure_entry()
        if entry.unique_id == self._fingerprint:
            return True
        registry = dr.async_get(self.hass)
        lines = {
            ident
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            for domain, ident in device.identifiers
            if domain == DOMAIN and ident not in (entry.unique_id, entry.data.get(CONF_SYSTEM_ID))
        }
        return not lines or not lines.isdisjoint(self._directory)

    def _update_reconfigured(self) -> ConfigFlowResult:
        """Save the reconfigured entry; a renewed certificate becomes its unique id (duplicates stay detected).

        The devices and entities of the system keep their identifiers: the first unique id is kept as the system id.
        """
        entry = self._get_reconfigure_entry()
        data = dict(self._data)
        if entry.unique_id != self._fingerprint and not data.get(CONF_SYSTEM_ID):
            data[CONF_SYSTEM_ID] = entry.unique_id or entry.entry_id
        return self.async_update_reload_and_abort(entry, data=data, unique_id=self._fingerprint)

    @property
    def _title(self) -> str:
        return f"IP Office {self._data[CONF_HOST]}"

    def _show_step(self, step_id: str, errors: dict[str, str]) -> ConfigFlowResult:
        if step_id == "reconfigure":
            return self._show_reconfigure(errors)
        return self.async_show_form(
            step_id="user", data_schema=_user_schema(self._data), errors=errors, last_step=False
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the address of the IP Office (and of a secondary one) and the service user."""
        if user_input is None:
            return self._show_step("user", {})
        self._previous = self._data
        primary = {key: user_input[key] for key in (CONF_PORT, CONF_USERNAME, CONF_PASSWORD)}
        self._data = _with_secondary({**primary, CONF_HOST: user_input[CONF_HOST].strip()}, user_input)
        if errors := _input_errors(self._data):
            return self._show_step("user", errors)
        if error := await self._async_fingerprint():
            return self._show_step("user", {"base": error})
        await self.async_set_unique_id(self._fingerprint)
        self._abort_if_unique_id_configured()
        if self._configured_elsewhere(PRIMARY):  # another entry's secondary, or its address
            return self.async_abort(reason="already_configured")
        if not self._keep_trust(self._previous):
            self._data[CONF_TLS_MODE] = TLS_VERIFY
            self._data[CONF_FINGERPRINT] = None
        return await self._async_connect_and_finish("user")

    def _keep_trust(self, previous: Mapping[str, Any], system: str = PRIMARY) -> bool:
        """Keep a trust decision taken earlier for ``system`` (a retry does not ask again), if it is about this system.

        A pinned certificate is kept when ``system`` presents it (at any address: the pin names the system). Not
        verifying is kept only for the very system it was chosen for: else a wrong password on one system, then the
        address of another, would connect to the other without verifying its certificate or asking about it.
        """
        _, _, tls_key, fingerprint_key = KEYS[system]
        mode = previous.get(tls_key)
        if mode == TLS_PINNED:
            keep = previous.get(fingerprint_key) == self._fingerprints.get(system)
        else:
            keep = mode == TLS_INSECURE and self._chose_unverified(system)
        if keep:
            self._data[tls_key] = mode
            self._data[fingerprint_key] = previous.get(fingerprint_key)
        return keep

    def _chose_unverified(self, system: str) -> bool:
        """Whether not verifying was chosen for ``system`` as it is now: the same address, the same certificate.

        A certificate not known when the choice was made (the secondary of an entry) is not compared.
        """
        if (chosen := self._unverified.get(system)) is None:
            return False
        host, port, fingerprint = chosen
        return self._address(system) == (host, port) and fingerprint in (None, self._fingerprints.get(system))

    async def async_step_certificate(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A certificate cannot be verified: show its fingerprint and offer to trust it."""
        host_key = KEYS[self._system][0]
        return self.async_show_menu(
            step_id="certificate",
            menu_options=["trust_certificate", "disable_verification", "cancel"],
            description_placeholders={"fingerprint": self._fingerprints[self._system], "host": self._data[host_key]},
        )

    async def async_step_trust_certificate(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pin the certificate whose fingerprint was shown."""
        _, _, tls_key, fingerprint_key = KEYS[self._system]
        self._data[tls_key] = TLS_PINNED
        self._data[fingerprint_key] = self._fingerprints[self._system]
        return await self._async_trusted()

    async def async_step_disable_verification(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Accept any certificate (encrypted, but not authenticated) of this system: its address and certificate."""
        _, _, tls_key, fingerprint_key = KEYS[self._system]
        self._data[tls_key] = TLS_INSECURE
        self._data[fingerprint_key] = None
        self._unverified[self._system] = (*self._address(self._system), self._fingerprints[self._system])
        return await self._async_trusted()

    async def _async_trusted(self) -> ConfigFlowResult:
        if self._system == SECONDARY:
            return await self._async_connect_secondary_and_finish(self._return_step)
        return await self._async_connect_and_finish(self._return_step)

    async def async_step_cancel(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Do not trust the certificate."""
        return self.async_abort(reason="certificate_not_trusted")

    @property
    def _return_step(self) -> str:
        return "reconfigure" if self.source == SOURCE_RECONFIGURE else "user"

    async def async_step_select(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """On a large system, choose the users and queues to expose."""
        if user_input is None:
            return self._show_select()
        return self.async_create_entry(
            title=self._title,
            data=self._data,
            options={CONF_USERS: user_input.get(CONF_USERS, []), CONF_QUEUES: user_input.get(CONF_QUEUES, [])},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The service user's password stopped working."""
        return await self.async_step_reauth_confirm()

    def _show_reauth(self, errors: dict[str, str]) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_USERNAME, default=entry.data[CONF_USERNAME]): str,
                    vol.Required(CONF_PASSWORD): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD)),
                }
            ),
            errors=errors,
            description_placeholders={"host": entry.data[CONF_HOST]},
        )

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the service user's name and password again (both systems of a pair share the service user)."""
        if user_input is None:
            return self._show_reauth({})
        entry = self._get_reauth_entry()
        self._data = {**entry.data, **user_input}
        if errors := _input_errors(user_input):
            return self._show_reauth(errors)
        if (error := await self._async_connect()) is not None:
            return self._show_reauth({"base": error})
        if self._data.get(CONF_SECONDARY_HOST) and (error := await self._async_connect(SECONDARY)) is not None:
            return self._show_reauth({"base": SECONDARY_ERRORS.get(error, error)})
        return self.async_update_reload_and_abort(entry, data_updates=user_input)

    def _show_reconfigure(self, errors: dict[str, str]) -> ConfigFlowResult:
        defaults = self._data or self._get_reconfigure_entry().data
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_HOST, default=defaults[CONF_HOST]): str,
                    vol.Required(CONF_PORT, default=defaults[CONF_PORT]): PORT_SCHEMA,
                    **_secondary_section(defaults),
                }
            ),
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the address of the IP Office, or add, change or remove a secondary IP Office."""
        if user_input is None:
            return self._show_reconfigure({})
        entry = self._get_reconfigure_entry()
        if not self._data:  # the first attempt: the entry's trust decisions are the earlier ones
            self._unverified = _unverified_of(entry)
        self._previous = self._data or entry.data
        data = {**entry.data, CONF_HOST: user_input[CONF_HOST].strip(), CONF_PORT: user_input[CONF_PORT]}
        self._data = _with_secondary(data, user_input)
        if errors := _input_errors(
            {key: self._data[key] for key in (CONF_HOST, CONF_SECONDARY_HOST) if key in self._data}
        ):
            return self._show_reconfigure(errors)
        if error := await self._async_fingerprint():
            return self._show_reconfigure({"base": error})
        if self._configured_elsewhere(PRIMARY):
            return self.async_abort(reason="already_configured")
        if not self._keep_trust(self._previous):
            if self._data[CONF_TLS_MODE] == TLS_PINNED:  # the pinned certificate is not presented: ask about this one
                self._system = PRIMARY
                return await self.async_step_certificate()
            # Not verifying was chosen for another system (address or certificate): verify, ask if that fails.
            self._data[CONF_TLS_MODE] = TLS_VERIFY
            self._data[CONF_FINGERPRINT] = None
        return await self._async_connect_and_finish("reconfigure")


class IPOfficeOptionsFlow(OptionsFlowWithReload):
    """Choose what the entry exposes and lets its users do (IP Office itself cannot restrict MTCTI-3)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the users and queues of the system and the entry's rules; refuse a choice that means two things."""
        entry: IPOfficeConfigEntry = self.config_entry
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        directory = entry.runtime_data.client.directory
        errors: dict[str, str] = {}
        if user_input is not None:
            # "All users" with users picked would expose everyone while the form seems to pick a few: say so.
            if user_input[CONF_ALL_USERS] and user_input.get(CONF_USERS):
                errors[CONF_USERS] = "picked_with_all_users"
            if user_input[CONF_ALL_QUEUES] and user_input.get(CONF_QUEUES):
                errors[CONF_QUEUES] = "picked_with_all_queues"
            auth_codes = _auth_codes(user_input.get(CONF_AUTH_CODES, []))
            if auth_codes is None:
                errors[CONF_AUTH_CODES] = "invalid_auth_codes"
            if not errors:
                chosen: dict[str, Any] = {}
                if not user_input[CONF_ALL_USERS]:
                    chosen[CONF_USERS] = user_input.get(CONF_USERS, [])
                if not user_input[CONF_ALL_QUEUES]:
                    chosen[CONF_QUEUES] = user_input.get(CONF_QUEUES, [])
                chosen[CONF_DIALLING] = user_input[CONF_DIALLING]
                chosen[CONF_FEATURE_CODES] = user_input[CONF_FEATURE_CODES]
                chosen[CONF_AUTH_CODES] = auth_codes
                chosen[CONF_CALLER_NAMES] = user_input[CONF_CALLER_NAMES]
                return self.async_create_entry(data=chosen)
        # The current choices are suggested, not defaults: a form sent without users picks none.
        schema = vol.Schema({**_exposure_schema(directory, {}, with_all=True).schema, **_rules_schema()})
        options = entry.options
        current = {
            CONF_ALL_USERS: CONF_USERS not in options,
            CONF_USERS: options.get(CONF_USERS, []),
            CONF_ALL_QUEUES: CONF_QUEUES not in options,
            CONF_QUEUES: options.get(CONF_QUEUES, []),
            CONF_DIALLING: options.get(CONF_DIALLING, DIAL_ANY),
            CONF_FEATURE_CODES: options.get(CONF_FEATURE_CODES, False),
            CONF_CALLER_NAMES: options.get(CONF_CALLER_NAMES, True),
            CONF_AUTH_CODES: [{"name": name, "code": code} for name, code in options.get(CONF_AUTH_CODES, {}).items()],
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or current),
            errors=errors,
        )


def _rules_schema() -> dict[Any, Any]:
    """The entry's rules: what its users may dial, whether callers' names are shown, the named auth codes."""
    return {
        vol.Required(CONF_DIALLING, default=DIAL_ANY): SelectSelector(
            SelectSelectorConfig(
                options=list(DIALLING_SCOPES), translation_key=CONF_DIALLING, mode=SelectSelectorMode.LIST
            )
        ),
        vol.Required(CONF_FEATURE_CODES, default=False): bool,
        vol.Required(CONF_CALLER_NAMES, default=True): bool,
        vol.Optional(CONF_AUTH_CODES, default=[]): ObjectSelector(
            ObjectSelectorConfig(
                fields={
                    "name": {"label": "Name", "required": True, "selector": {"text": {}}},
                    "code": {"label": "Code", "required": True, "selector": {"text": {"type": "password"}}},
                },
                multiple=True,
                label_field="name",
            )
        ),
    }


def _auth_codes(entries: Any) -> dict[str, str] | None:
    """The authorization codes of the form by name, or None when one is not valid: a name of 1 to 32 printable
    characters used once, a code of 1 to 15 printable characters (the rules of the actions' own fields)."""
    codes: dict[str, str] = {}
    try:
        for item in entries:
            name = check_text("name", str(item.get("name", "")).strip(), 1, AUTH_CODE_NAME_MAX)
            if name in codes:
                return None
            codes[name] = check_text("code", str(item.get("code", "")), 1, AUTH_CODE_MAX)
    except CommandValidationError, AttributeError, TypeError:
        return None
    return codes
