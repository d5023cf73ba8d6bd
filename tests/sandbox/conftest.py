"""A real sandbox EHR over HTTP for the tests: its own server on 127.0.0.1 (another site than
the app's `localhost`), a JWKS host for private_key_jwt clients, and client helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from joserfc import jwk
from pytest_django.live_server_helper import LiveServer

from sandbox import simulation
from sandbox.clients import register_client
from sandbox.handler import SandboxHandler
from tests.sandbox.smart_client import SmartClient

REDIRECT = "http://localhost:8000/smart/callback"
LAUNCH = "http://localhost:8000/smart/launch"
SECRET = "sandbox-test-secret-0123456789"


class Sandbox:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=10.0)

    def base(self, **options: Any) -> str:
        """The FHIR base (iss) of a simulated EHR; no options: the well-behaved one."""
        if not options:
            return f"{self.url}/fhir"
        return f"{self.url}/sim/{simulation.encode(options)}/fhir"

    def stats(self) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"{self.url}/sandbox/stats").json()
        return body

    def reset_stats(self) -> None:
        self.http.post(f"{self.url}/sandbox/stats/reset").raise_for_status()


@pytest.fixture(scope="session")
def sandbox_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    with django_db_blocker.unblock():
        server = LiveServer("127.0.0.1:0", start=False)
    server.thread.static_handler = lambda _inner: StaticFilesHandler(SandboxHandler())  # type: ignore[assignment]
    server._live_server_modified_settings.enable()
    server.start()
    yield server.url
    server.stop()
    server._live_server_modified_settings.disable()


@pytest.fixture
def sandbox(sandbox_server: str, transactional_db: None) -> Iterator[Sandbox]:
    box = Sandbox(sandbox_server)
    box.reset_stats()
    yield box
    box.http.close()


@pytest.fixture(scope="session")
def jwks_host() -> Iterator[Callable[[dict[str, Any]], str]]:
    """Serves JWKS documents on loopback: `publish(jwks) -> url`."""
    documents: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(jwks: dict[str, Any]) -> str:
        path = f"/jwks-{len(documents)}.json"
        documents[path] = json.dumps(jwks).encode()
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield publish
    server.shutdown()


def make_key(alg: str) -> jwk.Key:
    key: jwk.Key
    if alg.startswith("RS"):
        key = jwk.RSAKey.generate_key(2048, private=True)
    else:
        key = jwk.ECKey.generate_key("P-384", private=True)
    key.ensure_kid()
    return key


@pytest.fixture
def make_client(
    sandbox: Sandbox, jwks_host: Callable[[dict[str, Any]], str]
) -> Callable[..., SmartClient]:
    """Register a client of a given kind and return an independent SMART client for it."""

    def make(
        kind: str = "public",
        base: str | None = None,
        client_id: str | None = None,
        scopes: str = "",
        alg: str = "RS384",
    ) -> SmartClient:
        client_id = client_id or f"test-{kind}"
        base = base or sandbox.base()
        if kind == "public":
            register_client(
                client_id=client_id, redirect_uris=[REDIRECT], launch_uri=LAUNCH, scopes=scopes
            )
            return SmartClient(base, client_id)
        if kind in ("secret_basic", "secret_post"):
            register_client(
                client_id=client_id,
                redirect_uris=[REDIRECT],
                launch_uri=LAUNCH,
                secret=SECRET,
                scopes=scopes,
            )
            return SmartClient(base, client_id, secret=SECRET, secret_in_body=kind == "secret_post")
        if kind == "private_key_jwt":
            key = make_key(alg)
            jwks = {"keys": [{**key.as_dict(private=False), "alg": alg, "use": "sig"}]}
            register_client(
                client_id=client_id,
                redirect_uris=[REDIRECT],
                launch_uri=LAUNCH,
                jwks_uri=jwks_host(jwks),
                scopes=scopes,
            )
            return SmartClient(base, client_id, key=key, alg=alg)
        raise ValueError(kind)

    return make
