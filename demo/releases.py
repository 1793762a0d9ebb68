"""Home Assistant releases installed the way a user gets them, to run the demo and its check on.

``scripts/demo --ha VERSION`` runs the demo on another release than the one the tests pin; ``scripts/test`` (and so
CI) runs the demo's check on the oldest release hacs.json claims and on the newest one on PyPI::

    python -m demo.releases --check minimum newest

A release is installed into an environment of its own, kept in the cache folder (``~/.cache/ipoffice``, or
``$IPOFFICE_CACHE``) for the next run, as Home Assistant's own container image installs it: ``homeassistant`` resolved
under the release's ``package_constraints.txt``, with uv (which Home Assistant itself installs packages with). Added
to it: the requirements of the integrations Home Assistant always loads that the demo needs (its web UI, assist,
text-to-speech...) at the versions their manifests pin in that release, which Home Assistant would install at the
first start of a default configuration. The integration's own requirements are left out on purpose: Home Assistant
installs them under the same constraints when the config flow starts, as it does for a user (the demo lets it on
another release: no ``--skip-pip``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HACS = ROOT / "hacs.json"
MANIFEST = ROOT / "custom_components" / "ipoffice" / "manifest.json"
# Integrations Home Assistant loads whatever the configuration that import packages the demo needs: the web UI, and
# what /api/services and the start import (requirements_demo.txt pins the same for the tested release). A release
# that has no such integration yet skips it.
DEMO_INTEGRATIONS = (
    "frontend",
    "conversation",
    "tts",
    "camera",
    "ffmpeg",
    "assist_pipeline",
    "radio_frequency",
    "infrared",
)
# Changes when what an environment holds changes: environments made by another version of this file are not reused.
LAYOUT = "1"
RELEASE = re.compile(r"^\d{4}\.\d{1,2}\.\d+$")


class ReleaseError(Exception):
    """A release could not be found or installed; the message says why."""


def say(text: str) -> None:
    """Progress, on stderr (stdout carries only what a caller reads)."""
    sys.stderr.write(f"releases: {text}\n")
    sys.stderr.flush()


def cache_dir() -> Path:
    """Where the environments are kept between runs."""
    if configured := os.environ.get("IPOFFICE_CACHE"):
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ipoffice"


def minimum() -> str:
    """The oldest release the integration claims (hacs.json's ``homeassistant``)."""
    return str(json.loads(HACS.read_text(encoding="utf-8"))["homeassistant"])


def base_python() -> str:
    """The interpreter the environments are made with: the one under the project's (Python 3.14)."""
    return str(getattr(sys, "_base_executable", sys.executable))


def uv(*args: str, stdin: str = "") -> str:
    """Run uv (a requirement of Home Assistant, so in the project's environment); return its output."""
    command = [sys.executable, "-m", "uv", *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)  # noqa: S603 - our argv
    if result.returncode != 0:
        raise ReleaseError(f"uv {' '.join(args[:2])} failed:\n{result.stderr.strip()[-3000:]}")
    return result.stdout


def newest() -> str:
    """The newest release on PyPI (no pre-release) that installs on this Python."""
    compiled = uv(
        "pip",
        "compile",
        "--quiet",
        "--no-deps",
        "--no-header",
        "--no-annotate",
        "--python",
        base_python(),
        "-",
        stdin="homeassistant\n",
    )
    return resolve_pin(compiled)


def resolve_pin(compiled: str) -> str:
    """``homeassistant==X`` in uv's output, as X."""
    for line in compiled.splitlines():
        if line.startswith("homeassistant=="):
            return line.split("==", 1)[1].strip()
    raise ReleaseError(f"no homeassistant release in {compiled!r}")


def resolve(name: str) -> str:
    """A release number from a release number, ``minimum`` or ``newest``."""
    if name == "minimum":
        return minimum()
    if name == "newest":
        return newest()
    if not RELEASE.match(name):
        raise ReleaseError(f"{name!r} is not a Home Assistant release (like 2026.3.4), minimum or newest")
    return name


def _site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


def demo_requirements(homeassistant: Path) -> list[str]:
    """The requirements the manifests of DEMO_INTEGRATIONS pin in an installed release (its ``homeassistant``)."""
    wanted: list[str] = []
    for domain in DEMO_INTEGRATIONS:
        manifest = homeassistant / "components" / domain / "manifest.json"
        if manifest.exists():
            wanted += json.loads(manifest.read_text(encoding="utf-8")).get("requirements", [])
    return wanted


def environment(version: str) -> Path:
    """The folder of ``version``'s environment: one per release and per what this file installs into it."""
    key = hashlib.sha256(f"{LAYOUT} {version} {DEMO_INTEGRATIONS}".encode()).hexdigest()[:8]
    return cache_dir() / f"ha-{version}-{key}"


def python_of(env: Path) -> Path:
    """The interpreter of an environment."""
    return env / "bin" / "python"


def install(version: str) -> Path:
    """The Python of an environment holding Home Assistant ``version`` as a user gets it; made when missing."""
    env = environment(version)
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / f"{env.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker at a time; a finished one is only added to (by Home Assistant)
        if (env / "ready").exists():
            (env / "ready").touch()  # used: see prune
            return python_of(env)
        prune(keep=env)
        began = time.monotonic()
        say(f"installing Home Assistant {version} into {env}")
        work = Path(tempfile.mkdtemp(prefix=f"{env.name}.", dir=cache_dir()))
        try:
            make(version, work)
            shutil.rmtree(env, ignore_errors=True)  # a half-made one of a run that was stopped
            work.rename(env)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        say(f"installed Home Assistant {version} in {time.monotonic() - began:.0f} s")
    return python_of(env)


def prune(keep: Path, unused_days: float = 30) -> None:
    """Remove the environments no run has used for ``unused_days`` (releases no longer checked, older layouts), and
    what a run stopped half-way left."""
    for env in cache_dir().glob("ha-*"):
        if env == keep or not env.is_dir():
            continue
        used = env / "ready" if (env / "ready").exists() else env
        if time.time() - used.stat().st_mtime > unused_days * 86400:
            say(f"removing {env}, unused for {unused_days:.0f} days")
            shutil.rmtree(env, ignore_errors=True)


def make(version: str, env: Path) -> None:
    """Install ``version`` into a new environment at ``env``."""
    uv("venv", "--quiet", "--relocatable", "--python", base_python(), str(env))
    python = str(python_of(env))
    # The release's constraints are in the release: install it alone first to read them.
    uv("pip", "install", "--quiet", "--python", python, "--no-deps", f"homeassistant=={version}")
    homeassistant = _site_packages(env) / "homeassistant"
    constraints = homeassistant / "package_constraints.txt"
    if not constraints.exists():
        raise ReleaseError(f"Home Assistant {version} has no package_constraints.txt")
    wanted = [f"homeassistant=={version}", *demo_requirements(homeassistant)]
    uv("pip", "install", "--quiet", "--python", python, "--constraint", str(constraints), *wanted)
    (env / "ready").write_text(f"homeassistant=={version}\n", encoding="utf-8")


def check(version: str, python: Path) -> bool:
    """Run the demo's check on ``python``'s release; show what failed. Whether it passed."""
    folder = ROOT / ".demo" / f"release-{version}"
    command = [sys.executable, "-m", "demo.run", "--check", "--port", "0", "--dir", str(folder)]
    command += ["--ha-python", str(python)]
    began = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)  # noqa: S603 - our argv
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode == 0:
        say(f"Home Assistant {version}: the demo's check passed ({time.monotonic() - began:.0f} s)")
        return True
    say(f"Home Assistant {version}: the demo's check FAILED; the end of {folder / 'home-assistant.out'}:")
    with contextlib.suppress(OSError):
        lines = (folder / "home-assistant.out").read_text(errors="replace").splitlines()
        sys.stderr.write("\n".join(lines[-60:]) + "\n")
    return False


def main() -> None:
    """Command line: ``python -m demo.releases [--check] RELEASE...``."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.releases",
        description="Install Home Assistant releases as a user gets them and print their Python (with --check: run "
        "the demo's check on each instead).",
    )
    parser.add_argument("releases", nargs="+", metavar="RELEASE", help="a release (2026.3.4), minimum or newest")
    parser.add_argument("--check", action="store_true", help="run the demo's check on each; exit 1 if one fails")
    parser.add_argument("--resolve", action="store_true", help="only print the release numbers")
    args = parser.parse_args()
    try:
        versions = list(dict.fromkeys(resolve(name) for name in args.releases))
        if args.resolve:
            sys.stdout.write("".join(f"{version}\n" for version in versions))
            return
        if not args.check:
            sys.stdout.write("".join(f"{install(version)}\n" for version in versions))
            return
        say(f"checking the demo on Home Assistant {', '.join(versions)}")
        failed = [version for version in versions if not check(version, install(version))]
    except ReleaseError as err:
        say(str(err))
        sys.exit(1)
    if failed:
        say(f"the demo's check failed on Home Assistant {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
