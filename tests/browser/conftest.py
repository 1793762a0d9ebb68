"""Fixtures of the real-browser tests: Home Assistant and the simulator as processes, and Debian's Chromium.

Nothing is mocked: Home Assistant runs as ``python -m homeassistant`` on a throwaway folder (demo/run.py's
``DemoStack``), the simulator as ``python -m simulator``, and Playwright drives ``/usr/bin/chromium`` (never a
downloaded browser). Where Chromium, Playwright or Home Assistant's web UI is missing the tests are skipped, except
in CI (``CI`` set), where that is a failure: ``.ci/run`` installs Chromium, ``scripts/test`` the Python packages.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from demo.run import DemoStack, free_port

CHROMIUM = os.environ.get("IPOFFICE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / ".demo" / "browser-test"


def require(*, browser: bool, whole_module: bool = False) -> None:
    """Skip where these tests cannot run (no Chromium, or no web UI installed); fail instead in CI, which must run
    them. ``whole_module``: called while a test module is imported (before it imports Playwright), skip all of it."""
    missing = []
    if browser and not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium ({CHROMIUM}; Debian: apt-get install chromium)")
    needed = (("playwright", "playwright"),) if browser else ()
    for module, package in (*needed, ("hass_frontend", "home-assistant-frontend")):
        if importlib.util.find_spec(module) is None:
            missing.append(f"{package} (IPOFFICE_DEMO=1 scripts/setup)")
    if missing:
        message = "needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run this: .ci/run installs Chromium, scripts/test the packages)")
        pytest.skip(message, allow_module_level=whole_module)


@pytest.fixture
def browser_requirements() -> None:
    """Chromium, Playwright and Home Assistant's web UI."""
    require(browser=True)


@pytest_asyncio.fixture
async def stack(browser_requirements: None, socket_enabled: None, tmp_path: Path) -> AsyncIterator[DemoStack]:
    """The simulator (a generated 60-user system, so the flow asks which users to expose) and an onboarded Home
    Assistant without the integration; both stopped afterwards."""
    demo = DemoStack(demo_dir=tmp_path / "demo", ha_port=free_port(), traffic=False, generate=(60, 4))
    try:
        await demo.start(with_integration=False, progress=lambda _: None)
        yield demo
    finally:
        await demo.stop()
        # Keep Home Assistant's output where a failing run can be read (tmp_path is removed by pytest eventually).
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name in ("home-assistant.out", "simulator.log"):
            if (demo.demo_dir / name).exists():
                shutil.copy(demo.demo_dir / name, ARTIFACTS / name)
        assert demo.home_assistant is None or not demo.home_assistant.running
        assert demo.simulator is None or not demo.simulator.running
