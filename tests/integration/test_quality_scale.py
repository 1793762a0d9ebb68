"""Checks hassfest does not make for a custom integration: quality scale, translations, icons, manifest."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml

from custom_components.ipoffice.const import QUEUE_EVENT_TYPES, USER_EVENT_TYPES
from custom_components.ipoffice.device_trigger import TRIGGER_TYPES
from custom_components.ipoffice.mtcti3 import PhoneState
from custom_components.ipoffice.select import SERVICE_MODES
from custom_components.ipoffice.sensor import PHONE_STATES

ROOT = Path(__file__).parents[2] / "custom_components" / "ipoffice"

RULES = {
    # Bronze
    "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow", "config-flow-test-coverage",
    "dependency-transparency", "docs-actions", "docs-triggers", "docs-conditions", "docs-high-level-description",
    "docs-installation-instructions", "docs-removal-instructions", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup", "unique-config-entry",
    # Silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters", "docs-installation-parameters",
    "entity-unavailable", "integration-owner", "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage",
    # Gold
    "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update", "docs-examples",
    "docs-known-limitations", "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
    "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations", "reconfiguration-flow", "repair-issues",
    "stale-devices",
    # Platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def _translations() -> dict[str, Any]:
    return json.loads((ROOT / "translations" / "en.json").read_text())


def test_quality_scale_lists_every_rule() -> None:
    """Every one of the 54 rules is listed: done, todo, or exempt with a comment."""
    assert len(RULES) == 54
    rules = yaml.safe_load((ROOT / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == RULES
    for rule, status in rules.items():
        if isinstance(status, dict):
            assert status["status"] in {"done", "exempt", "todo"}, rule
            if status["status"] == "exempt":
                assert status.get("comment"), f"{rule} is exempt without a reason"
        else:
            assert status in {"done", "todo"}, rule


def _keys(tree: Any, prefix: str = "") -> set[str]:
    if isinstance(tree, dict):
        return {key for name, sub in tree.items() for key in _keys(sub, f"{prefix}.{name}" if prefix else name)}
    return {prefix}


def test_translation_keys_are_valid() -> None:
    """Keys match [a-z0-9-_], no HTML."""
    for key in _keys(_translations()):
        for part in key.split("."):
            assert re.fullmatch(r"[a-z0-9_-]+", part), key
    assert "<" not in json.dumps(_translations())


def _used_translation_keys() -> dict[str, set[str]]:
    """translation_key="..." per platform module, and the keys of raised exceptions and issues."""
    used: dict[str, set[str]] = {}
    for path in ROOT.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "translation_key" and isinstance(node.value, ast.Constant):
                used.setdefault(path.stem, set()).add(node.value.value)
    return used


def test_entity_translations_and_icons_match() -> None:
    """Every entity translation key used has a name and an icon, and every one there is used."""
    translations = _translations()
    icons = json.loads((ROOT / "icons.json").read_text())
    used = _used_translation_keys()
    for platform in ("binary_sensor", "event", "select", "sensor", "switch", "text"):
        keys = used.get(platform, set())
        assert keys == set(translations["entity"][platform]), platform
        for key in keys:
            assert translations["entity"][platform][key]["name"]
            assert key in icons["entity"][platform] or platform == "binary_sensor", (platform, key)
        for key, icon in icons["entity"][platform].items():
            assert key in keys
            assert icon["default"].startswith("mdi:")
    phone = translations["entity"]["sensor"]["phone_state"]["state"]
    assert set(phone) == set(PHONE_STATES) == set(icons["entity"]["sensor"]["phone_state"]["state"])
    # every state the user's phone can be in (the sensor never takes a presence's RECOVER or UNKNOWN)
    assert set(PHONE_STATES) == {state.name.lower() for state in PhoneState} - {"recover", "unknown"}
    assert set(translations["entity"]["select"]["service_mode"]["state"]) == set(SERVICE_MODES)
    event = translations["entity"]["event"]
    assert set(event["user_call"]["state_attributes"]["event_type"]["state"]) == set(USER_EVENT_TYPES)
    assert set(event["queue_call"]["state_attributes"]["event_type"]["state"]) == set(QUEUE_EVENT_TYPES)
    assert set(translations["device_automation"]["trigger_type"]) == set(TRIGGER_TYPES)


def test_exception_and_issue_translations() -> None:
    """Every exception and issue key raised exists, and every one there is raised."""
    translations = _translations()
    source = "\n".join(path.read_text() for path in ROOT.glob("*.py"))
    raised = set(re.findall(r'translation_key="([a-z_]+)"', source))
    exceptions = set(translations["exceptions"])
    assert exceptions <= raised
    issues = set(translations["issues"])
    const = (ROOT / "const.py").read_text()
    assert issues == set(re.findall(r'ISSUE_[A-Z_]+: Final = "([a-z_]+)"', const))


def test_config_flow_strings() -> None:
    """Every error the config flow can show and every abort reason is translated."""
    translations = _translations()
    flow = (ROOT / "config_flow.py").read_text()
    errors = set(re.findall(r'return "([a-z_]+)"', flow)) - {"user", "reconfigure"}  # step names
    assert errors <= set(translations["config"]["error"])
    aborts = set(re.findall(r'reason="([a-z_]+)"', flow))
    assert aborts <= set(translations["config"]["abort"]) | set(translations["options"]["abort"])
    for step in ("user", "select", "reauth_confirm", "reconfigure"):
        step_strings = translations["config"]["step"][step]
        assert set(step_strings["data"]) == set(step_strings["data_description"]), step
