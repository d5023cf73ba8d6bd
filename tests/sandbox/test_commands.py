"""The sandbox's management commands, and `runsandbox` serving its own origin."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from sandbox.clients import DEMO_CLIENT_ID
from sandbox.fhir_store import build_store
from sandbox.models import Client, hash_secret

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flag", "method"),
    [
        (["--public"], "none"),
        (["--secret", "s3cret"], "client_secret"),
        (["--jwks-uri", "http://localhost:8000/.well-known/jwks.json"], "private_key_jwt"),
    ],
)
def test_sandbox_client(flag: list[str], method: str) -> None:
    call_command(
        "sandbox_client",
        "--client-id",
        "qa-app",
        *flag,
        "--redirect-uri",
        "http://localhost:8000/smart/callback",
        "--launch-uri",
        "http://localhost:8000/smart/launch",
        "--scopes",
        "launch patient/*.rs",
    )
    client = Client.objects.get(client_id="qa-app")
    assert client.auth_method == method
    assert client.redirect_uris == ["http://localhost:8000/smart/callback"]
    assert client.get_allowed_scope("launch patient/*.rs user/*.rs") == "launch patient/*.rs"
    if method == "client_secret":
        assert client.secret_hash == hash_secret("s3cret")
        assert client.check_client_secret("s3cret")


@pytest.mark.django_db
def test_sandbox_client_updates_in_place() -> None:
    args = ["--client-id", "qa-app", "--public", "--redirect-uri", "http://localhost:8000/a"]
    call_command("sandbox_client", *args)
    call_command("sandbox_client", *args[:-1], "http://localhost:8000/b")
    assert Client.objects.get().redirect_uris == ["http://localhost:8000/b"]


@pytest.mark.django_db
def test_sandbox_seed_registers_the_demo_app(capsys) -> None:
    call_command("sandbox_seed")
    client = Client.objects.get(client_id=DEMO_CLIENT_ID)
    assert client.launch_uri.endswith("/smart/launch")
    assert "Patient" in capsys.readouterr().out
    # Extraction is set up on both sides: the backend client knows the connection's key.
    from sandbox.clients import DEMO_BACKEND_CLIENT_ID
    from smartapp.models import EhrConnection

    backend = Client.objects.get(client_id=DEMO_BACKEND_CLIENT_ID)
    assert backend.grant_types == ["client_credentials"]
    for connection in EhrConnection.objects.filter(slug__in=("sandbox", "sandbox-v1")):
        assert connection.has_backend_services
        public = connection.backend_public_jwk()
        assert public is not None
        assert public["n"] == backend.jwks["keys"][0]["n"]


def test_sandbox_load(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:loaded-1",
                "resource": {"resourceType": "Patient", "id": "loaded-1", "gender": "female"},
            }
        ],
    }
    source = tmp_path / "synthea.json"
    source.write_text(json.dumps(bundle))
    with override_settings(SANDBOX_BUNDLE_DIR=str(tmp_path / "bundles")):
        call_command("sandbox_load", str(source))
        assert (tmp_path / "bundles" / "synthea.json").exists()
        assert build_store().get("Patient", "loaded-1") is not None


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        json.dumps({"resourceType": "Bundle", "entry": []}),
        json.dumps({"resourceType": "Patient", "id": "x", "gender": "sometimes", "bogus": 1}),
    ],
)
def test_sandbox_load_refuses_bad_files(tmp_path: Path, content: str) -> None:
    source = tmp_path / "bad.json"
    source.write_text(content)
    with (
        override_settings(SANDBOX_BUNDLE_DIR=str(tmp_path / "bundles")),
        pytest.raises(CommandError),
    ):
        call_command("sandbox_load", str(source))
    assert not (tmp_path / "bundles" / "bad.json").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runsandbox_serves_only_the_sandbox(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runsandbox", "--addr", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"{url}/fhir/metadata").json()["resourceType"] == "CapabilityStatement"
        assert httpx.get(f"{url}/readyz").status_code == 404  # the app's URLs are not here
        assert httpx.get(f"{url}/admin/").status_code == 404
    finally:
        server.terminate()
        server.wait(timeout=10)
