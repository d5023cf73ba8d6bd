"""smartapp.conformance.probe: failures become facts, never exceptions; TLS as verified."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smart.conformance import Status
from smart.conformance_rules import check_tls
from smartapp import outbound
from smartapp.conformance.probe import fetch_json, origins, probe_tls


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    """A TLS listener with a self-signed certificate: completes handshakes, says nothing."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                raw.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{port}"
    listener.close()


def test_a_self_signed_certificate_is_unverifiable(tls_server):
    facts = probe_tls(tls_server)
    assert not facts.verified
    assert "self-signed" in (facts.error or "")
    finding = check_tls(facts, datetime.now(UTC))
    assert finding.status is Status.FAIL
    assert "unverifiable" in finding.message


def test_a_closed_port_is_an_error_fact():
    facts = probe_tls("https://127.0.0.1:9")
    assert not facts.verified
    assert facts.error
    assert check_tls(facts, datetime.now(UTC)).status is Status.FAIL


def test_plain_http_is_not_handshaken():
    facts = probe_tls("http://127.0.0.1:9")
    assert facts.error is None
    assert not facts.verified


def test_a_url_refused_by_policy_is_a_fact_not_an_exception():
    def refuse(purpose: outbound.Purpose, url: str) -> None:
        raise outbound.UrlRefused("not on the list")

    outbound.add_url_policy(refuse)
    try:
        seen = fetch_json(outbound.Purpose.DISCOVERY, "http://127.0.0.1:9/x")
        tls = probe_tls("https://127.0.0.1:9")
    finally:
        outbound._policies.remove(refuse)
    assert seen.status is None
    assert "not on the list" in (seen.error or "")
    assert "not on the list" in (tls.error or "")


def test_origins_each_once_in_order():
    assert origins(
        [
            "http://127.0.0.1:9000/fhir",
            "http://127.0.0.1:9000/auth/token",
            None,
            "https://ehr.example/jwks",
            "https://[::1]:8443/x",
            "/relative",
        ]
    ) == ("http://127.0.0.1:9000", "https://ehr.example:443", "https://[::1]:8443")
