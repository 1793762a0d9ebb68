"""A machine without Chromium or Playwright runs `scripts/test` too: the browser tests skip, saying what is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Playwright made unimportable in the child (as on a machine that never installed it), before pytest starts.
WITHOUT_PLAYWRIGHT = "import sys; sys.modules['playwright'] = None; import pytest; sys.exit(pytest.main(sys.argv[1:]))"


def test_suite_collects_without_playwright_and_chromium(tmp_path: Path) -> None:
    """The whole suite is collected with no error; the real-browser tests are skipped with a one-line reason."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "COV_CORE_SOURCE", "COV_CORE_CONFIG")}
    env["IPOFFICE_CHROMIUM"] = str(tmp_path / "no-chromium")
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_PLAYWRIGHT, "tests", "--collect-only", "-q", "-rs", "--no-cov"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "error" not in run.stdout.splitlines()[-1]
    skipped = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1, skipped
    assert "needs Chromium" in skipped[0]
    assert "playwright" in skipped[0]
    assert " tests collected" in run.stdout.splitlines()[-1]
