"""The token store: a launch's grant row, written atomically, read and decrypted on demand.

Access and refresh tokens live only as AES-GCM ciphertext bound to their row and field
(`smartapp.secretbox`); they are decrypted in memory for the call that needs them and never
logged, rendered or put in a URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from smart.errors import LaunchEnded
from smart.token_response import TokenResponse
from smartapp.models import Launch, TokenGrant


def find(launch: Launch) -> TokenGrant | None:
    return TokenGrant.objects.filter(launch=launch).first()


def grant_of(launch: Launch) -> TokenGrant:
    """The launch's grant; LaunchEnded when it has none (signed out, ended, purged)."""
    grant = find(launch)
    if grant is None:
        raise LaunchEnded("no grant").about(launch.connection)
    return grant


_READ_WITH_LAUNCH = "_grant_read_with_launch"


def keep_read_with_launch(launch: Launch) -> None:
    """Keep the grant a `select_related("grant")` query read with `launch` for one later
    `read_with_launch`, out of Django's relation cache (which other code fills too)."""
    relation = Launch.grant.related
    if relation.is_cached(launch):
        setattr(launch, _READ_WITH_LAUNCH, relation.get_cached_value(launch))
        relation.delete_cached_value(launch)


def read_with_launch(launch: Launch) -> TokenGrant:
    """The grant `launch_for` read together with the launch (one query for both), the first
    time only; otherwise, and on any later call, the row read afresh, as `grant_of` does."""
    kept = vars(launch).pop(_READ_WITH_LAUNCH, False)
    if kept is False:
        return grant_of(launch)
    if not isinstance(kept, TokenGrant):  # the query found no grant: None
        raise LaunchEnded("no grant").about(launch.connection)
    return kept


def apply(grant: TokenGrant, tokens: TokenResponse, now: datetime) -> None:
    """New tokens onto the grant, together: access, refresh, scope, expiry, version."""
    grant.set_secret("access_token", tokens.access_token)
    if tokens.refresh_token:  # rotation; without a new one the old one stays valid
        grant.set_secret("refresh_token", tokens.refresh_token)
    grant.scope = tokens.scope
    grant.lifetime_s = tokens.expires_in
    grant.expires_at = now + timedelta(seconds=tokens.expires_in)
    grant.version += 1


def store(
    launch: Launch, tokens: TokenResponse, identity: dict[str, Any], now: datetime
) -> TokenGrant:
    """Save the grant of a fresh code exchange; the caller holds the launch's row lock."""
    grant = find(launch) or TokenGrant(launch=launch)
    grant.id_token_claims = identity
    apply(grant, tokens, now)
    grant.save()
    return grant


def access_token(grant: TokenGrant) -> str:
    return str(grant.get_secret("access_token"))


def refresh_token(grant: TokenGrant) -> str | None:
    return grant.get_secret("refresh_token")


def delete(launch: Launch) -> None:
    TokenGrant.objects.filter(launch=launch).delete()
