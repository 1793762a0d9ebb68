"""What hassfest and the HACS action would check, for a custom integration they do not fully validate.

manifest.json, hacs.json, the brand images, services.yaml, translations/en.json and icons.json are checked against
each other: every action and field translated, every translation key used by the code, every icon an entity's or an
action's, manifest keys ordered, no unknown hacs.json keys, requirements that accept Home Assistant's pins.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from awesomeversion import AwesomeVersion
from packaging.requirements import Requirement
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "ipoffice"
MANIFEST = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
HACS = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
# Abort reasons that Home Assistant's flow helpers use without the integration naming them.
IMPLICIT_ABORTS = {"already_configured", "already_in_progress", "reauth_successful", "reconfigure_successful"}
KEY = re.compile(r"^[a-z0-9-_]+$")
HACS_KEYS = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}


def _json(name: str) -> dict[str, Any]:
    path = INTEGRATION / name
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _code() -> str:
    """All Python source of the integration outside the client library, where translation keys are used."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(INTEGRATION.glob("*.py")) if p.name != "__main__.py")


def _services() -> dict[str, Any]:
    path = INTEGRATION / "services.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {} if path.exists() else {}


def test_manifest_as_hassfest_wants() -> None:
    """domain and name first, then the other keys in alphabetical order; the keys HACS needs are there."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST["domain"] == INTEGRATION.name == "ipoffice"
    assert MANIFEST["name"] == "Avaya IP Office"
    for key in ("codeowners", "documentation", "issue_tracker", "version", "iot_class", "integration_type"):
        assert MANIFEST[key], key
    assert MANIFEST["iot_class"] == "local_push"
    assert MANIFEST["documentation"].startswith("https://")
    assert MANIFEST["config_flow"] is True
    assert AwesomeVersion(MANIFEST["version"]).valid


def test_requirements_accept_home_assistants_pins() -> None:
    """Each requirement admits the version Home Assistant's package constraints pin (protobuf above all)."""
    constraints = Path(metadata.distribution("homeassistant").locate_file("homeassistant/package_constraints.txt"))
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.split(";")[0].strip()
    names = set()
    for text in MANIFEST["requirements"]:
        requirement = Requirement(text)
        names.add(requirement.name.lower())
        assert requirement.name.lower() in pins, f"{requirement.name} is not pinned by Home Assistant"
        assert requirement.specifier.contains(pins[requirement.name.lower()]), (text, pins[requirement.name.lower()])
    assert "protobuf" in names


def test_hacs_json() -> None:
    """Only the keys HACS knows; a minimum Home Assistant version no newer than the one we test with."""
    assert set(HACS) <= HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    assert AwesomeVersion(HACS["homeassistant"]) <= AwesomeVersion(metadata.version("homeassistant"))
    assert (ROOT / "README.md").exists()
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert [p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir()] == ["ipoffice"]


@pytest.mark.parametrize(
    ("name", "size"),
    [("icon.png", (256, 256)), ("icon@2x.png", (512, 512)), ("dark_icon.png", (256, 256)), ("logo.png", None)],
)
def test_brand_images(name: str, size: tuple[int, int] | None) -> None:
    """The brand images Home Assistant 2026.3+ serves from the integration, in the sizes it asks for."""
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        if size is None:
            assert 128 <= min(image.size) <= 256
        else:
            assert image.size == size


def test_every_action_and_field_translated_and_iconed() -> None:
    """services.yaml, translations and icons.json describe the same actions and fields, both ways."""
    services = _services()
    strings = _json("translations/en.json").get("services", {})
    icons = _json("icons.json").get("services", {})
    assert set(strings) == set(services)
    assert set(icons) == set(services)
    for name, body in services.items():
        assert strings[name]["name"], name
        assert strings[name]["description"], name
        fields: dict[str, Any] = {}
        for key, value in (body or {}).get("fields", {}).items():
            if "fields" in value and "selector" not in value:  # a collapsible section
                assert strings[name].get("sections", {}).get(key, {}).get("name"), f"{name} section {key}"
                fields |= value["fields"]
            else:
                fields[key] = value
        assert set(strings[name].get("fields", {})) == set(fields), name
        for field in fields:
            assert strings[name]["fields"][field]["name"], f"{name}.{field}"
            assert strings[name]["fields"][field]["description"], f"{name}.{field}"


def test_every_translation_key_in_code_exists() -> None:
    """Every translation_key literal in the code is translated; every config flow error and abort is used.

    (Entity, exception and issue keys, the other way round, are checked by tests/integration/test_quality_scale.py.)
    """
    strings = _json("translations/en.json")
    code = _code()
    known = (
        {key for keys in strings.get("entity", {}).values() for key in keys}
        | set(strings.get("exceptions", {}))
        | set(strings.get("issues", {}))
    )
    used = set(re.findall(r"translation_key\s*=\s*\"([a-z0-9_-]+)\"", code))
    assert used, "no translation keys found in the code"
    assert used <= known, f"untranslated: {sorted(used - known)}"
    for key in strings.get("config", {}).get("error", {}):
        assert f'"{key}"' in code, f"config.error.{key} is translated but never used"
    for key in set(strings.get("config", {}).get("abort", {})) - IMPLICIT_ABORTS:
        assert f'"{key}"' in code, f"config.abort.{key} is translated but never used"
