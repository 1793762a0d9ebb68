"""A secondary IP Office in the config flow, reconfigure and reauth: its own certificate trust, its own errors."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ipoffice.const import (
    CONF_SECONDARY,
    CONF_SECONDARY_FINGERPRINT,
    CONF_SECONDARY_PORT,
    CONF_SECONDARY_TLS_MODE,
    DOMAIN,
    TLS_INSECURE,
    TLS_PINNED,
)
from simulator import Simulator, SimulatorConfig
from simulator.pair import PRIMARY, SimulatorPair

from .conftest import PASSWORD, USERNAME, _unload_all, entry_data, pair_data


def _input(sims: SimulatorPair, secondary_port: int | None = None, **secondary: Any) -> dict[str, Any]:
    section = {CONF_HOST: "127.0.0.1", CONF_PORT: sims.secondary.port if secondary_port is None else secondary_port}
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sims.primary.port,
        CONF_USERNAME: USERNAME,
        CONF_PASSWORD: PASSWORD,
        CONF_SECONDARY: {**section, **secondary},
    }


async def _configure(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    return await hass.config_entries.flow.async_configure(flow_id, user_input)


async def test_setup_trusts_each_certificate(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """Each system's certificate is shown with its own host and fingerprint; the entry pins both."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert CONF_SECONDARY in result["data_schema"].schema
    result = await _configure(hass, result["flow_id"], _input(sims))
    assert result["step_id"] == "certificate"
    assert result["description_placeholders"]["fingerprint"] == sims.primary.fingerprint
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.MENU
    assert result["description_placeholders"]["fingerprint"] == sims.secondary.fingerprint
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == pair_data(sims)
    assert result["result"].unique_id == sims.primary.fingerprint
    await hass.async_block_till_done()

    # Loaded as a pair: both connected, users served by the primary.
    registry = er.async_get(hass)
    serving = registry.async_get_entity_id("sensor", DOMAIN, f"{sims.primary.fingerprint}_serving_system")
    secondary = registry.async_get_entity_id(
        "binary_sensor", DOMAIN, f"{sims.primary.fingerprint}_secondary_connectivity"
    )
    assert serving
    assert secondary
    assert hass.states.get(serving).state == PRIMARY  # type: ignore[union-attr]
    assert hass.states.get(secondary).state == "on"  # type: ignore[union-attr]
    assert sims.primary.connection_count == sims.secondary.connection_count == 1


async def test_secondary_without_verification(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """Verification can be turned off for the secondary alone."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure(hass, result["flow_id"], _input(sims))
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    result = await _configure(hass, result["flow_id"], {"next_step_id": "disable_verification"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SECONDARY_TLS_MODE] == TLS_INSECURE
    assert result["data"][CONF_SECONDARY_FINGERPRINT] is None
    await hass.async_block_till_done()


async def test_secondary_errors_name_the_secondary(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """The primary's trust is kept across attempts; each secondary problem has its own message."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure(hass, result["flow_id"], _input(sims, secondary_port=sims.primary.port))
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "secondary_same_as_primary"}

    await sims.take_down("secondary")
    result = await _configure(hass, result["flow_id"], _input(sims))
    assert result["errors"] == {"base": "secondary_cannot_connect"}  # the primary's certificate was not asked again

    await sims.bring_up("secondary")
    sims.secondary.config.password = "another-password"
    result = await _configure(hass, result["flow_id"], _input(sims))
    assert result["step_id"] == "certificate"
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["errors"] == {"base": "secondary_invalid_auth"}

    sims.secondary.config.password = PASSWORD
    result = await _configure(hass, result["flow_id"], _input(sims))  # the secondary's trust is kept too
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == pair_data(sims)
    await hass.async_block_till_done()


async def _to_unverified_secondary(hass: HomeAssistant, sims: SimulatorPair) -> dict[str, Any]:
    """Trust the primary, choose not to verify the secondary, whose password is wrong: the form shows the error."""
    sims.secondary.config.password = "another-password"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await _configure(hass, result["flow_id"], _input(sims))
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["description_placeholders"]["fingerprint"] == sims.secondary.fingerprint
    result = await _configure(hass, result["flow_id"], {"next_step_id": "disable_verification"})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "secondary_invalid_auth"}
    return result


async def test_secondary_insecure_choice_is_kept(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """After choosing not to verify the secondary, a retry with the same secondary does not ask again."""
    result = await _to_unverified_secondary(hass, sims)
    sims.secondary.config.password = PASSWORD
    result = await _configure(hass, result["flow_id"], _input(sims))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SECONDARY_TLS_MODE] == TLS_INSECURE
    await hass.async_block_till_done()


async def test_secondary_insecure_choice_is_not_kept_for_another_system(
    hass: HomeAssistant, sims: SimulatorPair
) -> None:
    """Not verifying one secondary is no choice about another secondary: its own certificate is asked about."""
    result = await _to_unverified_secondary(hass, sims)
    async with Simulator(SimulatorConfig(host="127.0.0.1", port=0)) as other:
        result = await _configure(hass, result["flow_id"], _input(sims, secondary_port=other.port))
        assert result["type"] is FlowResultType.MENU  # the primary's pin is kept; the new secondary is asked about
        assert result["description_placeholders"] == {"fingerprint": other.fingerprint, "host": "127.0.0.1"}
        result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_SECONDARY_PORT] == other.port
        assert result["data"][CONF_SECONDARY_TLS_MODE] == TLS_PINNED
        assert result["data"][CONF_SECONDARY_FINGERPRINT] == other.fingerprint
        await hass.async_block_till_done()
        await _unload_all(hass)


async def test_reconfigure_unverified_secondary(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """A secondary the entry does not verify stays so at its address; another secondary's certificate is asked about."""
    data = {**pair_data(sims), CONF_SECONDARY_TLS_MODE: TLS_INSECURE, CONF_SECONDARY_FINGERPRINT: None}
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=data)
    entry.add_to_hass(hass)
    async with Simulator(SimulatorConfig(host="127.0.0.1", port=0)) as other:
        result = await entry.start_reconfigure_flow(hass)
        secondary = {CONF_HOST: "127.0.0.1", CONF_PORT: other.port}
        result = await _configure(
            hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: secondary}
        )
        assert result["type"] is FlowResultType.MENU
        assert result["description_placeholders"] == {"fingerprint": other.fingerprint, "host": "127.0.0.1"}
        result = await _configure(hass, result["flow_id"], {"next_step_id": "cancel"})
        assert result["reason"] == "certificate_not_trusted"
    assert dict(entry.data) == data

    result = await entry.start_reconfigure_flow(hass)
    secondary = {CONF_HOST: "127.0.0.1", CONF_PORT: sims.secondary.port}
    result = await _configure(
        hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: secondary}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(entry.data) == data


async def test_reconfigure_adds_and_removes_the_secondary(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """A single system becomes a pair and back; the pair's entities go with the secondary."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=entry_data(sims.primary))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    serving_id = f"{sims.primary.fingerprint}_serving_system"
    assert registry.async_get_entity_id("sensor", DOMAIN, serving_id) is None

    result = await entry.start_reconfigure_flow(hass)
    assert CONF_SECONDARY in result["data_schema"].schema
    secondary = {CONF_HOST: "127.0.0.1", CONF_PORT: sims.secondary.port}
    result = await _configure(
        hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: secondary}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["description_placeholders"]["fingerprint"] == sims.secondary.fingerprint
    result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(entry.data) == pair_data(sims)
    assert entry.runtime_data.pair is not None
    assert registry.async_get_entity_id("sensor", DOMAIN, serving_id) is not None

    # Reconfigured with the same secondary: nothing to trust again.
    result = await entry.start_reconfigure_flow(hass)
    result = await _configure(
        hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: secondary}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    result = await entry.start_reconfigure_flow(hass)
    result = await _configure(
        hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: {}}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(entry.data) == entry_data(sims.primary)
    assert entry.runtime_data.pair is None
    assert registry.async_get_entity_id("sensor", DOMAIN, serving_id) is None
    assert sims.secondary.connection_count == 0


async def test_reauth_checks_both_systems(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """Both systems share the service user: the new password must work on the secondary too."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=pair_data(sims))
    entry.add_to_hass(hass)
    sims.primary.config.password = sims.secondary.config.password = "new-password"
    result = await entry.start_reauth_flow(hass)
    sims.secondary.config.password = "not-yet-changed"
    result = await _configure(hass, result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: "new-password"})
    assert result["errors"] == {"base": "secondary_invalid_auth"}
    sims.secondary.config.password = "new-password"
    result = await _configure(hass, result["flow_id"], {CONF_USERNAME: USERNAME, CONF_PASSWORD: "new-password"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_PASSWORD] == "new-password"
    await hass.async_block_till_done()


async def test_a_system_of_a_pair_is_not_added_twice(hass: HomeAssistant, sims: SimulatorPair) -> None:
    """A pair's secondary cannot become an entry of its own or another entry's secondary (its users would show
    twice); the flow says so and recovers once another system is given."""
    pair = MockConfigEntry(domain=DOMAIN, unique_id=sims.primary.fingerprint, data=pair_data(sims))
    pair.add_to_hass(hass)

    # The secondary as the primary of a new entry.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    single = {CONF_HOST: "127.0.0.1", CONF_PORT: sims.secondary.port, CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD}
    result = await _configure(hass, result["flow_id"], single)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    # The pair's primary (or secondary) as the secondary of another system's entry: an error on the form.
    async with SimulatorPair(SimulatorConfig(host="127.0.0.1"), SimulatorConfig(host="127.0.0.1")) as others:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        for taken in (sims.primary.port, sims.secondary.port):
            result = await _configure(
                hass, result["flow_id"], {**_input(others), CONF_SECONDARY: {CONF_HOST: "127.0.0.1", CONF_PORT: taken}}
            )
            if result["type"] is FlowResultType.MENU:  # the first time: the primary's certificate, trusted
                result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
            assert result["type"] is FlowResultType.FORM
            assert result["errors"] == {"base": "secondary_already_configured"}
        result = await _configure(hass, result["flow_id"], _input(others))  # its own secondary: the flow goes on
        assert result["step_id"] == "certificate"
        assert result["description_placeholders"]["fingerprint"] == others.secondary.fingerprint
        result = await _configure(hass, result["flow_id"], {"next_step_id": "trust_certificate"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == others.primary.fingerprint
        await hass.async_block_till_done()
        await _unload_all(hass)

    # Reconfiguring the pair with its own systems is no duplicate.
    result = await pair.start_reconfigure_flow(hass)
    secondary = {CONF_HOST: "127.0.0.1", CONF_PORT: sims.secondary.port}
    result = await _configure(
        hass, result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: sims.primary.port, CONF_SECONDARY: secondary}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
