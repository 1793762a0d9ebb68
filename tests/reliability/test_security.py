"""Security: secrets stay out of logs, diagnostics and exceptions; TLS verification and pinning; actions only on
what the entry exposes; admin-only actions; the simulator's admin interface on loopback only (see SECURITY.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice.const import (
    CONF_FINGERPRINT,
    CONF_QUEUES,
    CONF_USERS,
    DOMAIN,
)
from custom_components.ipoffice.mtcti3 import (
    TRACE_LOGGER_NAME,
    AuthenticationError,
    FingerprintMismatchError,
    IPOfficeClient,
    TLSError,
    TLSMode,
)
from simulator import Simulator, SimulatorConfig
from tests.hatools import entry_data

from .conftest import PASSWORD, USERNAME, ClientFactory, guid_of, make_sim, wait_for

WRONG_FINGERPRINT = ":".join(["5A"] * 32)
SYSTEM_ID = "ipoffice-security"


def _secrets() -> list[str]:
    """The password in every form it could leak in: as is, and inside a Basic Authorization header."""
    return [
        PASSWORD,
        base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode(),
        base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode().rstrip("="),
    ]


def assert_no_secret(text: str, where: str) -> None:
    """None of the forms of the password is in ``text``."""
    for secret in _secrets():
        assert secret not in text, f"the password leaks into {where}"


# --- the client ------------------------------------------------------------------------------------------------


async def test_wrong_fingerprint_refuses_before_sending_credentials(
    make_client: ClientFactory, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pinned fingerprint that does not match: FingerprintMismatchError naming the real fingerprint, and the
    server never sees an HTTP request (so never the password)."""
    requests: list[object] = []
    original = sim._authorized
    monkeypatch.setattr(sim, "_authorized", lambda request: requests.append(request) or original(request))
    with pytest.raises(FingerprintMismatchError) as caught:
        await make_client(tls=TLSMode.PINNED, fingerprint=WRONG_FINGERPRINT)
    assert caught.value.fingerprint == sim.fingerprint
    assert sim.fingerprint in str(caught.value)
    assert_no_secret(f"{caught.value!s} {caught.value!r}", "the exception")
    assert requests == []
    assert sim.connection_count == 0
    client = await make_client(tls=TLSMode.PINNED, fingerprint=sim.fingerprint)
    assert client.connected
    assert requests


async def test_unverifiable_certificate_is_refused(
    make_client: ClientFactory, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VERIFY (the default) refuses the simulator's self-signed certificate: TLSError offering its fingerprint."""
    requests: list[object] = []
    monkeypatch.setattr(sim, "_authorized", lambda request: requests.append(request) or True)
    with pytest.raises(TLSError) as caught:
        await make_client(tls=TLSMode.VERIFY)
    assert caught.value.fingerprint == sim.fingerprint
    assert "not trusted" in str(caught.value)
    assert requests == []


async def test_pinned_certificate_changed_while_connected(make_client: ClientFactory, sim: Simulator) -> None:
    """A reconnect to a server with another certificate (same address) is refused, not trusted silently."""
    client = await make_client(tls=TLSMode.PINNED, fingerprint=sim.fingerprint)
    port = sim.port
    await sim.stop()
    await wait_for(lambda: not client.connected, message="loss")
    impostor = make_sim(port=port)
    await impostor.start()
    try:
        assert impostor.fingerprint != sim.fingerprint
        await asyncio.sleep(0.5)  # several reconnect attempts
        assert not client.connected
        assert impostor.connection_count == 0
    finally:
        await client.disconnect()
        await impostor.stop()


async def test_secrets_not_in_client_logs_or_errors(
    make_client: ClientFactory, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger of the client at DEBUG (the protocol trace included): connect, work, lose the connection,
    be refused, recover. The password appears in no log line, no exception and no repr."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    client = await make_client()
    user = client.user_by_extn("2002")
    assert user is not None
    await client.set_dnd(user, True)
    sim.faults.refuse_auth = True
    sim.faults.drop_all()
    await wait_for(lambda: "Reconnect 2" in caplog.text, message="refused reconnects")
    sim.faults.refuse_auth = False
    await wait_for(lambda: client.connected, message="recovered")
    with pytest.raises(AuthenticationError) as caught:
        await make_client(password="wrong-" + PASSWORD)
    texts = [caplog.text, str(caught.value), repr(caught.value), repr(client), str(client.stats.as_dict())]
    assert "sub=" in caplog.text  # the trace really was on
    for text in texts:
        assert_no_secret(text, "the client's logs or errors")
    assert "wrong-" not in caplog.text


# --- the integration -------------------------------------------------------------------------------------------


@pytest.fixture
def expected_lingering_timers() -> bool:
    """aiohttp leaves a closed websocket's heartbeat timer scheduled (it fires once and stops): not a leak."""
    return True


def _entry(sim: Simulator, **data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="IP Office security",
        unique_id=SYSTEM_ID,
        data=entry_data(sim, **{CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD, **data}),
        options={CONF_USERS: [guid_of(sim, "2002")], CONF_QUEUES: [guid_of(sim, "2501")]},
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_secrets_not_in_integration_logs_or_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    office: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Set-up, a call, a lost connection, refused reconnects, a reload with a wrong password, diagnostics of the
    entry and of a device: the password is in none of the log lines, the diagnostics or the errors."""
    caplog.set_level(logging.DEBUG, logger="custom_components.ipoffice")
    caplog.set_level(logging.DEBUG, logger=TRACE_LOGGER_NAME)
    entry = _entry(office)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    call = office.incoming_call(to="2002", caller="01707123456")
    await office.wait_quiet()
    await hass.async_block_till_done()
    entry_diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, guid_of(office, "2002")), entry.entry_id)
    assert device is not None
    device_diagnostics = await get_diagnostics_for_device(hass, hass_client, entry, device)
    office.hangup(call)
    office.faults.refuse_auth = True
    office.faults.drop_all()
    await wait_for(lambda: "failed: authentication failed" in caplog.text, message="a refused reconnect")
    office.faults.refuse_auth = False
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    bad = _entry(office, **{CONF_PASSWORD: "not-" + PASSWORD})
    bad.add_to_hass(hass)
    await hass.config_entries.async_setup(bad.entry_id)
    await hass.async_block_till_done()
    assert bad.state is ConfigEntryState.SETUP_ERROR  # reauth, not a crash
    diagnostics = json.dumps([entry_diagnostics, device_diagnostics])
    assert entry_diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert entry_diagnostics["entry"]["data"][CONF_USERNAME] == "**REDACTED**"
    assert "01707123456" not in diagnostics  # a caller's number is personal data too
    assert "sub=" in caplog.text
    assert_no_secret(caplog.text, "the integration's logs")
    assert "not-" + PASSWORD not in caplog.text
    assert_no_secret(diagnostics, "diagnostics")


async def test_wrong_fingerprint_entry_does_not_connect(
    hass: HomeAssistant, office: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry pinned to another certificate never sends its credentials and raises a repair issue."""
    requests: list[object] = []
    original = office._authorized
    monkeypatch.setattr(office, "_authorized", lambda request: requests.append(request) or original(request))
    entry = _entry(office, **{CONF_FINGERPRINT: WRONG_FINGERPRINT})
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert requests == []
    assert office.connection_count == 0


async def test_actions_refused_outside_what_the_entry_exposes(hass: HomeAssistant, office: Simulator) -> None:
    """Only user 2002 and queue 2501 are exposed. An action on another user (through a device of this entry that
    names it, or a device of another integration) is refused before anything reaches the IP Office."""
    entry = _entry(office)
    await _setup(hass, entry)
    client: IPOfficeClient = entry.runtime_data.client
    assert set(client.users) == {guid_of(office, "2002")}
    registry = dr.async_get(hass)
    # A device of this entry standing for a user the entry does not expose (say, left from older options).
    hidden = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, guid_of(office, "2003"))}
    )
    other_entry = MockConfigEntry(domain="other")
    other_entry.add_to_hass(hass)
    foreign = registry.async_get_or_create(config_entry_id=other_entry.entry_id, identifiers={("other", "x")})
    frames_out = client.stats.frames_out
    for device_id in (hidden.id, foreign.id, "no-such-device"):
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                DOMAIN, "set_do_not_disturb", {"device_id": device_id, "enabled": True}, blocking=True
            )
    queue_device = registry.async_get_device_by_identifier((DOMAIN, guid_of(office, "2501")), entry.entry_id)
    assert queue_device is not None
    with pytest.raises(ServiceValidationError):  # a queue is not a user
        await hass.services.async_call(
            DOMAIN, "set_do_not_disturb", {"device_id": queue_device.id, "enabled": True}, blocking=True
        )
    assert client.stats.frames_out == frames_out
    assert not office.model.user("2003").dnd
    user_device = registry.async_get_device_by_identifier((DOMAIN, guid_of(office, "2002")), entry.entry_id)
    assert user_device is not None
    await hass.services.async_call(
        DOMAIN, "set_do_not_disturb", {"device_id": user_device.id, "enabled": True}, blocking=True
    )
    assert office.model.user("2002").dnd


async def test_admin_only_actions_refuse_other_users(
    hass: HomeAssistant, office: Simulator, hass_read_only_user: MockUser, hass_admin_user: MockUser
) -> None:
    """Force clear (admin only) is refused for a non-admin user, allowed for an admin."""
    entry = _entry(office)
    await _setup(hass, entry)
    call = office.incoming_call(to="2002")
    office.answer(call)
    await office.wait_quiet()
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, guid_of(office, "2002")), entry.entry_id)
    assert device is not None
    user = hass_read_only_user
    assert not user.is_admin
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN, "force_clear", {"device_id": device.id}, blocking=True, context=Context(user_id=user.id)
        )
    assert not call.ended
    admin = hass_admin_user
    await hass.services.async_call(
        DOMAIN, "force_clear", {"device_id": device.id}, blocking=True, context=Context(user_id=admin.id)
    )
    await office.wait_quiet()
    assert call.ended


# --- the simulator -------------------------------------------------------------------------------------------------


async def test_simulator_admin_interface_is_loopback_only(socket_enabled: None) -> None:
    """The admin interface (which can inject faults and calls, unauthenticated) listens on 127.0.0.1 only, even
    when the MTCTI-3 listener is asked to bind elsewhere."""
    async with Simulator(SimulatorConfig(host="127.0.0.1", admin_port=-1)) as sim:
        assert sim.admin is not None
        addresses = sim.admin._runner.addresses
        assert addresses
        assert all(address[0] == "127.0.0.1" for address in addresses)
