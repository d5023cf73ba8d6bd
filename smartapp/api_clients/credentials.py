"""Issuing, rotating and revoking a service client's credentials.

The secret is returned once, to the caller that asked for it, and only its SHA-256 is kept.
Rotation and revocation take effect at once: both delete the client's access tokens in the
same transaction that changes the secret (or marks the client revoked), so no token issued
under the old secret outlives the call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from smartapp.api_clients.models import ApiClient, ApiToken
from smartapp.api_clients.scopes import check_scopes, scope_text
from smartapp.clock import clock
from smartapp.models import EhrConnection

CLIENT_ID_PREFIX = "sac_"
SECRET_BYTES = 32  # 256 bits: a fast hash is enough, no guessing is feasible


def digest(value: str) -> str:
    """The stored form of a secret or token: SHA-256, hex."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def _connections(slugs: Sequence[str]) -> list[EhrConnection]:
    wanted = list(dict.fromkeys(slugs))
    if not wanted:
        raise ValueError("at least one connection (tenant) is required")
    found = {c.slug: c for c in EhrConnection.objects.filter(slug__in=wanted)}
    for slug in wanted:
        if slug not in found:
            raise ValueError(f"no EHR connection {slug!r}")
        if not found[slug].enabled:
            raise ValueError(f"EHR connection {slug!r} is disabled")
    return [found[slug] for slug in wanted]


def _rate_limit(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or value < 1):
        raise ValueError(f"rate limit must be a positive number of calls per minute: {value}")
    return value


@transaction.atomic
def issue(
    name: str,
    connection_slugs: Sequence[str],
    scopes: Sequence[str],
    *,
    rate_limit: int | None = None,
    created_by: str = "cli",
) -> tuple[ApiClient, str]:
    """A new client bound to the enabled connections named, and its secret (shown once)."""
    if not name.strip():
        raise ValueError("a name is required")
    granted = check_scopes(scopes)
    if not granted:
        raise ValueError("at least one scope is required")
    tenants = _connections(connection_slugs)
    secret = new_secret()
    client = ApiClient.objects.create(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(12),
        name=name.strip(),
        secret_hash=digest(secret),
        scopes=scope_text(granted),
        rate_limit_per_minute=_rate_limit(rate_limit),
        created=clock().now(),
        created_by=created_by,
    )
    client.connections.set(tenants)
    return client, secret


@transaction.atomic
def rotate(client: ApiClient) -> str:
    """A new secret; the old one and every token issued under it are refused from now on."""
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    if locked.revoked_at is not None:
        raise ValueError(f"client {locked.client_id} is revoked")
    secret = new_secret()
    locked.secret_hash = digest(secret)
    locked.rotated_at = clock().now()
    locked.save(update_fields=["secret_hash", "rotated_at"])
    locked.tokens.all().delete()
    client.secret_hash, client.rotated_at = locked.secret_hash, locked.rotated_at
    return secret


@transaction.atomic
def revoke(client: ApiClient) -> None:
    """The client and all its tokens refused from now on (idempotent)."""
    locked = ApiClient.objects.select_for_update().get(pk=client.pk)
    if locked.revoked_at is None:
        locked.revoked_at = clock().now()
        locked.save(update_fields=["revoked_at"])
    locked.tokens.all().delete()
    client.revoked_at = locked.revoked_at


def purge_expired(now: datetime) -> int:
    """Delete access tokens past their expiry (the daily housekeeping): a client that asks for
    a token on every call leaves no growing table behind."""
    deleted, _ = ApiToken.objects.filter(expires__lte=now).delete()
    return int(deleted)
