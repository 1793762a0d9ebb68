"""The benchmarks still run: each with --quick in a subprocess prints its table (figures are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_benchmarks_print_their_tables() -> None:
    """bench_client_path, bench_e2e, bench_startup (through bench_reconnect) and bench_hostile run --quick and print
    a table."""
    runs = {
        "bench_client_path.py": ["--quick"],
        "bench_e2e.py": ["--quick", "--seconds", "0.5"],
        "bench_startup.py": ["--quick"],
        "bench_hostile.py": ["--quick"],
    }
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / name), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in runs.items()
    }
    for name, process in processes.items():
        out, err = process.communicate(timeout=200)
        assert process.returncode == 0, f"{name} failed:\n{out}\n{err[-3000:]}"
        assert "figure" in out, f"{name} printed no table:\n{out}"
        assert "ratio" in out
        assert "PASS" in out or "FAIL" in out, out
