"""The token vault: a launch's tokens, encrypted at rest, decrypted only for the call at hand.

`access_token(launch)` is the one way to get a usable access token. When the stored one is
within the refresh margin of expiry it refreshes first, single-flight (`refresh_lock`): the
first caller refreshes, everyone waiting re-reads the grant afterwards and takes the winner's
token. Refresh eligibility comes from holding a refresh token, not from the scope string (some
EHRs leave `offline_access` out of `scope` yet issue one).

Failure model (SMART App Launch 2.x "refresh"; RFC 6749 5.2 and 6):
- an OAuth error from the token endpoint (`invalid_grant`, `invalid_client`, ...) or an
  unusable answer ends the grant: tokens deleted, launch `reauth_required`, and the user sees
  "your session with <EHR> has ended" with the way back in;
- a timeout or 5xx is retried a few times with backoff, then reported as temporary; the grant
  stays and the next page tries again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smartapp import registry, token_client
from smart.errors import (
    EhrUnavailable,
    GrantLost,
    LaunchEnded,
    SmartAppError,
    TokenExchangeFailed,
)
from smartapp.fhir_client import FhirUnauthorized
from smart.launch_states import LaunchEvent, LaunchState, advance
from smartapp.models import Launch, TokenGrant
from smartapp.refresh_lock import LockTimeout, refresh_lock
from smart.token_response import TokenResponse

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_DELAYS_S = (0.25, 0.75)  # three attempts in all for timeouts and 5xx


def store(launch: Launch, tokens: TokenResponse, identity: dict[str, Any]) -> TokenGrant:
    """Save the grant of a fresh code exchange; the caller holds the launch's row lock."""
    grant = TokenGrant.objects.filter(launch=launch).first() or TokenGrant(launch=launch)
    grant.id_token_claims = identity
    _apply(grant, tokens)
    grant.save()
    return grant


def _apply(grant: TokenGrant, tokens: TokenResponse) -> None:
    """New tokens onto the grant, atomically with each other: access, refresh, expiry."""
    grant.set_secret("access_token", tokens.access_token)
    if tokens.refresh_token:  # rotation; without a new one the old one stays valid
        grant.set_secret("refresh_token", tokens.refresh_token)
    grant.scope = tokens.scope
    grant.lifetime_s = tokens.expires_in
    grant.expires_at = timezone.now() + timedelta(seconds=tokens.expires_in)
    grant.version += 1


def _margin(grant: TokenGrant) -> timedelta:
    skew = float(getattr(settings, "TOKEN_REFRESH_SKEW_S", 60))
    return timedelta(seconds=min(skew, grant.lifetime_s / 2))


def is_stale(grant: TokenGrant, now: datetime | None = None) -> bool:
    return grant.expires_at - _margin(grant) <= (now or timezone.now())


def _grant(launch: Launch) -> TokenGrant:
    grant = TokenGrant.objects.filter(launch=launch).first()
    if grant is None:
        raise LaunchEnded("no grant").about(launch.connection)
    return grant


def access_token(launch: Launch) -> str:
    """A usable access token for the launch: the stored one, or a fresh one."""
    return token_and_version(launch)[0]


def token_and_version(launch: Launch) -> tuple[str, int]:
    """A usable access token and the grant version it belongs to (for a later 401 retry)."""
    grant = _grant(launch)
    if not is_stale(grant):
        return str(grant.get_secret("access_token")), grant.version
    token = _refresh(launch, seen_version=grant.version)
    return token, _grant(launch).version


def with_access_token(launch: Launch, call: Callable[[str], T]) -> T:
    """Run a FHIR call; on 401, refresh once and retry once (SMART: a 401 means re-auth)."""
    grant = _grant(launch)
    token = str(grant.get_secret("access_token")) if not is_stale(grant) else None
    version = grant.version
    if token is None:
        token = _refresh(launch, seen_version=version)
        version = _grant(launch).version
    try:
        return call(token)
    except FhirUnauthorized:
        log.info(
            "FHIR refused the access token; refreshing once", extra={"launch": launch.handle[:6]}
        )
    try:
        return call(_refresh(launch, seen_version=version, refused=True))
    except FhirUnauthorized as exc:
        raise end_grant(launch, GrantLost("FHIR refused the refreshed token")) from exc


def _lock(grant: TokenGrant) -> AbstractContextManager[None]:
    if not getattr(settings, "TOKEN_REFRESH_SINGLE_FLIGHT", True):
        return nullcontext()  # test-only switch (tests/settings.py): shows what the lock prevents
    return refresh_lock(grant.pk)


def _refresh(launch: Launch, *, seen_version: int, refused: bool = False) -> str:
    grant = _grant(launch)
    try:
        with _lock(grant):
            grant = _grant(launch)  # re-read: someone may have refreshed while we waited
            if grant.version != seen_version and not is_stale(grant):
                return str(grant.get_secret("access_token"))
            refresh_token = grant.get_secret("refresh_token")
            if not refresh_token:
                if not refused and grant.expires_at > timezone.now():
                    return str(
                        grant.get_secret("access_token")
                    )  # still valid; nothing to refresh with
                raise end_grant(launch, GrantLost("expired and no refresh token"))
            tokens = _call_token_endpoint(launch, refresh_token)
            with transaction.atomic():
                _apply(grant, tokens)
                grant.save()
            log.info(
                "access token refreshed",
                extra={"launch": launch.handle[:6], "version": grant.version},
            )
            return tokens.access_token
    except LockTimeout:
        grant = _grant(launch)
        if grant.expires_at > timezone.now() and grant.version != seen_version:
            return str(grant.get_secret("access_token"))
        raise EhrUnavailable("refresh lock wait timed out").about(launch.connection) from None


def _call_token_endpoint(launch: Launch, refresh_token: str) -> TokenResponse:
    credentials = registry.credentials_for(launch.connection)
    for attempt, delay in enumerate((*RETRY_DELAYS_S, None), start=1):
        try:
            return token_client.refresh(credentials, launch.token_endpoint, refresh_token)
        except EhrUnavailable:
            if delay is None:
                log.warning("refresh failed: EHR unavailable", extra={"attempts": attempt})
                raise
            time.sleep(delay)
        except TokenExchangeFailed as error:  # OAuth error or unusable answer: the grant is over
            raise end_grant(launch, GrantLost(error.detail)) from error
    raise AssertionError("unreachable")


def end_grant(
    launch: Launch, error: SmartAppError, event: LaunchEvent = LaunchEvent.GRANT_LOST
) -> SmartAppError:
    """Delete the launch's tokens and move it out of `active`; returns `error` to raise."""
    with transaction.atomic():
        locked = Launch.objects.select_for_update().select_related("connection").get(pk=launch.pk)
        TokenGrant.objects.filter(launch=locked).delete()
        if locked.state == LaunchState.ACTIVE:
            locked.state = advance(LaunchState(locked.state), event)
            locked.failure_code = error.code
            locked.save(update_fields=["state", "failure_code", "updated"])
    forget_cached_phi(launch)
    log.info("grant ended", extra={"launch": launch.handle[:6], "code": error.code})
    return error.about(launch.connection)


def forget_cached_phi(launch: Launch) -> None:
    """Drop the summary sections cached for this launch's patient, user and scopes."""
    from smartapp import summary_service

    summary_service.forget(launch)


def refreshed_after_401(launch: Launch, seen_version: int) -> str:
    """The token to retry with after a FHIR 401 on the token of `seen_version`."""
    return _refresh(launch, seen_version=seen_version, refused=True)


def revoke_and_forget(launch: Launch) -> None:
    """Sign-out: give the tokens back to the EHR (RFC 7009), then delete them and cached PHI.

    The refresh token goes first (revoking it should end the whole grant, RFC 7009 2.1), then
    the access token. A revocation that fails is logged and does not block the sign-out: the
    tokens are deleted here either way.
    """
    grant = TokenGrant.objects.filter(launch=launch).first()
    if grant is not None:
        tokens = [
            (grant.get_secret("refresh_token"), "refresh_token"),
            (grant.get_secret("access_token"), "access_token"),
        ]
        endpoint = _revocation_endpoint(launch)
        credentials = registry.credentials_for(launch.connection)
        for token, hint in tokens:
            if token and endpoint:
                try:
                    token_client.revoke(credentials, endpoint, token, hint)
                except Exception as exc:  # never block a sign-out
                    log.warning(
                        "revocation failed", extra={"hint": hint, "error": type(exc).__name__}
                    )
        TokenGrant.objects.filter(pk=grant.pk).delete()
    forget_cached_phi(launch)


def _revocation_endpoint(launch: Launch) -> str | None:
    from smartapp import discovery

    try:
        return discovery.discover(launch.connection.iss).revocation_endpoint
    except SmartAppError:
        return None
