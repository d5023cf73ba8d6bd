"""What an access token lets its bearer do, read live on every call (RFC 6750).

`grant_for` looks the token up by its SHA-256 (the table holds nothing else), so the lookup
leaks no timing about the token's characters. The answer is read from the client as it is
now: a revoked client, a scope taken away or a tenant unbound stops the token at once, not at
its expiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from smartapp.api_clients import api_settings
from smartapp.api_clients.credentials import digest
from smartapp.api_clients.models import ApiToken
from smartapp.clock import clock

# Longer than any token we issue; a longer header is refused before it is hashed.
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True)
class ClientGrant:
    """The caller of one API request: which client, which tenants, which scopes."""

    client_pk: int
    client_id: str
    name: str
    connection_ids: tuple[uuid.UUID, ...]
    connection_slugs: tuple[str, ...]
    scopes: frozenset[str]
    rate_limit_per_minute: int


def grant_for(token: str) -> ClientGrant | None:
    """The grant behind a bearer token; None when unknown, expired or its client revoked."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    row = (
        ApiToken.objects.select_related("client")
        .filter(token_hash=digest(token), expires__gt=clock().now())
        .first()
    )
    if row is None or row.client.revoked_at is not None:
        return None
    client = row.client
    # Disabled connections are not served even if still bound.
    tenants = list(
        client.connections.filter(enabled=True).order_by("slug").values_list("pk", "slug")
    )
    return ClientGrant(
        client_pk=client.pk,
        client_id=client.client_id,
        name=client.name,
        connection_ids=tuple(pk for pk, _ in tenants),
        connection_slugs=tuple(slug for _, slug in tenants),
        scopes=frozenset(row.scope.split()) & client.scope_set,
        rate_limit_per_minute=client.rate_limit_per_minute or api_settings.rate_limit_per_minute(),
    )
