"""Registering SMART apps with the sandbox (used by the commands and the tests).

Two kinds: apps a user launches (`register_client`: authorization code and refresh tokens)
and SMART Backend Services clients (`register_backend_client`: `client_credentials` with a
`private_key_jwt` assertion, no user, no redirect URI;
https://hl7.org/fhir/smart-app-launch/backend-services.html).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from joserfc import jwk

from sandbox.models import BACKEND_GRANT_TYPES, Client, default_grant_types, hash_secret
from sandbox.simulation import encode

DEMO_CLIENT_ID = "smartapp-demo"
DEMO_BACKEND_CLIENT_ID = "smartapp-demo-backend"
DEMO_ORIGIN = "http://127.0.0.1:9000"


def register_client(
    *,
    client_id: str,
    redirect_uris: Sequence[str],
    launch_uri: str = "",
    secret: str | None = None,
    jwks_uri: str | None = None,
    scopes: str = "",
    name: str = "",
) -> Client:
    """Create or update a client; at most one of `secret` / `jwks_uri` (neither: public)."""
    if secret and jwks_uri:
        raise ValueError("a client authenticates with a secret or a JWKS URL, not both")
    if not redirect_uris:
        raise ValueError("at least one redirect URI is required")
    method = "client_secret" if secret else "private_key_jwt" if jwks_uri else "none"
    client, _ = Client.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": name or client_id,
            "auth_method": method,
            "secret_hash": hash_secret(secret) if secret else "",
            "jwks_uri": jwks_uri or "",
            "redirect_uris": list(redirect_uris),
            "launch_uri": launch_uri,
            "scope": scopes,
            "jwks": {},
            "grant_types": default_grant_types(),
        },
    )
    return client


def register_backend_client(
    *,
    client_id: str,
    jwks_uri: str | None = None,
    jwks: Mapping[str, Any] | None = None,
    scopes: str = "system/*.rs",
    name: str = "",
) -> Client:
    """Create or update a Backend Services client: exactly one of `jwks_uri` / `jwks`.

    SMART Backend Services: the client authenticates with an RS384 or ES384 assertion
    (`private_key_jwt`) and may only use `client_credentials`. `scopes` bounds what it may
    be granted (blank: any `system/` scope).
    """
    if bool(jwks_uri) == bool(jwks):
        raise ValueError("a backend client needs a JWKS URL or an inline JWKS (one of them)")
    if jwks is not None and not isinstance(jwks.get("keys"), list):
        raise ValueError("an inline JWKS is an object with a 'keys' list")
    client, _ = Client.objects.update_or_create(
        client_id=client_id,
        defaults={
            "name": name or client_id,
            "auth_method": "private_key_jwt",
            "secret_hash": "",
            "jwks_uri": jwks_uri or "",
            "jwks": dict(jwks or {}),
            "redirect_uris": [],
            "launch_uri": "",
            "scope": scopes,
            "grant_types": list(BACKEND_GRANT_TYPES),
        },
    )
    return client


def register_demo_app(origin: str = DEMO_ORIGIN) -> Client:
    """The app this repository builds, as `make demo` runs it, registered on both sides.

    With the sandbox: a confidential client (client_secret_basic) with a fresh secret, and a
    Backend Services client (`smartapp-demo-backend`, a fresh RS384 key, its public half
    registered inline) for extraction. With the app (same database in the demo): two
    connections to the sandbox at `origin`, a SMART 2 one and a SMART 1.0-era one
    (`smart: v1`), both allowed to frame the app and to extract
    (`manage.py extract --connection sandbox`).
    """
    from smartapp.registry import register_connection

    secret = secrets.token_urlsafe(32)
    base = settings.APP_BASE_URL
    client = register_client(
        client_id=DEMO_CLIENT_ID,
        name="Patient summary (demo)",
        redirect_uris=[f"{base}/smart/callback"],
        launch_uri=f"{base}/smart/launch",
        secret=secret,
    )
    backend = jwk.RSAKey.generate_key(2048, private=True)
    public = {**backend.as_dict(private=False), "alg": "RS384", "use": "sig"}
    register_backend_client(
        client_id=DEMO_BACKEND_CLIENT_ID, jwks={"keys": [public]}, name="Extraction (demo)"
    )
    for slug, name, iss in (
        ("sandbox", "Sandbox EHR", f"{origin}/fhir"),
        ("sandbox-v1", "Sandbox EHR (SMART v1)", f"{origin}/sim/{encode({'smart': 'v1'})}/fhir"),
    ):
        register_connection(
            slug=slug,
            name=name,
            iss=iss,
            client_id=DEMO_CLIENT_ID,
            client_auth="client_secret_basic",
            client_secret=secret,
            frame_origins=[origin],
            backend_client_id=DEMO_BACKEND_CLIENT_ID,
            backend_key_pem=backend.as_pem(private=True).decode(),
        )
    return client
