"""An IP Office 11.0.4.2 (partial MTCTI-3: no RequestResponse, no getversioninfo): nothing hangs, the version is
unknown, the config flow and the entities still work."""

from __future__ import annotations

import time

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from custom_components.ipoffice.const import CONF_FINGERPRINT, CONF_TLS_MODE, DOMAIN, TLS_PINNED
from custom_components.ipoffice.mtcti3 import IPOfficeClient, RequestTimeoutError, TLSMode
from simulator import Simulator

from .conftest import FAST_TIMEOUT, PASSWORD, USERNAME, guid_of, wait_for


@pytest.fixture(autouse=True)
def fast_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client of these tests waits FAST_TIMEOUT seconds for a RequestResponse (10 s by default)."""
    defaults = IPOfficeClient.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "request_timeout", FAST_TIMEOUT)


async def test_client_bounded_on_old_release(old_sim: Simulator) -> None:
    """Connect, version and a command each end within a bounded time; the version is unknown, not an error."""
    client = IPOfficeClient(
        "127.0.0.1", USERNAME, PASSWORD, port=old_sim.port, tls=TLSMode.PINNED, fingerprint=old_sim.fingerprint
    )
    try:
        started = time.monotonic()
        await client.connect()
        assert time.monotonic() - started < FAST_TIMEOUT + 3
        assert client.system.version is None
        assert len(client.users) == len(old_sim.model.users)
        started = time.monotonic()
        assert await client.get_version() is None
        assert time.monotonic() - started < FAST_TIMEOUT + 1
        alice = guid_of(old_sim, "2001")
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError, match="no RequestResponse"):
            await client.set_dnd(alice, True)
        assert time.monotonic() - started < FAST_TIMEOUT + 1
        # The system acted on the command all the same: its notify arrives.
        await wait_for(lambda: client.users[alice].dnd, message="DND notify")
    finally:
        await client.disconnect()


async def test_config_flow_and_entities_on_old_release(hass: HomeAssistant, old_sim: Simulator) -> None:
    """The config flow creates the entry; entities work; a command ends with "did not answer in time"."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    started = time.monotonic()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"host": "127.0.0.1", "port": old_sim.port, "username": USERNAME, "password": PASSWORD},
    )
    assert result["type"] is FlowResultType.MENU  # the self-signed certificate
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert time.monotonic() - started < FAST_TIMEOUT + 5
    assert result["data"][CONF_TLS_MODE] == TLS_PINNED
    assert result["data"][CONF_FINGERPRINT] == old_sim.fingerprint
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state.value == "loaded"

    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, entry.unique_id), entry.entry_id)
    assert device is not None
    assert device.sw_version is None  # unknown, not a failure

    alice = guid_of(old_sim, "2001")
    dnd = er.async_get(hass).async_get_entity_id("switch", DOMAIN, f"{alice}_do_not_disturb")
    assert dnd is not None
    assert hass.states.get(dnd).state == "off"
    started = time.monotonic()
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: dnd}, blocking=True)
    assert err.value.translation_key == "request_timeout"
    assert time.monotonic() - started < FAST_TIMEOUT + 1
    await wait_for(lambda: hass.states.get(dnd).state == STATE_ON, message="DND on")

    # A call still reaches Home Assistant.
    events = []
    hass.bus.async_listen("ipoffice_call", events.append)
    old_sim.incoming_call(to="2001", caller="01707123456")
    await old_sim.wait_quiet()
    await hass.async_block_till_done()
    assert [event.data["type"] for event in events] == ["incoming"]
