"""The blueprints of blueprints/automation/ipoffice/: each loaded into Home Assistant, run against simulated calls."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from homeassistant.components import automation
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from simulator import Simulator

from .conftest import entity_id, guid_of, settle
from .test_services import BOB, SALES, client_of, device_of

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "ipoffice"


@pytest.fixture(autouse=True)
def blueprint_folder(hass: HomeAssistant, tmp_path: Path) -> None:
    """A config folder holding our blueprints, as a user who imported them has."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "ipoffice")


async def use_blueprint(hass: HomeAssistant, name: str, inputs: dict[str, Any]) -> None:
    """Create one automation from a blueprint."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {automation.DOMAIN: {"use_blueprint": {"path": f"ipoffice/{name}", "input": inputs}}},
    )
    await hass.async_block_till_done()
    states = hass.states.async_all(automation.DOMAIN)
    assert len(states) == 1
    assert states[0].state == "on", states[0]


def test_every_blueprint_is_tested() -> None:
    """Each blueprint file has a test here."""
    source = Path(__file__).read_text(encoding="utf-8")
    for path in BLUEPRINTS.glob("*.yaml"):
        assert f'"{path.name}"' in source, path.name


async def test_incoming_call_notify(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """A phone is told who is calling the chosen user, and only that user."""
    sent: list[ServiceCall] = async_mock_service(hass, "notify", "test_phone")
    await use_blueprint(
        hass,
        "incoming_call_notify.yaml",
        {"user": device_of(hass, sim, BOB), "notify_action": "notify.test_phone"},
    )
    sim.incoming_call(to="2003", caller="01707000000")
    call = sim.incoming_call(to=BOB, caller="01707123456", caller_name="Avaya Test trunk")
    await settle(hass, sim)
    assert len(sent) == 1
    data = sent[0].data
    assert data["title"] == "Incoming call"
    assert data["message"] == "Avaya Test trunk (01707123456) is calling Bob Jones."
    assert data["data"]["call_id"] == call.callid(BOB)
    sim.hangup(call, by="caller")
    sim.incoming_call(to=BOB, caller="01707123456", withheld=True)
    await settle(hass, sim)
    assert sent[-1].data["message"] == "Unknown caller (withheld) is calling Bob Jones."


async def until(condition: Callable[[], bool]) -> None:
    """Wait (up to 5 s) for ``condition``, without waiting for automations that are themselves waiting.

    ``hass.async_block_till_done()`` would wait for the automation run that waits for the call to end: a deadlock.
    """
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the condition is the mocks' call lists, not an event we own
            await asyncio.sleep(0.01)


async def test_pause_media_during_call(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Playing players pause when the call is answered and resume when it ends; idle ones are left alone."""
    paused: list[ServiceCall] = async_mock_service(hass, "media_player", "media_pause")
    played: list[ServiceCall] = async_mock_service(hass, "media_player", "media_play")
    hass.states.async_set("media_player.living_room", "playing")
    hass.states.async_set("media_player.kitchen", "idle")
    await use_blueprint(
        hass,
        "pause_media_during_call.yaml",
        {"user": device_of(hass, sim, BOB), "media_players": ["media_player.living_room", "media_player.kitchen"]},
    )
    call = sim.incoming_call(to=BOB, caller="01707123456")
    await settle(hass, sim)
    assert paused == []
    sim.answer(call)
    await sim.wait_quiet()
    await until(lambda: len(paused) == 1)
    assert paused[0].data["entity_id"] == ["media_player.living_room"]
    other = sim.incoming_call(to=BOB, caller="01707999999")  # another call of Bob's ending changes nothing
    await sim.wait_quiet()
    sim.hangup(other, by="caller")
    await sim.wait_quiet()
    await asyncio.sleep(0.1)
    assert played == []
    sim.hangup(call, by="caller")
    await sim.wait_quiet()
    await until(lambda: len(played) == 1)
    assert played[0].data["entity_id"] == ["media_player.living_room"]
    await hass.async_block_till_done()
    assert len(paused) == 1


async def test_queue_waiting_light(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """The light turns red (and flashes) when a call waits in the queue, and off once none waits."""
    on: list[ServiceCall] = async_mock_service(hass, "light", "turn_on")
    off: list[ServiceCall] = async_mock_service(hass, "light", "turn_off")
    waiting = entity_id(hass, "sensor", f"{guid_of(sim, SALES)}_calls_waiting")
    await use_blueprint(
        hass,
        "queue_waiting_light.yaml",
        {"calls_waiting": waiting, "light": "light.desk", "colour": [255, 0, 0], "flash": True},
    )
    call = sim.incoming_call(to=SALES, caller="01707123456")
    await settle(hass, sim)
    assert hass.states.get(waiting).state == "1"
    assert [c.data.get("rgb_color") or c.data.get("flash") for c in on] == [[255, 0, 0], "long"]
    assert off == []
    sim.answer(call, by="2001")
    await settle(hass, sim)
    assert hass.states.get(waiting).state == "0"
    assert len(off) == 1
    assert off[0].data["entity_id"] == ["light.desk"]


async def test_dnd_while_focused(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Do not disturb follows a focus input_boolean, through the ipoffice action and the user's notifies."""
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"focus": {}}})
    await use_blueprint(
        hass, "dnd_while_focused.yaml", {"user": device_of(hass, sim, BOB), "focus": "input_boolean.focus"}
    )
    user = client_of(init_integration).users[guid_of(sim, BOB)]
    assert not user.dnd
    await hass.services.async_call("input_boolean", "turn_on", {"entity_id": "input_boolean.focus"}, blocking=True)
    await hass.async_block_till_done()
    await settle(hass, sim)
    assert user.dnd
    await hass.services.async_call("input_boolean", "turn_off", {"entity_id": "input_boolean.focus"}, blocking=True)
    await hass.async_block_till_done()
    await settle(hass, sim)
    assert not user.dnd


async def test_forward_when_away(hass: HomeAssistant, sim: Simulator, init_integration: MockConfigEntry) -> None:
    """Leaving home forwards the user's calls to the mobile; coming back stops it; a call then follows."""
    hass.states.async_set("person.bob", "home")
    await use_blueprint(
        hass,
        "forward_when_away.yaml",
        {"person": "person.bob", "user": device_of(hass, sim, BOB), "mobile": "907700900002"},
    )
    user = client_of(init_integration).users[guid_of(sim, BOB)]
    hass.states.async_set("person.bob", "not_home")
    await hass.async_block_till_done()
    await settle(hass, sim)
    assert (user.fwdu, user.fwdu_number) == (True, "907700900002")
    hass.states.async_set("person.bob", "home")
    await hass.async_block_till_done()
    await settle(hass, sim)
    assert not user.fwdu
