"""Token management: a usable access token for a launch, refreshed single-flight.

`access_token(launch)` is the one way to get a token to send. Within the refresh margin of
expiry (`policy`) it refreshes first, inside the launch's refresh lock (`lock`): the first
caller refreshes, everyone who waited re-reads the grant and takes the winner's token.
Refresh eligibility comes from holding a refresh token, not from the scope string (some EHRs
leave `offline_access` out of `scope` yet issue one).

Failure model (SMART App Launch 2.x "refresh"; RFC 6749 5.2 and 6):
- an OAuth error from the token endpoint (`invalid_grant`, `invalid_client`, ...) or an
  unusable answer ends the grant: tokens deleted, launch `reauth_required`, and the user sees
  "your session with <EHR> has ended" with the way back in;
- a 503 or 501 the EHR answered, or a connection that never opened, is retried with back-off
  within
  the refresh budget (`TOKEN_REFRESH_BUDGET_S`), then reported as temporary; the grant stays
  and the next page tries again;
- a refresh that may have reached the EHR with no answer back (timeout, any other 5xx) has an
  unknown
  outcome. A rotating EHR may have spent the refresh token, and a strict one revokes the
  whole grant on its reuse, so it is never replayed: the grant is ended (tokens forgotten,
  launch `reauth_required`, code `refresh_outcome_unknown`), what we held is given back to
  the EHR in the background (which, on a rotating EHR, also ends the family whose new token
  never arrived), and the user is told the EHR did not answer in time and to open the app
  again. A retry would only help an EHR that does not rotate, and the app cannot know that.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from functools import partial

from django.conf import settings
from django.db import transaction

from smart.errors import EhrUnavailable, GrantLost, NextStep, SmartAppError, TokenExchangeFailed
from smart.launch_report import token_facts
from smart.launch_states import LaunchEvent, LaunchState
from smart.profiles import profile_for
from smart.token_response import IssuedTokens, TokenResponse
from smartapp import registry, token_endpoint
from smartapp.clock import clock
from smartapp.diagnostics import recorder
from smartapp.lock_objects import launch_qs_for_update
from smartapp.models import Launch, TokenGrant
from smartapp.observability import metrics
from smartapp.summary.cache import forget as forget_cached_phi
from smartapp.vault import revocation, store
from smartapp.vault.lock import LockTimeout, in_process, refresh_lock
from smartapp.vault.policy import RefreshPolicy

log = logging.getLogger(__name__)


class RefreshOutcomeUnknown(GrantLost):
    """A refresh got no answer in time, so whether the EHR spent the refresh token is unknown."""

    code = "refresh_outcome_unknown"
    status = 504
    title = "The EHR did not answer in time"
    message = (
        "While renewing this session's access, the EHR did not answer in time, so the app "
        "cannot tell whether its access still works. It closed the session rather than guess; "
        "nothing more is shown."
    )
    next_step = NextStep.RELAUNCH

    @property
    def heading(self) -> str:
        return f"{self.ehr_name} did not answer in time" if self.ehr_name else self.title


def policy() -> RefreshPolicy:
    return RefreshPolicy(
        skew_s=float(getattr(settings, "TOKEN_REFRESH_SKEW_S", 60)),
        budget_s=float(getattr(settings, "TOKEN_REFRESH_BUDGET_S", 10)),
    )


def is_stale(grant: TokenGrant) -> bool:
    return policy().is_stale(grant.expires_at, grant.lifetime_s, clock().now())


def live_grant(launch: Launch) -> TokenGrant:
    """The launch's grant with a usable access token, refreshed first when it is expiring.
    Nothing is decrypted unless it refreshes: a page served from the cache only proves the
    grant is alive (`SmartSession.ensure_token`)."""
    grant = store.read_with_launch(launch)
    if not is_stale(grant):
        return grant
    refresh(launch, seen_version=grant.version)
    return store.grant_of(launch)


def token_and_version(launch: Launch) -> tuple[str, int]:
    """A usable access token and the grant version it belongs to (for a later 401 retry)."""
    grant = live_grant(launch)
    return store.access_token(grant), grant.version


def access_token(launch: Launch) -> str:
    """A usable access token for the launch: the stored one, or a fresh one."""
    return token_and_version(launch)[0]


def _queue(launch: Launch, wait_s: float) -> AbstractContextManager[None]:
    """This process's threads refreshing one launch queue here first (`lock.in_process`)."""
    if not getattr(settings, "TOKEN_REFRESH_SINGLE_FLIGHT", True):
        return nullcontext()  # test-only switch (tests/settings.py): shows what the lock prevents
    return in_process(str(launch.pk), wait_s=wait_s)


def _lock(grant: TokenGrant, wait_s: float) -> AbstractContextManager[None]:
    if not getattr(settings, "TOKEN_REFRESH_SINGLE_FLIGHT", True):
        return nullcontext()
    return refresh_lock(grant.pk, wait_s=wait_s, ttl_s=policy().lock_ttl_s)


def _landed(grant: TokenGrant, seen_version: int) -> bool:
    """Someone refreshed since the caller's token was read, and that token is still good."""
    return grant.version != seen_version and not is_stale(grant)


def refresh(launch: Launch, *, seen_version: int, refused: bool = False) -> str:
    """A fresh access token, refreshed at most once however many callers race here.

    `seen_version` is the grant version the caller's token came from: a caller that finds a
    newer version after its wait takes that token rather than refreshing again. Threads of
    one process wait in line in-process and wake as the token lands; only the first goes on
    to the cross-process lock (`smartapp.vault.lock`).
    `refused` says the EHR refused the current token (a FHIR 401), so it is not reused.
    """
    # One wait in all (the policy's lock_wait_s), however it splits between the two queues;
    # real time, as the locks themselves wait (smartapp.vault.lock).
    deadline = time.monotonic() + policy().lock_wait_s
    try:
        with _queue(launch, deadline - time.monotonic()):
            grant = store.grant_of(launch)  # re-read: another thread may have refreshed
            if _landed(grant, seen_version):
                return store.access_token(grant)
            with _lock(grant, max(deadline - time.monotonic(), 0.0)):
                grant = store.grant_of(launch)  # and again: another process may have
                if _landed(grant, seen_version):
                    return store.access_token(grant)
                return _refresh_now(launch, grant, refused=refused)
    except LockTimeout:
        grant = store.grant_of(launch)
        if grant.expires_at > clock().now() and grant.version != seen_version:
            return store.access_token(grant)
        raise EhrUnavailable("refresh lock wait timed out").about(launch.connection) from None


def _refresh_now(launch: Launch, grant: TokenGrant, *, refused: bool) -> str:
    """The refresh itself, under the lock: the token endpoint, then the new tokens stored."""
    refresh_token = store.refresh_token(grant)
    if not refresh_token:
        if not refused and grant.expires_at > clock().now():
            return store.access_token(grant)  # still valid; nothing to refresh with
        raise end_grant(launch, GrantLost("expired and no refresh token"))
    with recorder.timed(launch.pk, "refresh", refused=refused) as noted:
        tokens = _call_token_endpoint(launch, grant, refresh_token)
        rotated = bool(tokens.refresh_token) and tokens.refresh_token != refresh_token
        noted.update(token_facts(tokens), rotated=rotated)
    with transaction.atomic():
        store.apply(grant, tokens, clock().now())
        grant.save()
    log.info(
        "access token refreshed",
        extra={"launch": launch.handle[:6], "version": grant.version},
    )
    return tokens.access_token


def _call_token_endpoint(launch: Launch, grant: TokenGrant, refresh_token: str) -> TokenResponse:
    """The refresh request, retried only where the refresh token is sure to be unspent."""
    credentials = registry.credentials_for(launch.connection)
    normalise = partial(
        profile_for(launch.connection.profile).normalise_token_response,
        requested_scope=grant.scope,
    )
    rules = policy()
    deadline = clock().monotonic() + rules.budget_s
    for attempt, delay in enumerate((*rules.retry_delays_s, None), start=1):
        try:
            return token_endpoint.refresh(
                credentials,
                launch.token_endpoint,
                refresh_token,
                normalise=normalise,
                within_s=max(deadline - clock().monotonic(), 0.001),
            )
        except token_endpoint.TokenCallUnanswered as error:
            # Never replay: the EHR may have rotated it, and reuse would revoke the grant.
            raise _outcome_unknown(launch, grant, error) from error
        except EhrUnavailable:
            if delay is None or not rules.may_back_off(delay, deadline - clock().monotonic()):
                log.warning("refresh failed: EHR unavailable", extra={"attempts": attempt})
                raise
            clock().sleep(delay)
        except TokenExchangeFailed as error:  # OAuth error or unusable answer: the grant is over
            held = _sealed(launch, grant, also=getattr(error, "issued", None))
            lost = GrantLost(error.detail)
            lost.ehr_error, lost.ehr_description = error.ehr_error, error.ehr_description
            ended = end_grant(launch, lost)
            revocation.queue(held)  # what we held, and what a refused answer carried
            raise ended from error
    raise AssertionError("unreachable")


def _outcome_unknown(launch: Launch, grant: TokenGrant, error: Exception) -> SmartAppError:
    """End the grant and give back what we hold; the user relaunches (module docstring)."""
    log.warning("refresh outcome unknown: not replayed", extra={"launch": launch.handle[:6]})
    held = _sealed(launch, grant)
    ended = end_grant(launch, RefreshOutcomeUnknown(str(error)))
    revocation.queue(held)
    return ended


def end_grant(
    launch: Launch, error: SmartAppError, event: LaunchEvent = LaunchEvent.GRANT_LOST
) -> SmartAppError:
    """Delete the launch's tokens and move it out of `active`; returns `error` to raise."""
    with transaction.atomic():
        locked = launch_qs_for_update(launch.pk).get()
        store.delete(locked)
        ended = locked.state == LaunchState.ACTIVE
        if ended:
            locked.transition(event)
            locked.failure_code = error.code
            locked.save(update_fields=["state", "failure_code", "updated"])
    if ended:  # the cause: the error's code (grant_lost, launch_ended for a lifetime over, ...)
        metrics.SESSIONS_ENDED.labels(launch.connection.slug, error.code).inc()
    forget_cached_phi(launch)
    log.info("grant ended", extra={"launch": launch.handle[:6], "error_code": error.code})
    return error.of_launch(launch)


def revoke_and_forget(launch: Launch) -> None:
    """Sign-out: forget the tokens and cached PHI now, give them back to the EHR later.

    The grant row is deleted before this returns; the RFC 7009 revocation (refresh token
    first, then the access token) runs in the background (`revocation`), so a slow or failing
    revocation endpoint neither delays nor blocks the sign-out.
    """
    grant = store.find(launch)
    if grant is not None:
        held = _sealed(launch, grant)
        TokenGrant.objects.filter(pk=grant.pk).delete()
        forget_cached_phi(launch)
        revocation.queue(held)
    else:
        forget_cached_phi(launch)


def _sealed(
    launch: Launch, grant: TokenGrant, also: IssuedTokens | None = None
) -> revocation.Revocation:
    """The grant's tokens (and those of a refused answer, `also`), sealed for revocation."""
    tokens = [
        ("refresh_token", store.refresh_token(grant)),
        ("access_token", store.access_token(grant)),
    ]
    if also is not None:
        tokens += [("refresh_token", also.refresh_token), ("access_token", also.access_token)]
    return revocation.Revocation.seal(launch.connection, tokens)
