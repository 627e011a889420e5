"""Certificates for test servers speaking HTTPS.

``self_signed`` writes a self-signed certificate for a test registry on loopback: it
names ``127.0.0.1`` and ``registry.test`` (a name only the tests' CONNECT proxy
resolves), is its own CA, and lives an hour.

``PrivateCa`` is a company's own certificate authority: ``issue`` writes a server
certificate it signs, for the names given, valid for an hour or (``expired``) ended an
hour ago. ``outward_address`` is this machine's address that is not loopback, where a
registry is reached over TLS (publisher speaks plain HTTP to every loopback one).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def self_signed(directory: Path) -> tuple[Path, Path]:
    """Write ``registry.pem`` and ``registry.key`` (for 127.0.0.1 and ``registry.test``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("publisher test registry")
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(_names(["127.0.0.1", "registry.test"]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return _write(directory, "registry", cert, key)


class PrivateCa:
    """A certificate authority of its own, ``cert`` its certificate (PEM) in ``directory``."""

    def __init__(self, directory: Path, name: str = "publisher test corporate CA") -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(name)
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert = directory / "ca.pem"
        self.cert.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, label: str, names: list[str], *, expired: bool = False) -> tuple[Path, Path]:
        """Write ``LABEL.pem`` and ``LABEL.key``: a server certificate for ``names`` (IP
        addresses or DNS names), valid for an hour, or (``expired``) ended an hour ago."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(hours=3 if expired else 0, minutes=5)
        end = now - dt.timedelta(hours=1) if expired else now + dt.timedelta(hours=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(label))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(_names(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return _write(self.directory, label, cert, key)

    def tls_config(self, label: str, names: list[str], *, expired: bool = False) -> dict[str, str]:
        """A distribution registry's ``http.tls`` serving a certificate ``issue`` writes."""
        cert, key = self.issue(label, names, expired=expired)
        return {"certificate": str(cert), "key": str(key)}


def outward_address() -> str | None:
    """This machine's IPv4 address on a network interface other than loopback (the one a
    route out leaves by), or None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet is sent (UDP, no data)
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _names(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _write(
    directory: Path, label: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{label}.pem", directory / f"{label}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
