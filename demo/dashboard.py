"""The demo dashboard: users' phone states, queues' waiting calls, recent calls, and buttons that call actions.

Built from the integration's entity and device registry entries (as ``config/entity_registry/list`` and
``config/device_registry/list`` return them), so it follows whatever the entry exposes. Saved as the default
dashboard with the websocket command ``lovelace/config/save``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DOMAIN = "ipoffice"

# Call actions of the integration the dashboard has buttons for (each only while the integration registers it).
CALL_ACTIONS = ("make_call", "answer", "drop")
DND_BUTTONS = 6  # the first users' DND switches get a button; every user's is on its device page
# Entities disabled by default that the dashboard shows: the demo enables them as a user would (entity settings).
ENABLED_FOR_DASHBOARD = frozenset({"longest_waiting", "agents_available", "in_service"})


def _device_name(device: Mapping[str, Any] | None) -> str:
    if device is None:
        return "?"
    return str(device.get("name_by_user") or device.get("name") or "?")


def _by_key(entities: Iterable[Mapping[str, Any]], key: str) -> list[Mapping[str, Any]]:
    return [e for e in entities if e.get("translation_key") == key and not e.get("disabled_by")]


def _toggle(entity_id: str, label: str, icon: str) -> dict[str, Any]:
    return {
        "type": "button",
        "entity": entity_id,
        "name": label,
        "icon": icon,
        "show_state": True,
        "tap_action": {"action": "toggle"},
        "grid_options": {"columns": 4},
    }


def _heading(text: str, icon: str) -> dict[str, Any]:
    return {"type": "heading", "heading": text, "icon": icon}


def build_dashboard(
    entities: list[dict[str, Any]],
    devices: Mapping[str, Mapping[str, Any]],
    services: set[str],
    *,
    simulator_port: int = 0,
) -> dict[str, Any]:
    """The Lovelace configuration of the demo dashboard (a sections view)."""

    def name(entity: Mapping[str, Any]) -> str:
        return _device_name(devices.get(str(entity.get("device_id"))))

    def sort(items: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return sorted(items, key=name)

    phones = sort(_by_key(entities, "phone_state"))
    waiting = sort(_by_key(entities, "calls_waiting"))
    agents = {str(e.get("device_id")): e for e in _by_key(entities, "agents_available")}
    longest = {str(e.get("device_id")): e for e in _by_key(entities, "longest_waiting")}
    dnd = sort(_by_key(entities, "do_not_disturb"))
    in_service = sort(_by_key(entities, "in_service"))
    call_events = [e["entity_id"] for e in sort(_by_key(entities, "user_call") + _by_key(entities, "queue_call"))]

    phone_cards: list[dict[str, Any]] = [_heading("Phones", "mdi:phone-classic")]
    phone_cards += [
        {"type": "tile", "entity": e["entity_id"], "name": name(e), "grid_options": {"columns": 6}} for e in phones
    ]
    phone_cards += [
        {"type": "tile", "entity": e["entity_id"], "name": "Emergency call", "grid_options": {"columns": 12}}
        for e in _by_key(entities, "emergency_call")
    ]

    queue_cards: list[dict[str, Any]] = [_heading("Queues", "mdi:account-group")]
    for entity in waiting:
        device_id = str(entity.get("device_id"))
        queue_cards.append(
            {
                "type": "tile",
                "entity": entity["entity_id"],
                "name": f"{name(entity)}: waiting",
                "grid_options": {"columns": 6},
            }
        )
        for extra, label in ((longest.get(device_id), "longest wait"), (agents.get(device_id), "agents free")):
            if extra:
                queue_cards.append(
                    {
                        "type": "tile",
                        "entity": extra["entity_id"],
                        "name": f"{name(entity)}: {label}",
                        "grid_options": {"columns": 6},
                    }
                )

    recent_cards: list[dict[str, Any]] = [_heading("Recent calls", "mdi:phone-log")]
    recent_cards.append({"type": "logbook", "target": {"entity_id": call_events}, "hours_to_show": 4})

    about = (
        "Home Assistant connected to a simulated **Avaya IP Office** over MTCTI-3"
        + (f" (`wss://127.0.0.1:{simulator_port}/tpkt/openapi`, certificate pinned)" if simulator_port else "")
        + ". The simulator plays trunk calls queued and answered, internal calls, missed calls and DND changes."
    )
    recent_cards.append({"type": "markdown", "content": about})

    action_cards: list[dict[str, Any]] = [_heading("Actions", "mdi:gesture-tap-button")]
    action_cards += [_toggle(e["entity_id"], f"DND {name(e)}", "mdi:minus-circle") for e in dnd[:DND_BUTTONS]]
    action_cards += [_toggle(e["entity_id"], f"{name(e)} in service", "mdi:account-group") for e in in_service]
    # Call actions: the first phone calls the second, the second answers, the first hangs up.
    if len(phones) >= 2:
        caller, callee = phones[0], phones[1]
        callee_extn = str((devices.get(str(callee.get("device_id"))) or {}).get("serial_number") or "")
        buttons = [
            (
                "make_call",
                f"{name(caller)} calls {name(callee)}",
                "mdi:phone-outgoing",
                caller,
                {"target": callee_extn},
            ),
            ("answer", f"{name(callee)} answers", "mdi:phone-incoming", callee, {}),
            ("drop", f"{name(caller)} hangs up", "mdi:phone-hangup", caller, {}),
        ]
        for action, label, icon, phone, data in buttons:
            if action in services and (action != "make_call" or callee_extn):
                action_cards.append(
                    {
                        "type": "button",
                        "name": label,
                        "icon": icon,
                        "tap_action": {
                            "action": "perform-action",
                            "perform_action": f"{DOMAIN}.{action}",
                            "data": {"entity_id": phone["entity_id"], **data},
                        },
                        "grid_options": {"columns": 4},
                    }
                )
    if missing := [a for a in CALL_ACTIONS if a not in services]:
        action_cards.append(
            {
                "type": "markdown",
                "content": "Call actions (" + ", ".join(f"`{DOMAIN}.{a}`" for a in missing) + ") get buttons here "
                "once the integration offers them.",
            }
        )

    return {
        "title": "IP Office demo",
        "views": [
            {
                "title": "IP Office",
                "path": "ipoffice",
                "icon": "mdi:phone-classic",
                "type": "sections",
                "max_columns": 4,
                "sections": [
                    {"type": "grid", "cards": phone_cards},
                    {"type": "grid", "cards": queue_cards},
                    {"type": "grid", "cards": recent_cards},
                    {"type": "grid", "cards": action_cards},
                ],
            }
        ],
    }
