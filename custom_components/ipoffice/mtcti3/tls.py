"""TLS choices of the MTCTI-3 client: verify, pin a SHA-256 fingerprint, or trust anything.

Nothing here blocks the event loop: verification with the system CAs uses aiohttp's own cached default context,
and reading a fingerprint uses a context that loads no certificate store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from enum import StrEnum
from typing import Final

import aiohttp

from .errors import CannotConnectError, TLSError

FINGERPRINT_TIMEOUT: Final = 10.0


class TLSMode(StrEnum):
    """How the client trusts the certificate of IP Office."""

    VERIFY = "verify"  # system CAs (or the caller's ssl_context), host name checked
    PINNED = "pinned"  # only the certificate whose SHA-256 is the given fingerprint
    INSECURE = "insecure"  # anything (encrypted, not authenticated)


def format_fingerprint(digest: bytes) -> str:
    """Format a SHA-256 digest as upper-case hex pairs joined by ":" ("AB:CD:...")."""
    return ":".join(f"{octet:02X}" for octet in digest)


def parse_fingerprint(fingerprint: str) -> bytes:
    """Parse a SHA-256 fingerprint written as hex, with or without ":" (or spaces) between the pairs.

    Raises :class:`ValueError` when it is not 32 octets of hex.
    """
    text = fingerprint.strip().replace(":", "").replace(" ", "").replace("-", "")
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"fingerprint {fingerprint!r} is not hexadecimal") from None
    if len(digest) != 32:
        raise ValueError(f"fingerprint must be a SHA-256 (32 octets), got {len(digest)} octets")
    return digest


def certificate_fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, formatted as :func:`format_fingerprint` does."""
    return format_fingerprint(hashlib.sha256(der).digest())


def _unverified_context() -> ssl.SSLContext:
    """A client context that accepts any certificate; it loads no CA store, so creating it is cheap."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_UNVERIFIED: Final = _unverified_context()


def ssl_argument(
    mode: TLSMode, fingerprint: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> ssl.SSLContext | aiohttp.Fingerprint | bool:
    """The ``ssl`` argument of ``ws_connect`` for ``mode``.

    Raises :class:`ValueError` for a PINNED mode without a valid fingerprint.
    """
    if mode is TLSMode.PINNED:
        if not fingerprint:
            raise ValueError("TLSMode.PINNED needs the SHA-256 fingerprint of the certificate")
        return aiohttp.Fingerprint(parse_fingerprint(fingerprint))
    if mode is TLSMode.INSECURE:
        return False
    return ssl_context if ssl_context is not None else True


async def get_server_fingerprint(
    host: str,
    port: int = 443,
    session: aiohttp.ClientSession | None = None,
    connect_timeout: float = FINGERPRINT_TIMEOUT,
) -> str:
    """Return the SHA-256 fingerprint ("AB:CD:...") of the certificate ``host:port`` presents, without trusting it.

    ``session`` is accepted for symmetry with the client (a handshake needs no HTTP session). Raises
    :class:`CannotConnectError` when no TLS handshake completes.
    """
    del session  # a bare TLS handshake is enough
    try:
        async with asyncio.timeout(connect_timeout):
            _reader, writer = await asyncio.open_connection(host, port, ssl=_UNVERIFIED, server_hostname=host)
    except (OSError, TimeoutError, ssl.SSLError) as err:
        raise CannotConnectError(f"cannot read the certificate of {host}:{port}: {err or type(err).__name__}") from err
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if not der:  # pragma: no cover - a TLS server always presents a certificate
        raise TLSError(f"{host}:{port} presented no certificate")
    return certificate_fingerprint(der)
