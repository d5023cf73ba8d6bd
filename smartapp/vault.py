"""The token vault: a launch's tokens, encrypted at rest, decrypted only for the call at hand.

This holds what the launch engine needs: storing the grant from a code exchange and handing a
valid access token to a caller. Refreshing before expiry (single-flight across processes),
sign-out with revocation and key rotation build on it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from smartapp.errors import LaunchEnded
from smartapp.models import Launch, TokenGrant
from smartapp.token_response import TokenResponse


def store(launch: Launch, tokens: TokenResponse, identity: dict[str, Any]) -> TokenGrant:
    """Save (or replace) the launch's grant; the caller holds the launch's row lock."""
    grant = TokenGrant.objects.filter(launch=launch).first() or TokenGrant(launch=launch)
    grant.set_secret("access_token", tokens.access_token)
    grant.set_secret("refresh_token", tokens.refresh_token)
    grant.id_token_claims = identity
    grant.scope = tokens.scope
    grant.expires_at = timezone.now() + timedelta(seconds=tokens.expires_in)
    grant.version += 1
    grant.save()
    return grant


def access_token(launch: Launch) -> str:
    """A usable access token for the launch, or LaunchEnded."""
    grant = TokenGrant.objects.filter(launch=launch).first()
    token = grant.get_secret("access_token") if grant is not None else None
    if grant is None or token is None or grant.expires_at <= timezone.now():
        raise LaunchEnded("no usable access token").about(launch.connection)
    return token
