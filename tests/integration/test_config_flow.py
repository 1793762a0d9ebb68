"""Tests of the config flow: every step, every error, reauth, reconfigure and options."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ipoffice import config_flow
from custom_components.ipoffice.const import (
    CONF_ALL_QUEUES,
    CONF_ALL_USERS,
    CONF_FINGERPRINT,
    CONF_QUEUES,
    CONF_TLS_MODE,
    CONF_USERS,
    DOMAIN,
    TLS_INSECURE,
    TLS_PINNED,
    TLS_VERIFY,
)
from custom_components.ipoffice.mtcti3 import IPOfficeClient, RequestTimeoutError, TLSError, TLSMode
from simulator import Simulator, SimulatorConfig

from .conftest import PASSWORD, USERNAME, entry_data, guid_of

OTHER_FINGERPRINT = ":".join(["AB"] * 32)
DEFAULT_RULES = {
    "dialling": "any",
    "feature_codes": False,
    "auth_codes": {},
    "caller_names": True,
}  # what the options form stores when left as it is


def _user_input(sim: Simulator, **changes: Any) -> dict[str, Any]:
    return {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port, CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD, **changes}


async def _start(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def _to_certificate(hass: HomeAssistant, sim: Simulator, **changes: Any) -> ConfigFlowResult:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim, **changes))
    _assert_asked_about(result, sim)
    return result


def _assert_error(result: ConfigFlowResult, error: str) -> None:
    """The user form is shown again with ``error``."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": error}


async def _assert_created(hass: HomeAssistant, result: ConfigFlowResult, sim: Simulator) -> None:
    """The flow ended with an entry pinned to the simulator's certificate (and the entry was set up)."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "IP Office 127.0.0.1"
    assert result["data"] == entry_data(sim)
    assert result["options"] == {}
    assert result["result"].unique_id == sim.fingerprint
    await hass.async_block_till_done()


async def _retry_trusted(hass: HomeAssistant, result: ConfigFlowResult, sim: Simulator) -> None:
    """Submitting the user form again, once the fault is gone, creates the entry: the trust given is kept."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    await _assert_created(hass, result, sim)


async def _choose_for_another_certificate(
    hass: HomeAssistant, sim: Simulator, choice: str, **changes: Any
) -> ConfigFlowResult:
    """The flow reads another certificate than the one the simulator presents (OTHER_FINGERPRINT) and the user
    takes ``choice`` for it at the certificate menu."""
    with patch("custom_components.ipoffice.config_flow.get_server_fingerprint", return_value=OTHER_FINGERPRINT):
        result = await _start(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim, **changes))
        assert result["type"] is FlowResultType.MENU
        assert result["description_placeholders"] == {"fingerprint": OTHER_FINGERPRINT, "host": "127.0.0.1"}
        return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": choice})


def _assert_asked_about(result: ConfigFlowResult, sim: Simulator) -> None:
    """The certificate menu asks about the certificate the simulator presents."""
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "certificate"
    assert result["description_placeholders"] == {"fingerprint": sim.fingerprint, "host": "127.0.0.1"}


async def test_trust_certificate(hass: HomeAssistant, sim: Simulator) -> None:
    """A self-signed certificate is shown and pinned when the user trusts it."""
    result = await _to_certificate(hass, sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    await _assert_created(hass, result, sim)


async def test_disable_verification(hass: HomeAssistant, sim: Simulator) -> None:
    """Turning verification off is its own choice and stores no fingerprint."""
    result = await _to_certificate(hass, sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "disable_verification"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(sim, tls_mode=TLS_INSECURE, fingerprint=None)
    await hass.async_block_till_done()


async def test_cancel_certificate(hass: HomeAssistant, sim: Simulator) -> None:
    """Not trusting the certificate ends the flow."""
    result = await _to_certificate(hass, sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "cancel"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "certificate_not_trusted"


async def test_verified_certificate(hass: HomeAssistant, sim: Simulator) -> None:
    """A certificate the system trusts needs no question (verification is played by an insecure client)."""
    real = IPOfficeClient

    def verify_is_insecure(*args: Any, **kwargs: Any) -> Any:
        if kwargs["tls"] is TLSMode.VERIFY:
            kwargs["tls"] = TLSMode.INSECURE
        return real(*args, **kwargs)

    with patch.object(config_flow, "IPOfficeClient", side_effect=verify_is_insecure):
        result = await _start(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TLS_MODE] == TLS_VERIFY
    assert result["data"][CONF_FINGERPRINT] is None
    await hass.async_block_till_done()


async def test_cannot_connect_then_recover(hass: HomeAssistant, sim: Simulator) -> None:
    """A wrong port shows cannot_connect; the right one goes on to the certificate and creates the entry."""
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim, port=1))
    _assert_error(result, "cannot_connect")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "certificate"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    await _assert_created(hass, result, sim)


async def test_fingerprint_tls_error(hass: HomeAssistant, sim: Simulator) -> None:
    """A TLS failure while reading the certificate is a TLS error; once it is gone the certificate is shown."""
    result = await _start(hass)
    with patch("custom_components.ipoffice.config_flow.get_server_fingerprint", side_effect=TLSError("bad")):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    _assert_error(result, "tls_error")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.MENU
    assert result["description_placeholders"] == {"fingerprint": sim.fingerprint, "host": "127.0.0.1"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    await _assert_created(hass, result, sim)


async def test_invalid_auth_after_trust(hass: HomeAssistant, sim: Simulator) -> None:
    """A wrong password after trusting the certificate; the trust is kept when it is corrected."""
    result = await _to_certificate(hass, sim, password="wrong")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TLS_MODE] == TLS_PINNED
    await hass.async_block_till_done()


async def test_insecure_choice_is_kept(hass: HomeAssistant, sim: Simulator) -> None:
    """After choosing not to verify, a corrected password does not ask again."""
    result = await _to_certificate(hass, sim, password="wrong")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "disable_verification"})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TLS_MODE] == TLS_INSECURE
    await hass.async_block_till_done()


async def test_insecure_choice_is_not_kept_for_another_system(hass: HomeAssistant, sim: Simulator) -> None:
    """Not verifying one system's certificate is no choice about another: its own certificate is asked about."""
    result = await _to_certificate(hass, sim, password="wrong")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "disable_verification"})
    _assert_error(result, "invalid_auth")
    async with Simulator(SimulatorConfig(host="127.0.0.1", port=0)) as other:
        assert other.fingerprint != sim.fingerprint
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(other))
        assert result["type"] is FlowResultType.MENU
        assert result["step_id"] == "certificate"
        assert result["description_placeholders"] == {"fingerprint": other.fingerprint, "host": "127.0.0.1"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "trust_certificate"}
        )
        await _assert_created(hass, result, other)
        await hass.config_entries.async_unload(result["result"].entry_id)
        await hass.async_block_till_done()


async def test_insecure_choice_is_not_kept_for_another_certificate(hass: HomeAssistant, sim: Simulator) -> None:
    """Not verifying is not kept when the same address presents another certificate than when it was chosen."""
    result = await _choose_for_another_certificate(hass, sim, "disable_verification", password="wrong")
    _assert_error(result, "invalid_auth")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    _assert_asked_about(result, sim)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("refuse_service", "service_refused"), ("refuse_auth", "invalid_auth")],
)
async def test_refused(hass: HomeAssistant, sim: Simulator, fault: str, error: str) -> None:
    """The IP Office refuses the service or the service user; once it accepts them the entry is created."""
    result = await _to_certificate(hass, sim)
    setattr(sim.faults, fault, True)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    _assert_error(result, error)
    sim.faults.reset()
    await _retry_trusted(hass, result, sim)


async def test_too_many_connections(hass: HomeAssistant, sim: Simulator) -> None:
    """The IP Office already has its 10 connections; once one is free the entry is created."""
    result = await _to_certificate(hass, sim)
    sim.config.max_connections = 0
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    _assert_error(result, "too_many_connections")
    sim.config.max_connections = 10
    await _retry_trusted(hass, result, sim)


async def test_pinned_mismatch_is_tls_error(hass: HomeAssistant, sim: Simulator) -> None:
    """A certificate other than the one shown fails the pinned connection; the real one is then asked about."""
    result = await _choose_for_another_certificate(hass, sim, "trust_certificate")
    _assert_error(result, "tls_error")
    # The pin of the other certificate is not kept: the certificate the system presents is shown to trust.
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    _assert_asked_about(result, sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    await _assert_created(hass, result, sim)


@pytest.mark.parametrize(
    ("side_effect", "error"),
    [(RequestTimeoutError("slow"), "cannot_connect"), (RuntimeError("boom"), "unknown")],
)
async def test_connect_errors(hass: HomeAssistant, sim: Simulator, side_effect: Exception, error: str) -> None:
    """Other failures of the client; once the client connects again the entry is created."""
    result = await _to_certificate(hass, sim)
    with patch("custom_components.ipoffice.config_flow.IPOfficeClient.connect", side_effect=side_effect):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "trust_certificate"}
        )
    _assert_error(result, error)
    await _retry_trusted(hass, result, sim)


async def test_already_configured(hass: HomeAssistant, sim: Simulator) -> None:
    """The same IP Office (same certificate) cannot be added twice."""
    MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim)).add_to_hass(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _to_select(hass: HomeAssistant, sim: Simulator) -> ConfigFlowResult:
    """A flow on a system counted as large (more than 5 users) at its choice of users and queues."""
    with patch("custom_components.ipoffice.config_flow.LARGE_SYSTEM_USERS", 5):
        result = await _to_certificate(hass, sim)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "trust_certificate"}
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "select"
    return result


async def test_large_system_asks(hass: HomeAssistant, sim: Simulator) -> None:
    """On a system with many users the flow asks which users and queues to expose."""
    result = await _to_select(hass, sim)
    assert result["description_placeholders"] == {"users": "12"}
    users = [guid_of(sim, "2001"), guid_of(sim, "2002")]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERS: users, CONF_QUEUES: [guid_of(sim, "2501")]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {CONF_USERS: users, CONF_QUEUES: [guid_of(sim, "2501")]}
    await hass.async_block_till_done()


async def test_large_system_select_shown_again(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, sim: Simulator
) -> None:
    """Reopening the flow at the choice of users and queues (the frontend fetches it again) shows the same choice."""
    assert await async_setup_component(hass, "config", {})
    result = await _to_select(hass, sim)

    client = await hass_client()
    response = await client.get(f"/api/config/config_entries/flow/{result['flow_id']}")
    assert response.status == 200
    shown = await response.json()
    assert shown["type"] == FlowResultType.FORM
    assert shown["step_id"] == "select"
    assert shown["errors"] is None
    assert shown["description_placeholders"] == {"users": "12"}
    fields = {field["name"]: field for field in shown["data_schema"]}
    assert list(fields) == [CONF_USERS, CONF_QUEUES]
    users = fields[CONF_USERS]["selector"]["select"]["options"]
    assert len(users) == 12
    assert {"value": guid_of(sim, "2001"), "label": "2001 Alice Smith"} in users
    queues = fields[CONF_QUEUES]["selector"]["select"]["options"]
    assert [queue["label"] for queue in queues] == ["2501 Sales", "2502 Support", "2503 Reception"]

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_USERS: [guid_of(sim, "2001")]})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(sim)
    assert result["options"] == {CONF_USERS: [guid_of(sim, "2001")], CONF_QUEUES: []}
    await hass.async_block_till_done()


# --- reauthentication ------------------------------------------------------------------------------------------


async def test_reauth(hass: HomeAssistant, sim: Simulator) -> None:
    """A new password is checked and stored; the entry reloads."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="x", data=entry_data(sim, password="old"))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == PASSWORD
    await hass.async_block_till_done()


# --- reconfiguration -------------------------------------------------------------------------------------------


async def test_reconfigure(hass: HomeAssistant, sim: Simulator) -> None:
    """The address changes (the same certificate needs no question)."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim, port=1))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: 2})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PORT] == sim.port
    await hass.async_block_till_done()


async def test_reconfigure_to_other_entry(hass: HomeAssistant, sim: Simulator) -> None:
    """Pointing an entry at a system another entry has is refused."""
    MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim)).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, unique_id="other", data=entry_data(sim, port=1))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_new_certificate(hass: HomeAssistant, sim: Simulator) -> None:
    """A pinned entry whose system presents another certificate asks to trust it."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="system", data=entry_data(sim, fingerprint=OTHER_FINGERPRINT, password="wrong")
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "certificate"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "invalid_auth"}
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_PASSWORD: PASSWORD})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_FINGERPRINT] == sim.fingerprint
    await hass.async_block_till_done()


async def test_reconfigure_verify_mode(hass: HomeAssistant, sim: Simulator) -> None:
    """An entry that verified certificates is offered the choice when verification fails."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id="system", data=entry_data(sim, tls_mode=TLS_VERIFY, fingerprint=None)
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "disable_verification"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_TLS_MODE] == TLS_INSECURE
    await hass.async_block_till_done()


async def _assert_asked_then_cancelled(hass: HomeAssistant, result: ConfigFlowResult, sim: Simulator) -> None:
    """The reconfigure asks about ``sim``'s certificate; not trusting it ends the flow and changes nothing."""
    _assert_asked_about(result, sim)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "cancel"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "certificate_not_trusted"


@pytest.mark.parametrize(
    ("unique_id", "asked"),
    [(None, False), (OTHER_FINGERPRINT, True)],
    ids=["same-certificate", "other-certificate"],
)
async def test_reconfigure_insecure_same_address(
    hass: HomeAssistant, sim: Simulator, unique_id: str | None, asked: bool
) -> None:
    """An entry that does not verify keeps that at its address, unless the system presents another certificate than
    the one it was set up with (its unique id)."""
    data = entry_data(sim, tls_mode=TLS_INSECURE, fingerprint=None)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=unique_id or sim.fingerprint, data=data)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sim.port}
    )
    if asked:
        await _assert_asked_then_cancelled(hass, result, sim)
    else:
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
    assert dict(entry.data) == data


async def test_reconfigure_insecure_to_another_system(hass: HomeAssistant, sim: Simulator) -> None:
    """An entry that does not verify its system, pointed at another address, is asked about that certificate."""
    data = entry_data(sim, tls_mode=TLS_INSECURE, fingerprint=None)
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=data)
    entry.add_to_hass(hass)
    async with Simulator(SimulatorConfig(host="127.0.0.1", port=0)) as other:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: other.port}
        )
        await _assert_asked_then_cancelled(hass, result, other)
    assert dict(entry.data) == data


# --- options ---------------------------------------------------------------------------------------------------


async def test_options_not_loaded(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    """The users and queues can only be chosen while connected."""
    config_entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(config_entry.entry_id)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_loaded"


async def test_options(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Choosing users and queues reloads the entry with only those."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    alice = guid_of(sim, "2001")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_ALL_USERS: False, CONF_USERS: [alice], CONF_ALL_QUEUES: False, CONF_QUEUES: []},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_USERS: [alice], CONF_QUEUES: [], **DEFAULT_RULES}
    await hass.async_block_till_done()
    assert set(entry.runtime_data.client.users) == {alice}
    assert entry.runtime_data.client.queues == {}

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ALL_USERS: True, CONF_ALL_QUEUES: True}
    )
    assert entry.options == DEFAULT_RULES
    await hass.async_block_till_done()
    assert len(entry.runtime_data.client.users) == 12


# --- input the client cannot use --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_HOST: "127.0.0.1/x"}, {CONF_HOST: "invalid_host"}),  # it used to reach port 443, whatever the port
        ({CONF_HOST: "https://127.0.0.1"}, {CONF_HOST: "invalid_host"}),
        ({CONF_USERNAME: "ha:service"}, {CONF_USERNAME: "invalid_username"}),  # it used to end in a traceback
        ({CONF_PASSWORD: "pw€"}, {CONF_PASSWORD: "invalid_password"}),
        ({config_flow.CONF_SECONDARY: {CONF_HOST: "10.0.0.2/x"}}, {"base": "secondary_invalid_host"}),
    ],
)
async def test_input_the_client_cannot_use_is_a_form_error(
    hass: HomeAssistant,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim, **changes))
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert sim.connection_count == 0
    assert "Traceback" not in caplog.text
    assert "Unexpected error" not in caplog.text
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _user_input(sim))
    assert result["type"] is FlowResultType.MENU  # the certificate question: the corrected input goes on
    hass.config_entries.flow.async_abort(result["flow_id"])


async def test_reauth_and_reconfigure_refuse_input_the_client_cannot_use(hass: HomeAssistant, sim: Simulator) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sim.fingerprint, data=entry_data(sim))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: "ha:x", CONF_PASSWORD: PASSWORD}
    )
    assert result["errors"] == {CONF_USERNAME: "invalid_username"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: "\u20ac"}
    )
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}
    hass.config_entries.flow.async_abort(result["flow_id"])
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1/tpkt", CONF_PORT: sim.port}
    )
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert entry.data == entry_data(sim)
