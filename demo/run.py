"""Start the demo: the IP Office simulator with call traffic, and Home Assistant with this integration set up on it.

``scripts/demo`` runs this module. Everything happens as a user would do it, only faster: a fresh configuration
folder (``.demo/config``), onboarding through Home Assistant's onboarding endpoints (an owner user ``demo`` with a
printed password), the integration added through the config flow endpoints (address, service user, then trusting
the certificate whose fingerprint the flow shows), and a dashboard saved as the default one.

Ctrl-C (SIGINT) or SIGTERM stops Home Assistant, then the simulator. ``--check`` starts everything, checks that the
integration is loaded, its entities have states and the traffic changes them, and that Home Assistant logged no
warning or error of the integration, then stops and exits 0 (1 on failure). ``--ha RELEASE`` runs another Home
Assistant release than the one the tests pin, installed as a user gets it (``demo/releases.py``).

The parts are reusable: ``tests/browser`` starts the same stack without adding the integration, and adds it in a
real browser instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO

import aiohttp

from demo.dashboard import ENABLED_FOR_DASHBOARD, build_dashboard
from demo.releases import ReleaseError, install, resolve

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
DOMAIN = "ipoffice"
HA_START_TIMEOUT = 120.0
DASHBOARD = "ipoffice-demo"
# Integrations the onboarding core_config step sets up that need packages or the internet the demo has not.
ONBOARDING_ADDS = {"google_translate", "met", "radio_browser"}
DASHBOARD_VIEW = "ipoffice"

CONFIGURATION_YAML = """\
# Written by demo/run.py for a throwaway demo instance: what default_config would bring that the demo uses,
# without the integrations that want extra packages or the internet.
homeassistant:
  name: IP Office demo
  country: GB
  time_zone: Europe/London
  unit_system: metric
  currency: GBP
  latitude: 51.5072
  longitude: -0.1276
  elevation: 11
frontend:
config:
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml
logbook:
history:
logger:
  default: warning
  logs:
    custom_components.ipoffice: info
    homeassistant.setup: info
"""


def _first_options(schema: list[dict[str, Any]], count: int = 12) -> dict[str, Any]:
    """Answers to a form of multiple selects (the flow's "choose users and queues"): the first ``count`` of each."""
    answers: dict[str, Any] = {}
    for item in schema:
        select = (item.get("selector") or {}).get("select") or {}
        if select.get("multiple"):
            answers[item["name"]] = [option["value"] for option in select.get("options", [])[:count]]
    return answers


class DemoError(Exception):
    """The demo could not be started; the message says what failed."""


# The first release that keeps the HTTP server's settings in storage (.storage/http) rather than in YAML.
HTTP_SETTINGS_IN_STORAGE = (2026, 8)


def _release(version: str) -> tuple[int, int]:
    """The year and month of a Home Assistant release such as 2026.3.4 or 2026.12.0b1."""
    year, month = version.split(".")[:2]
    return int(year), int(month)


async def home_assistant_version(python: str) -> str:
    """The release of Home Assistant that ``python`` runs."""
    process = await asyncio.create_subprocess_exec(
        python,
        "-c",
        "from homeassistant.const import __version__; print(__version__)",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise DemoError(f"{python} has no Home Assistant: {err.decode(errors='replace').strip()[-500:]}")
    return out.decode().strip()


def say(text: str = "", stream: TextIO | None = None) -> None:
    """Print a line on the console (stdout unless told), at once."""
    out = stream or sys.stdout
    out.write(text + "\n")
    out.flush()


def _port_of(url: str) -> int:
    """The port of ``wss://host:port/path``."""
    return int(url.split(":")[2].split("/", maxsplit=1)[0])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Have the kernel send SIGTERM to this child when the demo process dies, even by SIGKILL (no orphans)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A child process of the demo, in its own process group (Ctrl-C reaches the demo only, which stops it)."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        """Wrap a started process."""
        self.name = name
        self.process = process

    @classmethod
    async def start(cls, name: str, *argv: str, stdout: Any, stderr: Any) -> Child:
        """Start ``argv`` with the demo's Python and environment, rooted at the repository."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=ROOT,
            process_group=0,
            preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
        )
        return cls(name, process)

    @property
    def running(self) -> bool:
        """Whether the process has not exited."""
        return self.process.returncode is None

    async def stop(self, grace: float) -> None:
        """SIGTERM, wait up to ``grace`` seconds for a clean exit, then SIGKILL."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                say(f"demo: {self.name} did not stop within {grace:.0f} s; killing it", sys.stderr)
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        else:
            await self.process.wait()


@dataclass
class SimulatorInfo:
    """Where the simulator listens."""

    port: int
    fingerprint: str
    url: str
    traffic: bool
    secondary_port: int = 0  # --pair: the secondary IP Office of a resilient pair
    secondary_fingerprint: str = ""


@dataclass
class DemoStack:
    """The simulator and Home Assistant, started and stopped together."""

    demo_dir: Path = DEMO_DIR
    ha_port: int = 8123
    traffic: bool = True
    owner_name: str = "Demo Owner"
    username: str = "demo"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    sim_username: str = "homeassistant"
    sim_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    generate: tuple[int, int] | None = None  # (users, queues): a generated system instead of the bundled office
    pair: bool = False  # a resilient pair (primary and secondary) instead of one system
    # The Python of the Home Assistant install to run: this one, or another release's (scripts/demo --ha VERSION).
    ha_python: str = sys.executable

    simulator: Child | None = field(default=None, init=False)
    home_assistant: Child | None = field(default=None, init=False)
    sim_info: SimulatorInfo | None = field(default=None, init=False)
    token: str = field(default="", init=False)
    entry_id: str = field(default="", init=False)
    _session: aiohttp.ClientSession | None = field(default=None, init=False)
    _sim_admin: str = field(default="", init=False)
    ha_version: str = field(default="", init=False)  # the release that ha_python runs, read at start

    # ------------------------------------------------------------------------------------------------ paths

    @property
    def config_dir(self) -> Path:
        """Home Assistant's configuration folder (recreated at each start)."""
        return self.demo_dir / "config"

    @property
    def url(self) -> str:
        """Where Home Assistant serves."""
        return f"http://127.0.0.1:{self.ha_port}"

    @property
    def client_id(self) -> str:
        """The OAuth client id the demo logs in with (Home Assistant accepts its own URL)."""
        return f"{self.url}/"

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session to Home Assistant."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # ------------------------------------------------------------------------------------------------ lifecycle

    async def start(self, *, with_integration: bool = True, progress: Callable[[str], None] = say) -> None:
        """Start everything; with ``with_integration`` also add the integration and save the dashboard."""
        if port_in_use(self.ha_port):
            raise DemoError(f"port {self.ha_port} is taken (another Home Assistant or demo?): stop it, or pass --port")
        self.ha_version = await home_assistant_version(self.ha_python)
        self.prepare_config()
        progress("demo: starting the IP Office simulator")
        await self.start_simulator()
        progress(f"demo: starting Home Assistant {self.ha_version} on {self.url} (config {self.config_dir})")
        await self.start_home_assistant()
        progress("demo: onboarding (owner user, location, analytics off)")
        await self.onboard()
        if with_integration:
            progress("demo: adding the Avaya IP Office integration through its config flow")
            await self.add_integration(progress=progress)
            await self.wait_for_entities()
            if await self.enable_dashboard_entities():
                progress("demo: enabled the queue entities the dashboard shows (disabled by default)")
                await self.wait_for_entities()
            progress("demo: saving the dashboard")
            await self.install_dashboard()

    async def stop(self) -> None:
        """Stop Home Assistant (it saves its state), then the simulator; close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.home_assistant is not None:
            await self.home_assistant.stop(grace=30)
        if self.simulator is not None:
            await self.simulator.stop(grace=10)

    async def __aenter__(self) -> Self:
        """Nothing is started until ``start``; leaving stops whatever was."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop everything."""
        await self.stop()

    # ------------------------------------------------------------------------------------------------ parts

    def prepare_config(self) -> None:
        """A fresh configuration folder with the integration linked in and the HTTP server on 127.0.0.1 only."""
        if self.config_dir.exists():
            shutil.rmtree(self.config_dir)
        (self.config_dir / "custom_components").mkdir(parents=True)
        (self.config_dir / "custom_components" / DOMAIN).symlink_to(ROOT / "custom_components" / DOMAIN)
        # Where the UI saves automations, scripts and scenes (without these includes, what a user makes is never
        # loaded), and the integration's blueprints, installed as a user gets them.
        for name, empty in (("automations.yaml", "[]\n"), ("scripts.yaml", "{}\n"), ("scenes.yaml", "[]\n")):
            (self.config_dir / name).write_text(empty)
        shutil.copytree(ROOT / "blueprints" / "automation", self.config_dir / "blueprints" / "automation")
        storage = self.config_dir / ".storage"
        storage.mkdir()
        if _release(self.ha_version) < HTTP_SETTINGS_IN_STORAGE:
            # Older releases read the HTTP server's settings from configuration.yaml only.
            http_yaml = f"http:\n  server_host: 127.0.0.1\n  server_port: {self.ha_port}\n"
            (self.config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML + http_yaml)
            return
        (self.config_dir / "configuration.yaml").write_text(CONFIGURATION_YAML)
        # Since 2026.8 the HTTP server's settings live in storage; an http: block in YAML would be migrated as a
        # trial that reverts itself (with a restart) after 5 minutes. Write the confirmed ("stable") config.
        stable = {
            "server_host": ["127.0.0.1"],
            "server_port": self.ha_port,
            "cors_allowed_origins": ["https://cast.home-assistant.io"],
            "login_attempts_threshold": -1,
            "ip_ban_enabled": True,
            "ssl_profile": "modern",
            "use_x_frame_options": True,
            "error": None,
            "error_message": None,
        }
        http = {
            "version": 2,
            "minor_version": 2,
            "key": "http",
            "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
        }
        (storage / "http").write_text(json.dumps(http, indent=2))

    async def start_simulator(self) -> SimulatorInfo:
        """Start ``python -m simulator`` (with traffic if asked, and its admin interface) and read where it listens."""
        self.demo_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "simulator", "--port", "0", "--admin-port", "-1"]
        argv += [f"--user={self.sim_username}", f"--password={self.sim_password}"]  # a secret may start with "-"
        if self.traffic:
            argv.append("--traffic")
        if self.generate:
            argv += ["--users", str(self.generate[0]), "--queues", str(self.generate[1])]
        if self.pair:
            argv.append("--pair")
        log_path = self.demo_dir / "simulator.log"
        with log_path.open("wb") as log:  # a file, not a pipe: nothing can block the simulator on its output
            self.simulator = await Child.start("the simulator", *argv, stdout=log, stderr=asyncio.subprocess.STDOUT)
        deadline = time.monotonic() + 30
        banner = ""
        while "Ctrl-C to stop." not in banner:
            if not self.simulator.running or time.monotonic() > deadline:
                raise DemoError(f"the simulator did not start; see {log_path}")
            await asyncio.sleep(0.1)
            banner = log_path.read_text(errors="replace")
        fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in banner.splitlines())}
        if self.pair:  # "Primary:   wss://...  fingerprint AB:CD..." and the same for the secondary
            (url, _, fingerprint), (secondary_url, _, secondary_fingerprint) = (
                fields[name].split() for name in ("Primary", "Secondary")
            )
            self._sim_admin = fields["Admin"]
            self.sim_info = SimulatorInfo(
                port=_port_of(url),
                fingerprint=fingerprint,
                url=url,
                traffic="Traffic" in fields,
                secondary_port=_port_of(secondary_url),
                secondary_fingerprint=secondary_fingerprint,
            )
            return self.sim_info
        url = fields["URL"]
        self._sim_admin = fields["Admin"].removesuffix("/state")
        self.sim_info = SimulatorInfo(
            port=_port_of(url), fingerprint=fields["Fingerprint"], url=url, traffic="Traffic" in fields
        )
        return self.sim_info

    @property
    def sim_admin(self) -> str:
        """The simulator's admin interface (with --pair: the pair's)."""
        return self._sim_admin

    async def sim(self, op: str, **args: Any) -> dict[str, Any]:
        """Drive the simulator through its admin interface (``python -m simulator --help`` lists it).

        ``op`` is ``incoming_call`` (to, caller, caller_name), ``internal_call`` (from, to), ``answer`` (call, by),
        ``hangup`` (call, by) or any admin path with ``method`` and ``body``; calls come back as ``{"call": gcid}``.
        """
        method, path, body = "POST", op, dict(args)
        if op == "incoming_call":
            path = "/calls/incoming"
        elif op == "internal_call":
            path = "/calls/internal"
        elif op in {"answer", "hangup"}:
            path = f"/calls/{body.pop('call')}/{op}"
        else:
            method, path, body = str(body.pop("method", "POST")), op, dict(body.pop("body", {}))
        async with self.session.request(method, f"{self._sim_admin}{path}", json=body) as response:
            answer: dict[str, Any] = await response.json(content_type=None) or {}
            if response.status >= 400:
                raise DemoError(f"simulator {op}: HTTP {response.status} {answer.get('error', answer)}")
        if "gcid" in answer:
            answer["call"] = answer["gcid"]
        return answer

    @property
    def _skip_pip(self) -> list[str]:
        """This environment has everything installed: no registry look-ups at start. Another release's install is
        left to install what its integrations ask for, this one's included, as Home Assistant does for a user."""
        return ["--skip-pip"] if self.ha_python == sys.executable else []

    async def start_home_assistant(self) -> None:
        """Start Home Assistant on the folder and wait until it serves (onboarding status answers)."""
        log = (self.demo_dir / "home-assistant.out").open("wb")
        try:
            self.home_assistant = await Child.start(
                "Home Assistant",
                self.ha_python,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                *self._skip_pip,
                "--log-no-color",
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + HA_START_TIMEOUT
        while True:
            if not self.home_assistant.running:
                raise DemoError(f"Home Assistant exited; see {self.demo_dir / 'home-assistant.out'}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with self.session.get(
                    f"{self.url}/api/onboarding", timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    if response.status == 200:
                        return
            if time.monotonic() > deadline:
                raise DemoError(f"Home Assistant did not serve within {HA_START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.5)

    async def _request(self, method: str, path: str, payload: Any = None, *, auth: bool = True) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self.session.request(method, f"{self.url}{path}", json=payload, headers=headers) as response:
            body = await response.text()
            if response.status >= 400:
                raise DemoError(f"{method} {path}: HTTP {response.status} {body}")
            return json.loads(body) if body else None

    async def onboard(self) -> None:
        """Create the owner user, get a token, and finish the other onboarding steps."""
        created = await self._request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": self.owner_name,
                "username": self.username,
                "password": self.password,
                "language": "en",
            },
            auth=False,
        )
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": created["auth_code"], "client_id": self.client_id},
        ) as response:
            if response.status != 200:
                raise DemoError(f"could not log in after onboarding: HTTP {response.status} {await response.text()}")
            self.token = (await response.json())["access_token"]
        await self._request("POST", "/api/onboarding/core_config")
        await self._request("POST", "/api/onboarding/analytics")
        await self._request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": f"{self.client_id}?auth_callback=1"},
        )
        steps = await self._request("GET", "/api/onboarding", auth=False)
        if not all(step["done"] for step in steps):
            raise DemoError(f"onboarding not finished: {steps}")
        await self._remove_onboarding_entries()

    async def _remove_onboarding_entries(self) -> None:
        """Remove what the core_config step adds that cannot work here (Google Translate needs the internet)."""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            entries = await self._request("GET", "/api/config/config_entries/entry")
            unwanted = [e for e in entries if e["domain"] in ONBOARDING_ADDS]
            for entry in unwanted:
                await self._request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
            if unwanted:
                return
            await asyncio.sleep(0.25)

    async def add_integration(self, progress: Callable[[str], None] = say) -> str:
        """Add the integration through the config flow endpoints, as the UI does; return the entry id."""
        assert self.sim_info is not None
        flow = await self._request(
            "POST", "/api/config/config_entries/flow", {"handler": DOMAIN, "show_advanced_options": False}
        )
        answers: dict[str, Any] = {
            "user": {
                "host": "127.0.0.1",
                "port": self.sim_info.port,
                "username": self.sim_username,
                "password": self.sim_password,
            },
        }
        trusted = [self.sim_info.fingerprint]
        if self.pair:
            answers["user"]["secondary"] = {"host": "127.0.0.1", "port": self.sim_info.secondary_port}
            trusted.append(self.sim_info.secondary_fingerprint)
        for _ in range(10):
            kind, step = flow.get("type"), flow.get("step_id")
            if kind == "create_entry":
                self.entry_id = flow["result"]["entry_id"]
                break
            if kind == "abort":
                raise DemoError(f"the config flow aborted: {flow.get('reason')}")
            if kind == "menu" and step == "certificate":
                shown = flow["description_placeholders"]["fingerprint"]
                if not trusted or shown != trusted[0]:
                    raise DemoError(f"the flow shows fingerprint {shown}, the simulator has {trusted[:1]}")
                trusted.pop(0)  # the primary's, then (a pair) the secondary's
                progress(f"demo: trusting the certificate the flow shows, SHA-256 {shown}")
                payload: dict[str, Any] = {"next_step_id": "trust_certificate"}
            elif kind == "form" and flow.get("errors"):
                raise DemoError(f"the config flow step {step} says {flow['errors']}")
            elif kind == "form" and step in answers:
                payload = answers[step]
            elif kind == "form":
                payload = _first_options(flow.get("data_schema", []))  # e.g. a large system: the first users
            else:
                raise DemoError(f"unexpected config flow result {flow}")
            flow = await self._request("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", payload)
        else:
            raise DemoError("the config flow did not finish in 10 steps")
        await self.wait_for_entry()
        return self.entry_id

    async def wait_for_entry(self, within: float = 60) -> dict[str, Any]:
        """Wait until the integration's config entry is loaded; return it."""
        deadline = time.monotonic() + within
        while True:
            entries = await self._request("GET", f"/api/config/config_entries/entry?domain={DOMAIN}")
            for entry in entries:
                if entry["state"] == "loaded":
                    self.entry_id = entry["entry_id"]
                    return dict(entry)
            if time.monotonic() > deadline:
                raise DemoError(f"the integration did not load: {entries}")
            await asyncio.sleep(0.5)

    async def ws(self, *messages: dict[str, Any]) -> list[Any]:
        """Send websocket commands (in order, on one connection) and return their results."""
        results: list[Any] = []
        async with self.session.ws_connect(f"{self.url}/api/websocket") as socket_:
            await socket_.receive_json()  # auth_required
            await socket_.send_json({"type": "auth", "access_token": self.token})
            if (reply := await socket_.receive_json())["type"] != "auth_ok":
                raise DemoError(f"websocket authentication failed: {reply}")
            for number, message in enumerate(messages, start=1):
                await socket_.send_json({"id": number, **message})
                while (reply := await socket_.receive_json()).get("id") != number:
                    pass
                if not reply.get("success"):
                    raise DemoError(f"websocket {message['type']}: {reply.get('error')}")
                results.append(reply.get("result"))
        return results

    async def registry(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        """The integration's entity registry entries, and its devices by id."""
        entities, devices = await self.ws(
            {"type": "config/entity_registry/list"}, {"type": "config/device_registry/list"}
        )
        ours = [entity for entity in entities if entity.get("platform") == DOMAIN]
        return ours, {device["id"]: device for device in devices if device["id"] in {e["device_id"] for e in ours}}

    async def states(self) -> dict[str, dict[str, Any]]:
        """Every state, by entity id."""
        return {state["entity_id"]: state for state in await self._request("GET", "/api/states")}

    async def wait_for_entities(self, within: float = 60) -> dict[str, dict[str, Any]]:
        """Wait until the integration's phone state sensors have states; return the integration's states."""
        deadline = time.monotonic() + within
        while True:
            entities, _ = await self.registry()
            states = await self.states()
            ours = {e["entity_id"]: states[e["entity_id"]] for e in entities if e["entity_id"] in states}
            phones = [e["entity_id"] for e in entities if e.get("translation_key") == "phone_state"]
            if phones and all(ours.get(p, {}).get("state") not in {None, "unavailable", "unknown"} for p in phones):
                return ours
            if time.monotonic() > deadline:
                raise DemoError(f"the integration's entities have no states after {within:.0f} s")
            await asyncio.sleep(0.5)

    async def enable_dashboard_entities(self) -> bool:
        """Enable the entities the dashboard shows that are disabled by default, then reload the entry to add them.

        What a user does in each entity's settings (Home Assistant itself reloads the entry 30 s later).
        """
        entities, _ = await self.registry()
        wanted = [
            e["entity_id"]
            for e in entities
            if e.get("translation_key") in ENABLED_FOR_DASHBOARD and e.get("disabled_by") == "integration"
        ]
        if not wanted:
            return False
        await self.ws(*({"type": "config/entity_registry/update", "entity_id": e, "disabled_by": None} for e in wanted))
        await self._request("POST", f"/api/config/config_entries/entry/{self.entry_id}/reload")
        await self.wait_for_entry()
        return True

    async def install_dashboard(self) -> dict[str, Any]:
        """Save the demo dashboard (``/ipoffice-demo``, in the sidebar) and make it the default one; return it."""
        entities, devices = await self.registry()
        services = (await self._request("GET", "/api/services")) or []
        ours: dict[str, Any] = next((s["services"] for s in services if s["domain"] == DOMAIN), {})
        config = build_dashboard(
            entities, devices, set(ours), simulator_port=self.sim_info.port if self.sim_info else 0
        )
        (dashboards,) = await self.ws({"type": "lovelace/dashboards/list"})
        create: list[dict[str, Any]] = []
        if not any(d["url_path"] == DASHBOARD for d in dashboards):
            create.append(
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": DASHBOARD,
                    "title": "IP Office",
                    "icon": "mdi:phone-classic",
                    "show_in_sidebar": True,
                    "require_admin": False,
                    "mode": "storage",
                }
            )
        await self.ws(
            *create,
            {"type": "lovelace/config/save", "url_path": DASHBOARD, "config": config},
            {"type": "frontend/set_system_data", "key": "core", "value": {"default_panel": DASHBOARD}},
        )
        return config

    @property
    def dashboard_url(self) -> str:
        """The demo dashboard's view."""
        return f"{self.url}/{DASHBOARD}/{DASHBOARD_VIEW}"


# Home Assistant's notice about every custom integration, the one line of ours its log may have.
CUSTOM_INTEGRATION_NOTICE = f"We found a custom integration {DOMAIN} which has not been tested by Home Assistant"
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\S* (?P<level>[A-Z]+) ")
# Our logger or code (custom_components.ipoffice, a traceback through custom_components/ipoffice/), or the domain as a
# word ("custom integration 'ipoffice'", "... for ipoffice"), not a folder of some path.
OURS = re.compile(rf"custom_components[./]{DOMAIN}|(?<![/\w.-]){DOMAIN}(?![/\w-])")


def logged_of_ours(log: str) -> list[str]:
    """The warnings and errors in Home Assistant's log (``home-assistant.out``) that name the integration, but the
    notice every custom integration gets: deprecations it reports, errors of ours, tracebacks through our code."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if LOG_RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)  # a traceback or a message on several lines
    found = []
    for record in records:
        match = LOG_RECORD.match(record[0])
        text = "\n".join(record)
        serious = match is not None and match["level"] in {"WARNING", "ERROR", "CRITICAL"}
        if serious and OURS.search(text) and CUSTOM_INTEGRATION_NOTICE not in record[0]:
            found.append(text)
    return found


async def check(stack: DemoStack) -> None:
    """What ``--check`` verifies after start: the UI serves, entities have states, traffic changes them, and Home
    Assistant logged no warning or error of ours."""
    async with stack.session.get(f"{stack.url}/") as response:
        page = await response.text()
        if response.status != 200 or "<home-assistant" not in page:
            raise DemoError(
                f"the web UI does not serve (HTTP {response.status}): is home-assistant-frontend installed?"
            )
    states = await stack.wait_for_entities()
    say(f"check: web UI serves; integration loaded with {len(states)} entities, all phone states known")
    dashboard = (await stack.ws({"type": "lovelace/config", "url_path": DASHBOARD}))[0]
    say(f"check: dashboard saved with {sum(len(v.get('sections', [])) for v in dashboard['views'])} sections")
    await check_automations(stack)
    if stack.pair:
        await check_failover(stack)  # then traffic, which moved to the secondary and back with the phones
    if not (stack.sim_info and stack.sim_info.traffic):
        say("check: no traffic (--no-traffic); not checking that calls change states")
        check_log(stack)
        return
    first = {entity: state["state"] for entity, state in states.items()}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = await stack.states()
        changed = sorted(e for e in first if e in now and now[e]["state"] != first[e] and e.startswith("sensor."))
        if changed:
            say(f"check: traffic changes states, e.g. {changed[0]}: {first[changed[0]]} -> {now[changed[0]]['state']}")
            break
        await asyncio.sleep(1)
    else:
        raise DemoError("no sensor changed state within 60 s of traffic")
    check_log(stack)


def check_log(stack: DemoStack) -> None:
    """Home Assistant logged no warning or error of ours (its notice about custom integrations aside)."""
    log = stack.demo_dir / "home-assistant.out"
    if ours := logged_of_ours(log.read_text(errors="replace")):
        shown = "\n".join(ours[:5])
        raise DemoError(f"Home Assistant logged {len(ours)} warnings or errors of the integration ({log}):\n{shown}")
    say(f"check: Home Assistant {stack.ha_version} logged no warning or error of the integration")


async def check_automations(stack: DemoStack, within: float = 30) -> None:
    """The integration's blueprints are installed, and an automation saved as the UI saves it is loaded."""
    blueprints = (await stack.ws({"type": "blueprint/list", "domain": "automation"}))[0]
    ours = sorted(path for path in blueprints if path.startswith(f"{DOMAIN}/"))
    if not ours:
        raise DemoError("the integration's blueprints are not installed")
    automation = {
        "alias": "Demo check: incoming call",
        "triggers": [{"trigger": "event", "event_type": "ipoffice_call", "event_data": {"type": "incoming"}}],
        "actions": [],
    }
    await stack._request("POST", "/api/config/automation/config/ipoffice_demo_check", automation)
    deadline = time.monotonic() + within
    while not any(
        state["entity_id"].startswith("automation.") and state["attributes"].get("id") == "ipoffice_demo_check"
        for state in (await stack.states()).values()
    ):
        if time.monotonic() > deadline:
            raise DemoError("an automation saved from the UI was not loaded (automations.yaml not included?)")
        await asyncio.sleep(0.5)
    await stack._request("DELETE", "/api/config/automation/config/ipoffice_demo_check")
    say(f"check: {len(ours)} blueprints installed; an automation made in the UI is loaded")


async def check_failover(stack: DemoStack, within: float = 60) -> None:
    """``--pair --check``: the primary fails, users stay available on the secondary, then the primary serves again."""
    entities, _ = await stack.registry()
    serving = next(e["entity_id"] for e in entities if e["unique_id"].endswith("_serving_system"))
    phones = [e["entity_id"] for e in entities if e.get("translation_key") == "phone_state"]

    async def until(system: str) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + within
        while (states := await stack.states())[serving]["state"] != system:
            if time.monotonic() > deadline:
                raise DemoError(f"{serving} is not {system} after {within:.0f} s")
            await asyncio.sleep(0.5)
        return states

    await stack.sim("/primary/down")
    states = await until("secondary")
    unavailable = [p for p in phones if states[p]["state"] == "unavailable"]
    if unavailable:
        raise DemoError(f"with the primary down these phones are unavailable: {unavailable}")
    say(f"check: primary down -> users served by the secondary, {len(phones)} phone states still available")
    await stack.sim("/primary/up")
    await until("primary")
    say("check: primary back -> users served by the primary again")


def banner(stack: DemoStack, seconds: float) -> str:
    """What the console shows once the demo runs."""
    assert stack.sim_info is not None
    return "\n".join(
        [
            "",
            f"  Avaya IP Office demo is running on Home Assistant {stack.ha_version} (started in {seconds:.0f} s)",
            "",
            f"  Open      {stack.url} (the dashboard: {stack.dashboard_url})",
            f"  User      {stack.username}",
            f"  Password  {stack.password}",
            "",
            (
                f"  Simulator {stack.sim_info.url} (service user {stack.sim_username}, "
                f"traffic {'on' if stack.sim_info.traffic else 'off'})"
            ),
            *(
                [
                    f"  Secondary 127.0.0.1:{stack.sim_info.secondary_port} (a resilient pair; fail over with",
                    f"            curl -X POST {stack.sim_admin}/primary/down   and back with .../primary/up)",
                ]
                if stack.pair
                else []
            ),
            "  Add another entry by hand: Settings > Devices & services > Add integration > Avaya IP Office,",
            f"            address 127.0.0.1, port {stack.sim_info.port}, service user {stack.sim_username},",
            f"            password {stack.sim_password} (trust the simulator's certificate when asked)",
            f"  Logs      {stack.demo_dir / 'home-assistant.out'}, {stack.demo_dir / 'simulator.log'}",
            "",
            "  Ctrl-C stops Home Assistant and the simulator.",
            "",
        ]
    )


async def run(args: argparse.Namespace) -> int:
    """Start the stack, then wait for Ctrl-C (or check and stop); always stop what was started."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def interrupt() -> None:
        if not stopping.is_set():
            say("\ndemo: stopping...")
            stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupt)
    stack = DemoStack(
        demo_dir=args.dir,
        ha_port=args.port,
        traffic=not args.no_traffic,
        password=args.password or secrets.token_urlsafe(9),
        pair=args.pair,
        ha_python=args.ha_python or sys.executable,
    )
    began = time.monotonic()

    async def until_stopped(work: Awaitable[None]) -> bool:
        """Run ``work`` unless Ctrl-C comes first; return whether it finished."""
        task = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return False
        task.result()
        return True

    try:
        if not await until_stopped(stack.start()):
            return 130
        if args.check:
            if not await until_stopped(check(stack)):
                return 130
            say(f"check: OK ({time.monotonic() - began:.0f} s)")
            return 0
        say(banner(stack, time.monotonic() - began))
        await stopping.wait()
    except DemoError as err:
        say(f"demo: {err}", sys.stderr)
        return 1
    else:
        return 0
    finally:
        await stack.stop()
        say("demo: stopped")


def main() -> None:
    """Command line of scripts/demo."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--port", type=int, default=8123, help="Home Assistant's port on 127.0.0.1 (default 8123; 0: any free one)"
    )
    parser.add_argument("--password", help="the demo user's password (default: a new random one, printed)")
    parser.add_argument("--no-traffic", action="store_true", help="no generated calls (start them yourself)")
    parser.add_argument("--check", action="store_true", help="start, check that it all works, stop; exit 0 if so")
    parser.add_argument(
        "--pair", action="store_true", help="a resilient pair: a primary and a secondary IP Office (see README)"
    )
    parser.add_argument(
        "--ha",
        metavar="RELEASE",
        help="run another Home Assistant release (such as 2026.3.4, minimum or newest), installed as a user gets it "
        "into ~/.cache/ipoffice the first time (default: the one the tests pin)",
    )
    parser.add_argument("--ha-python", help="the Python of another Home Assistant install to run")
    parser.add_argument(
        "--dir", type=Path, default=DEMO_DIR, help="folder for Home Assistant's config and the logs (default .demo)"
    )
    args = parser.parse_args()
    args.dir = args.dir.resolve()
    if args.port == 0:
        args.port = free_port()
    if args.ha:
        try:
            args.ha_python = str(install(resolve(args.ha)))
        except ReleaseError as err:
            parser.exit(1, f"demo: {err}\n")
    os.chdir(ROOT)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
