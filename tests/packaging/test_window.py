"""The Home Assistant releases the integration claims, and what holds that claim together.

hacs.json's minimum (what HACS lets users install on), README's statement and the releases CI runs the demo's check
on (scripts/test) must name the same oldest release; the generated protobuf code must load on every protobuf the
manifest lets Home Assistant install; and the demo must start each release in a form it reads.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from demo.releases import DEMO_INTEGRATIONS, demo_requirements, prune, resolve
from demo.run import DemoStack, logged_of_ours

ROOT = Path(__file__).resolve().parents[2]
HACS = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((ROOT / "custom_components" / "ipoffice" / "manifest.json").read_text(encoding="utf-8"))
README = (ROOT / "README.md").read_text(encoding="utf-8")
GENERATED = ROOT / "custom_components" / "ipoffice" / "mtcti3" / "proto" / "ipo_mtcti3_pb2.py"


def ci_releases() -> list[str]:
    """The releases scripts/test (which .ci/run runs, without arguments) checks the demo on."""
    commands = [
        shlex.split(line.split("||")[0])
        for line in (ROOT / "scripts" / "test").read_text(encoding="utf-8").splitlines()
        if "demo.releases" in line and not line.lstrip().startswith("#")
    ]
    assert len(commands) == 1, commands
    command = commands[0]
    assert command[command.index("demo.releases") + 1] == "--check", command
    return command[command.index("--check") + 1 :]


def test_hacs_readme_and_ci_claim_the_same_oldest_release() -> None:
    """hacs.json's minimum is README's "Home Assistant X or later", and the oldest release CI checks; CI also checks
    the newest release on PyPI, and runs scripts/test without arguments, which is what checks the releases."""
    minimum = HACS["homeassistant"]
    supported = README.split("## Supported systems", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"Home Assistant (\S+) or later", supported) == [minimum]

    releases = ci_releases()
    assert "newest" in releases
    checked = [Version(resolve(name)) for name in releases if name != "newest"]
    assert checked
    assert min(checked) == Version(minimum)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"scripts/test\s*$", ci, re.MULTILINE), "CI must run scripts/test without arguments"


def test_generated_code_loads_on_every_protobuf_the_manifest_admits() -> None:
    """The generated code refuses a protobuf runtime older than the one it was generated for (its gencode) and more
    than one major release newer: the manifest's protobuf range must lie within, and its lower end be the gencode."""
    gencode = re.search(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),", GENERATED.read_text())
    assert gencode is not None
    generated = Version(".".join(gencode.groups()))
    (protobuf,) = (Requirement(text) for text in MANIFEST["requirements"] if text.startswith("protobuf"))
    lower = [Version(spec.version) for spec in protobuf.specifier if spec.operator == ">="]
    upper = [Version(spec.version) for spec in protobuf.specifier if spec.operator == "<"]
    assert lower == [generated], (str(protobuf.specifier), generated)
    assert upper
    assert upper[0] <= Version(f"{generated.major + 2}"), (str(protobuf.specifier), generated)
    assert not protobuf.specifier.contains(f"{generated.major + 2}.0.0")


def test_the_demo_installs_what_the_tested_release_pins() -> None:
    """On the release the tests pin, the demo's packages that demo/releases.py reads from the manifests are the ones
    requirements_demo.txt pins (so the demo sees the same packages on every release)."""
    import homeassistant

    pinned = {
        line.strip()
        for line in (ROOT / "requirements_demo.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith("playwright")
    }
    assert "frontend" in DEMO_INTEGRATIONS
    assert set(demo_requirements(Path(homeassistant.__file__).parent)) == pinned


@pytest.mark.parametrize(
    ("release", "in_yaml"), [("2026.3.0", True), ("2026.7.4", True), ("2026.8.0", False), ("2026.11.0", False)]
)
def test_the_demo_gives_each_release_its_web_server_settings_where_it_reads_them(
    tmp_path: Path, release: str, in_yaml: bool
) -> None:
    """Until 2026.7 Home Assistant reads its web server's settings from configuration.yaml; since 2026.8 from storage
    (where YAML would be a trial that reverts itself): the demo's port and 127.0.0.1 are where the release looks."""
    stack = DemoStack(demo_dir=tmp_path, ha_port=18123, ha_python=sys.executable)
    stack.ha_version = release
    stack.prepare_config()
    configuration = (stack.config_dir / "configuration.yaml").read_text(encoding="utf-8")
    stored = stack.config_dir / ".storage" / "http"
    if in_yaml:
        assert "http:\n  server_host: 127.0.0.1\n  server_port: 18123\n" in configuration
        assert not stored.exists()
    else:
        assert "http:" not in configuration
        settings = json.loads(stored.read_text(encoding="utf-8"))["data"]["stable"]
        assert settings["server_port"] == 18123
        assert settings["server_host"] == ["127.0.0.1"]


LOG = """\
2026-12-04 17:58:32.354 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom integration ipoffice which \
has not been tested by Home Assistant. This component might cause stability problems
2026-12-04 17:58:41.330 WARNING (MainThread) [aiohttp_fast_zlib] zlib_ng and isal are not available
2026-12-04 17:58:42.100 WARNING (MainThread) [homeassistant.config] Could not read /src/ipoffice/.demo/config/x.yaml
2026-12-04 17:58:42.200 INFO (MainThread) [custom_components.ipoffice] Connection to IP Office 127.0.0.1 lost
2026-12-04 17:58:43.000 WARNING (MainThread) [homeassistant.helpers.frame] Detected that custom integration \
'ipoffice' calls `device_registry.async_get_device`, which is deprecated
2026-12-04 17:58:44.000 ERROR (MainThread) [homeassistant.config_entries] Error setting up entry IP Office 127.0.0.1
Traceback (most recent call last):
  File "/src/ipoffice/custom_components/ipoffice/__init__.py", line 124, in async_setup_entry
AttributeError: boom
2026-12-04 17:58:45.000+00:00 ERROR (MainThread) [custom_components.ipoffice.mtcti3.client] MTCTI-3 listener failed
"""


def test_the_demos_check_finds_every_warning_of_ours_in_home_assistants_log() -> None:
    """Deprecations Home Assistant reports of the integration, errors of its loggers and tracebacks through its code
    fail the check; the notice every custom integration gets, other loggers, and a path that happens to hold the
    word do not."""
    found = logged_of_ours(LOG)
    assert [record.splitlines()[0].split("] ", 1)[1] for record in found] == [
        "Detected that custom integration 'ipoffice' calls `device_registry.async_get_device`, which is deprecated",
        "Error setting up entry IP Office 127.0.0.1",
        "MTCTI-3 listener failed",
    ]
    assert "AttributeError: boom" in found[1]


def test_release_environments_unused_for_a_month_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache keeps the environments runs use (the oldest and newest release) and drops the others after a month,
    and what a stopped run left half-made."""
    monkeypatch.setenv("IPOFFICE_CACHE", str(tmp_path))
    month_ago = time.time() - 31 * 86400
    for name in ("ha-2026.3.0-aaaa", "ha-2026.10.4-bbbb", "ha-2026.11.0-cccc", "ha-2026.11.0-cccc.x1y2z3"):
        (tmp_path / name).mkdir()
        if "." not in name.rsplit("-", 1)[1]:
            (tmp_path / name / "ready").write_text("")
    os.utime(tmp_path / "ha-2026.10.4-bbbb" / "ready", (month_ago, month_ago))
    os.utime(tmp_path / "ha-2026.11.0-cccc.x1y2z3", (month_ago, month_ago))
    os.utime(tmp_path / "ha-2026.3.0-aaaa" / "ready", (month_ago, month_ago))
    prune(keep=tmp_path / "ha-2026.3.0-aaaa")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ha-2026.11.0-cccc", "ha-2026.3.0-aaaa"]
