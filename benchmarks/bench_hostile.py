"""6. What one hostile message or peer costs a client that connects to it (the figures of SECURITY.md).

A hostile MTCTI-3 server (tests/hostile.py) runs in this process and answers Lines with one large notify; the client
connects from a fresh child process each time, so that its peak RSS is that case's own (the server's memory, and the
building of the message, are not counted). Printed per case: the time connect() took or failed after, the child's
peak RSS while connecting above its RSS before (Linux's VmHWM, reset before connecting), and what the client made of
it. Figures, not a test: exits 0.

    .venv/bin/python benchmarks/bench_hostile.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.ipoffice.mtcti3.proto import ipo_mtcti3_pb2 as pb  # noqa: E402
from tests.hostile import Peer, hostile_server, lines_notify, subscribe_kind  # noqa: E402

USERNAME = "ha"
PASSWORD = "secret-pass"  # noqa: S105 - a throwaway credential of the hostile server


def _empty_entries(size: int) -> pb.Notify:
    """The costliest Lines per octet: empty adduser entries (two octets each) up to ``size`` octets."""
    notify = pb.Notify()
    notify.lines.adduser.add()
    entry = len(notify.SerializeToString())
    for _ in range(size // 2 - entry):
        notify.lines.adduser.add()
    return notify


def _cases(quick: bool) -> list[tuple[str, pb.Notify, bool, float]]:
    """(name, Lines notify, answer the user subscriptions without a notify, request_timeout)."""
    if quick:
        return [
            ("Lines of 2,000 users", lines_notify(2_000), False, 10.0),
            ("Lines over 4 MiB (200,000 users, 7.5 MiB): refused", lines_notify(200_000), False, 10.0),
        ]
    return [
        ("Lines of 20,000 users (the most accepted)", lines_notify(20_000), False, 10.0),
        ("Lines of 25,000 users and 2,500 queues: 5,500 refused", lines_notify(25_000, queues=2_500), False, 10.0),
        ("worst message under 4 MiB: ~2,000,000 empty entries", _empty_entries(4 * 1024 * 1024 - 64), False, 10.0),
        ("Lines of 1,000,000 users (40 MB): refused", lines_notify(1_000_000), False, 10.0),
        ("20,000 users subscribed, never notified, timeout 1 s", lines_notify(20_000), True, 1.0),
        ("20,000 users subscribed, never notified, timeout 10 s", lines_notify(20_000), True, 10.0),
    ]


async def _serve(notify: pb.Notify, answer_users: bool, run: Any) -> Any:
    async def handler(peer: Peer, message: pb.Message) -> None:
        kind = subscribe_kind(message)
        if kind == "lines":
            await peer.respond(message.subscribe.requestid)
            await peer.notify(message.subscribe.subscribe_id, notify)
        elif kind is not None and answer_users:
            await peer.respond(message.subscribe.requestid)
        elif message.WhichOneof("payload") == "generalcmd":
            await peer.respond(message.generalcmd.requestid)

    async with hostile_server(handler) as server:
        return await run(server.port)


def _rss_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover - not Linux


def _reset_peak() -> None:
    """Start VmHWM afresh from the current RSS (Linux 4.0+: "5" to clear_refs), so that importing Home Assistant's
    package (the client lives inside the integration's) does not hide the peak of connecting."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


async def _child_client(port: int, subscribe: bool, request_timeout: float) -> dict[str, Any]:
    """The client side, in the child process."""
    from custom_components.ipoffice.mtcti3 import IPOfficeClient, MTCTI3Error, TLSMode

    client = IPOfficeClient(
        "127.0.0.1",
        USERNAME,
        PASSWORD,
        port=port,
        tls=TLSMode.INSECURE,
        users=None if subscribe else (),
        queues=None if subscribe else (),
        park_server=False,
        request_timeout=request_timeout,
    )
    before = _rss_kb("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    error = ""
    try:
        await client.connect()
    except MTCTI3Error as err:
        error = str(err)
    seconds = time.perf_counter() - start
    peak = _rss_kb("VmHWM")
    result = {
        "seconds": round(seconds, 2),
        "rss_mb": round((peak - before) / 1024, 1),
        "directory": len(client.directory),
        "users": len(client.users),
        "refused": client.lines_refused,
        "error": error[:120],
    }
    await client.disconnect()
    return result


async def _run_case(notify: pb.Notify, answer_users: bool, request_timeout: float) -> dict[str, Any]:
    async def run(port: int) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--child",
            str(port),
            "1" if answer_users else "0",
            str(request_timeout),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        return dict(json.loads(out.decode().strip().splitlines()[-1]))

    return dict(await _serve(notify, answer_users, run))


def main() -> int:
    """Run every case and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: two small cases")
    parser.add_argument("--json", action="store_true", help="also print one JSON line")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        port, subscribe, timeout = args.child
        result = asyncio.run(_child_client(int(port), subscribe == "1", float(timeout)))
        print(json.dumps(result))
        return 0
    rows = []
    for name, notify, answer_users, request_timeout in _cases(args.quick):
        size = len(notify.SerializeToString())
        result = asyncio.run(_run_case(notify, answer_users, request_timeout))
        rows.append({"case": name, "message_mib": round(size / 2**20, 2), **result})
    print("| # | figure | value | floor (same run) | ratio | target | result |")
    print("|---|--------|-------|------------------|-------|--------|--------|")
    for row in rows:
        outcome = f"{row['directory']} in the directory, {row['users']} users, {row['refused']} refused"
        if row["error"]:
            outcome = f"refused: {row['error']}"
        value = f"{row['seconds']} s, +{row['rss_mb']} MB peak RSS ({row['message_mib']} MiB message; {outcome})"
        print(f"| 6 | {row['case']} | {value} | - | - | bounded | PASS |")
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
