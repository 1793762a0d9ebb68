"""Command line: run the IP Office MTCTI-3 simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from . import admin
from .pair import PRIMARY, SECONDARY, PairAdmin, SimulatorPair
from .scenario import Scenario, generate_scenario, load_scenario
from .server import Simulator, SimulatorConfig

EPILOG = f"""
The simulator serves wss://HOST:PORT/tpkt/openapi (subprotocols openapi and openapinoframing) with HTTP Basic
authentication of the service user, a self-signed certificate (printed fingerprint) unless --certfile is given, and
at most --max-connections connections. It models users, queues, calls, presence and the park server of the
scenario (default: a 12-user office with 3 queues; --users/--queues generate a large system instead).

Admin interface (--admin-port, HTTP on 127.0.0.1 only):
{admin.__doc__.split("Endpoints", 1)[1] if admin.__doc__ else ""}
Resilient pair (--pair): a primary on --port and a secondary on --secondary-port sharing users and queues (see
simulator/pair.py); --admin-port then serves the pair's admin: GET /pair, POST /pair/{{primary|secondary}}/down and
/up, POST /pair/{{primary|secondary}}/calls/incoming {{"to": ...}} (a queue call on that system), and
POST /pair/calls/incoming (a user call, on the system the phones are registered on).

Examples:
  python -m simulator --port 8443 --user ha --password secret
  python -m simulator --pair --port 8443 --secondary-port 8444 --admin-port 8080
  curl -X POST 127.0.0.1:8080/pair/primary/down
  python -m simulator --port 8443 --users 3000 --queues 150 --traffic --admin-port 8080
  curl -X POST 127.0.0.1:8080/calls/incoming -d '{{"to": "2501", "caller": "01707123456"}}'
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="IP Office MTCTI-3 simulator (HTTPS websocket, like IP Office 11.1).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="HTTPS port (default 8443, 0 = any free port)")
    parser.add_argument("--user", default="ha", help="service user name (default ha)")
    parser.add_argument("--password", default="secret-pass", help="service user password")
    parser.add_argument("--scenario", help="scenario YAML file (default: the bundled office)")
    parser.add_argument("--users", type=int, help="generate a large system with this many users")
    parser.add_argument("--queues", type=int, default=None, help="queues of the generated system (default 150)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generator and the traffic (default 1)")
    parser.add_argument("--release", default="11.1.0.0", help="release to play (11.0.4.2: no responses)")
    parser.add_argument("--certfile", help="PEM certificate (default: self-signed, generated at start)")
    parser.add_argument("--keyfile", help="PEM private key for --certfile")
    parser.add_argument("--max-connections", type=int, default=10, help="connection limit (default 10)")
    parser.add_argument("--admin-port", type=int, default=0, help="admin HTTP port on 127.0.0.1 (0 = off)")
    parser.add_argument("--pair", action="store_true", help="a resilient pair: a primary and a secondary system")
    parser.add_argument(
        "--secondary-port", type=int, default=None, help="HTTPS port of the secondary (default --port + 1)"
    )
    parser.add_argument("--traffic", action="store_true", help="generate demo traffic")
    parser.add_argument("--rate", type=float, default=0.5, help="traffic events per second (default 0.5)")
    parser.add_argument(
        "--no-timers",
        action="store_true",
        help="let unanswered calls ring for ever (default: IP Office's no-answer, queue voicemail and caller timers)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _scenario(args: argparse.Namespace) -> Scenario:
    if args.users is not None or args.queues is not None:
        return generate_scenario(
            users=args.users if args.users is not None else 3000,
            queues=args.queues if args.queues is not None else 150,
            seed=args.seed,
        )
    return load_scenario(args.scenario)


def _config(args: argparse.Namespace, port: int, *, admin: bool, scenario: Scenario | None = None) -> SimulatorConfig:
    """The configuration of one system (each system of a pair gets its own copy of the same scenario)."""
    return SimulatorConfig(
        host=args.host,
        port=port,
        username=args.user,
        password=args.password,
        scenario=scenario or _scenario(args),
        release=args.release,
        certfile=args.certfile,
        keyfile=args.keyfile,
        max_connections=args.max_connections,
        admin_port=(args.admin_port or None) if admin else None,
    )


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_pair(args: argparse.Namespace) -> None:
    """Serve a resilient pair until Ctrl-C."""
    secondary_port = args.secondary_port if args.secondary_port is not None else (args.port + 1 if args.port else 0)
    pair = SimulatorPair(_config(args, args.port, admin=False), _config(args, secondary_port, admin=False))
    await pair.start()
    admin = PairAdmin(pair, max(args.admin_port, 0)) if args.admin_port else None  # -1: any free port
    try:
        if admin is not None:
            await admin.start()
        _say(
            f"IP Office resilient pair ({len(pair.primary.model.users)} users, {len(pair.primary.model.queues)} queues)"
        )
        for name in (PRIMARY, SECONDARY):
            system = pair.system(name)
            _say(f"{name.capitalize() + ':':<12} {system.url}  fingerprint {system.fingerprint}")
        _say(f"Service user: {args.user}")
        if admin is not None:
            _say(f"Admin:       http://127.0.0.1:{admin.port}/pair")
        if args.traffic:
            pair.start_traffic(seed=args.seed, rate=args.rate)
            _say(f"Traffic:     {args.rate} events/s on the system the phones are on (seed {args.seed})")
        _say("Ctrl-C to stop.")
        await _wait_for_signal()
    finally:
        if admin is not None:
            await admin.stop()
        await pair.stop()


async def run(args: argparse.Namespace) -> None:
    if args.pair:
        await run_pair(args)
        return
    scenario = _scenario(args)
    sim = Simulator(_config(args, args.port, admin=True, scenario=scenario))
    await sim.start()
    _say(f"IP Office simulator '{scenario.name}' ({len(scenario.users)} users, {len(scenario.queues)} queues)")
    _say(f"URL:         {sim.url}")
    _say(f"Fingerprint: {sim.fingerprint}")
    _say(f"Service user: {args.user}")
    if sim.admin is not None:
        _say(f"Admin:       http://127.0.0.1:{sim.admin.port}/state")
    if not args.no_timers:
        sim.start_timers()
    if args.traffic:
        sim.start_traffic(seed=args.seed, rate=args.rate)
        _say(f"Traffic:     {args.rate} events/s (seed {args.seed})")
    _say("Ctrl-C to stop.")
    try:
        await _wait_for_signal()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
