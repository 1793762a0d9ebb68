"""Logbook descriptions of the Avaya IP Office integration: calls in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CALL

MESSAGES = {
    "incoming": "incoming call from {party}",
    "outgoing": "outgoing call to {party}",
    "answered": "call with {party} answered",
    "held": "call with {party} put on hold",
    "resumed": "call with {party} resumed",
    "transferred": "call with {party} transferred",
    "ended": "call with {party} ended after {duration}",
    "missed": "missed a call from {party}",
    "queued": "call from {party} waiting",
    "abandoned": "caller {party} hung up while waiting",
}


def _party(data: dict[str, Any]) -> str:
    number = data.get("other_party_number")
    name = data.get("other_party_name")
    if number and name:
        return f"{name} ({number})"
    if not number and data.get("other_party_withheld"):
        return f"{name} (number withheld)" if name else "a withheld number"
    return name or number or "an unknown party"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def describe_call(data: dict[str, Any]) -> str:
    """Describe an ipoffice_call event in words."""
    template = MESSAGES.get(data.get("type", ""), "call with {party}: {type}")
    text = template.format(
        party=_party(data), duration=_duration(float(data.get("duration") or 0)), type=data.get("type")
    )
    return f"emergency call: {text}" if data.get("emergency") else text


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the call events."""

    @callback
    def async_describe_call(event: Event) -> dict[str, str]:
        data = event.data
        name = data.get("name") or data.get("extension") or "IP Office"
        return {LOGBOOK_ENTRY_NAME: str(name), LOGBOOK_ENTRY_MESSAGE: describe_call(dict(data))}

    async_describe_event(DOMAIN, EVENT_CALL, async_describe_call)
