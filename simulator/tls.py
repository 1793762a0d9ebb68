"""A self-signed TLS certificate for the simulator (SAN 127.0.0.1 and localhost)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def generate_certificate(common_name: str = "IP Office Simulator") -> tuple[bytes, bytes]:
    """Return (certificate PEM, private key PEM) of a fresh self-signed certificate valid for a year."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert_pem, key_pem


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate DER as upper-case hex pairs joined by ':'."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server SSL context from PEM data."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:
        certfile, keyfile = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        certfile.write_bytes(cert_pem)
        keyfile.write_bytes(key_pem)
        keyfile.chmod(0o600)
        context.load_cert_chain(certfile, keyfile)
    return context
