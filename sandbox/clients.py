"""Registering SMART apps with the sandbox (used by the commands and the tests)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from sandbox.models import Client, hash_secret

DEMO_CLIENT_ID = "smartapp-demo"


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
        },
    )
    return client


def register_demo_app() -> Client:
    """The app this repository builds, as `make demo` runs it (a public client for now;
    the launch engine registers its confidential clients when it lands)."""
    base = settings.APP_BASE_URL
    return register_client(
        client_id=DEMO_CLIENT_ID,
        name="Patient summary (demo)",
        redirect_uris=[f"{base}/smart/callback"],
        launch_uri=f"{base}/smart/launch",
    )
