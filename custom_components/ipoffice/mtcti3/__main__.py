"""Command-line probe: connect to an IP Office, print what it reports as JSON lines, then stream call events.

    python -m custom_components.ipoffice.mtcti3 --host H --port P --user U --password PW \
        [--insecure | --fingerprint FP | --cafile F] [--trace] [--noframing] [--seconds N]

The password may come from the environment variable IPOFFICE_PASSWORD instead of --password. Ctrl-C or SIGTERM
end it cleanly (exit 0), also while it is connecting; a failure prints one line naming the cause and exits non-zero.
Once connected, each lost connection is a ``connection`` line with the reason and each failed reconnect a
``reconnect_failed`` line with the cause (a ``lines_refused`` line: Lines listed more users or queues than the client
accepts). Every text IP Office sends is escaped (see ``escape.printable``): JSON
lines escape it anyway, and the error line and log lines on stderr show control characters as escapes. A field that
IP Office sends and this schema does not know (a newer release's) is printed the first time it comes, the last line
counts them all, and ``--trace`` shows each message's after it ("unknown fields: CallInfo.90=1").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import ssl
import sys
from collections.abc import Sequence
from typing import Any

from .client import IPOfficeClient
from .codec import Subprotocol
from .connection import TRACE_LOGGER_NAME
from .drift import UnknownField
from .errors import (
    AuthenticationError,
    CannotConnectError,
    CommandValidationError,
    FingerprintMismatchError,
    MTCTI3Error,
    ProtocolError,
    RequestTimeoutError,
    ResultError,
    ServiceRefusedError,
    TLSError,
    TooManyConnectionsError,
    TooManyLinesError,
)
from .escape import printable
from .models import Call, CallEvent, Party, Queue, User
from .tls import TLSMode

PASSWORD_ENV = "IPOFFICE_PASSWORD"  # noqa: S105 - the name of a variable
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.ipoffice.mtcti3",
        description="Probe an Avaya IP Office over MTCTI-3: print the system, users and queues, then call events.",
    )
    parser.add_argument("--host", required=True, help="IP Office address or host name")
    parser.add_argument("--port", type=int, default=443, help="HTTPS port (default 443)")
    parser.add_argument("--user", required=True, help="service user name")
    parser.add_argument("--password", help=f"service user password (default: ${PASSWORD_ENV})")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--insecure", action="store_true", help="accept any certificate (not authenticated)")
    trust.add_argument("--fingerprint", help="trust only the certificate with this SHA-256 fingerprint")
    trust.add_argument("--cafile", help="trust certificates signed by the CA(s) in this PEM file")
    parser.add_argument("--trace", action="store_true", help="log every message sent and received to stderr")
    parser.add_argument("--noframing", action="store_true", help="use the openapinoframing subprotocol")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    return parser


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def _party(party: Party | None) -> dict[str, Any] | None:
    if party is None:
        return None
    return {"number": party.number, "name": party.name, "withheld": party.withheld}


def _call(call: Call) -> dict[str, Any]:
    return {
        "call_id": call.call_id,
        "owner": call.owner.value,
        "owner_guid": call.owner_guid,
        "state": call.state.name,
        "direction": call.direction.name,
        "other_party": _party(call.other_party),
        "called_party": call.called_party,
        "did": call.trunk_did,
        "emergency": call.emergency,
        "gcid": call.gcid,
        "ucid": call.ucid,
        "reference_id": call.reference_id,
        "park_slot": call.park_slot,
        "tag": call.tag,
    }


def _user(user: User) -> dict[str, Any]:
    return {
        "type": "user",
        "guid": user.guid,
        "extn": user.extn,
        "name": user.name,
        "dnd": user.dnd,
        "phone_state": user.phone_state.name,
        "logged_in_extn": user.logged_in_extn,
        "absence": None if user.absence is None else user.absence.display,
        "fwdu": user.fwdu,
        "fwdu_number": user.fwdu_number,
        "voicemail": None if user.mailbox is None else user.mailbox.new,
        "calls": [_call(call) for call in user.calls.values()],
    }


def _queue(queue: Queue) -> dict[str, Any]:
    return {
        "type": "queue",
        "guid": queue.guid,
        "extn": queue.extn,
        "name": queue.name,
        "service_mode": queue.service_mode.name,
        "members": [{"extn": m.extn, "disabled": m.disabled} for m in queue.members],
        "waiting": len(queue.waiting_calls),
    }


def _event(event: CallEvent) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "call", "event": event.type.value, "timestamp": event.timestamp}
    record.update(_call(event.call))
    if event.previous_state is not None:
        record["previous_state"] = event.previous_state.name
    if event.reason is not None:
        record["reason"] = event.reason
        record["this_end_dropped"] = event.this_end_dropped
    if event.reconciled:
        record["reconciled"] = True
    return record


def _unknown_field(field: UnknownField) -> dict[str, Any]:
    """The first time IP Office sends a field this schema does not know (the stats line counts them all)."""
    return {"type": "unknown_field", "message": field.message, "number": field.number, "value": field.describe()}


def describe_error(err: BaseException) -> str:
    """One line naming the cause of a failure, as the probe prints it (control characters escaped)."""
    return printable(_describe(err), None)


def _describe(err: BaseException) -> str:
    if isinstance(err, FingerprintMismatchError):
        return (
            f"TLS: certificate fingerprint {err.fingerprint} does not match --fingerprint; "
            f"rerun with --fingerprint {err.fingerprint} if you trust it"
        )
    if isinstance(err, TLSError):
        if err.fingerprint:
            return (
                f"TLS: certificate not trusted; SHA-256 fingerprint {err.fingerprint}; "
                f"rerun with --fingerprint {err.fingerprint} to trust it"
            )
        return f"TLS: {err}"
    if isinstance(err, AuthenticationError):
        return "authentication failed: the service user name or password was refused (HTTP 401)"
    if isinstance(err, TooManyConnectionsError):
        return "too many connections: IP Office already has the maximum of 10 MTCTI-3 connections (HTTP 503)"
    if isinstance(err, ServiceRefusedError):
        return "service refused: MTCTI-3 is not licensed (CTI Link Pro) or not allowed for this user (HTTP 403)"
    if isinstance(err, CannotConnectError):
        return f"cannot connect: {err}"
    if isinstance(err, ProtocolError):
        return f"protocol error: {err}"
    if isinstance(err, RequestTimeoutError):
        return f"timed out: {err}"
    if isinstance(err, ResultError):
        return f"IP Office refused a request: {err}"
    return f"error: {err}"


_OPTIONS = {"host": "--host", "port": "--port", "username": "--user", "password": "--password"}


def _client(args: argparse.Namespace, password: str, ssl_context: ssl.SSLContext | None) -> IPOfficeClient:
    if args.insecure:
        mode = TLSMode.INSECURE
    elif args.fingerprint:
        mode = TLSMode.PINNED
    else:
        mode = TLSMode.VERIFY
    return IPOfficeClient(
        args.host,
        args.user,
        password,
        port=args.port,
        tls=mode,
        fingerprint=args.fingerprint,
        ssl_context=ssl_context,
        subprotocol=Subprotocol.UNFRAMED if args.noframing else Subprotocol.FRAMED,
        request_timeout=args.timeout,
    )


async def run(args: argparse.Namespace, password: str, ssl_context: ssl.SSLContext | None) -> int:
    """Connect, print, stream until stopped; return the exit code."""
    try:
        client = _client(args, password, ssl_context)
    except CommandValidationError as err:  # (its text never holds the password)
        sys.stderr.write(f"error: {_OPTIONS.get(err.field, err.field)}: {printable(err, None)}\n")
        return EXIT_FAILURE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    client.add_call_listener(lambda event: _emit(_event(event)))

    def connection(connected: bool) -> None:
        _emit({"type": "connection", "connected": connected, **({} if connected else {"reason": client.loss_reason})})

    client.add_connection_listener(connection)

    def failure(err: MTCTI3Error) -> None:
        kind = "lines_refused" if isinstance(err, TooManyLinesError) else "reconnect_failed"
        _emit({"type": kind, "error": describe_error(err)})

    client.add_failure_listener(failure)
    client.add_unknown_field_listener(lambda field: _emit(_unknown_field(field)))
    try:
        connecting = asyncio.ensure_future(client.connect())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((connecting, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not connecting.done():  # Ctrl-C or SIGTERM while connecting: stop now, cleanly
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, MTCTI3Error):
                await connecting
            return 0
        try:
            connecting.result()
        except MTCTI3Error as err:
            sys.stderr.write(describe_error(err) + "\n")
            return EXIT_FAILURE
        system = client.system
        _emit(
            {
                "type": "system",
                "host": system.host,
                "version": system.version,
                "park_server_available": system.park_server_available,
            }
        )
        for user in sorted(client.users.values(), key=lambda u: u.extn):
            _emit(_user(user))
        for queue in sorted(client.queues.values(), key=lambda q: q.extn):
            _emit(_queue(queue))
        _emit({"type": "ready", "users": len(client.users), "queues": len(client.queues)})
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(args.seconds):
                await stop.wait()
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
        await client.disconnect()
        _emit({"type": "stats", **client.stats.as_dict()})


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m custom_components.ipoffice.mtcti3``."""
    args = _parser().parse_args(argv)
    password = args.password if args.password is not None else os.environ.get(PASSWORD_ENV)
    if not password:
        sys.stderr.write(f"error: no password: give --password or set {PASSWORD_ENV}\n")
        return EXIT_FAILURE
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if args.trace:
        logging.getLogger(TRACE_LOGGER_NAME).setLevel(logging.DEBUG)
    ssl_context: ssl.SSLContext | None = None
    if args.cafile:
        try:
            ssl_context = ssl.create_default_context(cafile=args.cafile)
        except (OSError, ssl.SSLError) as err:
            sys.stderr.write(f"error: cannot read --cafile {args.cafile}: {err}\n")
            return EXIT_FAILURE
    if args.fingerprint:
        from .tls import parse_fingerprint  # noqa: PLC0415 - only the probe needs it here

        try:
            parse_fingerprint(args.fingerprint)
        except ValueError as err:
            sys.stderr.write(f"error: --fingerprint: {err}\n")
            return EXIT_FAILURE
    try:
        return asyncio.run(run(args, password, ssl_context))
    except KeyboardInterrupt:  # pragma: no cover - the signal handler normally catches it
        return 0


if __name__ == "__main__":
    sys.exit(main())
