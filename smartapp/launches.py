"""Launch services: start a launch, complete its callback, find it again for a page.

The order of checks on the callback is the security argument (SMART App Launch 2.x; RFC 6749
10.12; RFC 9207; RFC 9700 4.4 and 4.7), so it is spelled out:

1. `state` names a launch (looked up by its SHA-256, never stored in the clear),
2. it has not been used (single use, consumed under a row lock before anything else),
3. it belongs to this browser session, and is younger than 10 minutes,
4. `iss`, when present (or required by the server), is the issuer we sent the user to,
5. an `error` ends the launch (`access_denied` as the user's choice, anything else failed);
   `error_uri` is never followed,
6. the code is exchanged with the verifier and the connection's client authentication,
7. the token response is checked, the id_token verified when `openid` was granted,
8. the launch patient is read before anything about them is shown.

Only then does the launch become active and its pages reachable, under an opaque handle.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone

from smartapp import discovery, fhir_client, id_token, registry, token_client, vault
from smart.authorize import authorization_url
from smart.errors import (
    AccessDenied,
    AuthorizationFailed,
    BadLaunchRequest,
    GrantLost,
    IdTokenInvalid,
    IssuerMismatch,
    LaunchEnded,
    LaunchNotFound,
    PatientUnavailable,
    SessionMismatch,
    SignedOut,
    SmartAppError,
    StateExpired,
    StateMissing,
    StateReplayed,
    UnknownIssuer,
)
from smart.launch_states import TERMINAL, LaunchEvent, LaunchState, advance
from smartapp.models import EhrConnection, Launch, TokenGrant
from smart.pkce import new_pair
from smart.scopes import GrantedScopes, LaunchKind, for_server
from smart.token_response import TokenResponse

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
STATE_BYTES = 32  # 256 bits; SMART asks for at least 122
HANDLE_BYTES = 16
SESSION_BROWSER = "smart.browser"
SESSION_LAUNCHES = "smart.launches"
MAX_LAUNCHES_PER_SESSION = 20
ENDED_RETENTION = timedelta(days=7)  # ended launches kept this long for support, then deleted


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def browser_of(session: SessionBase) -> str:
    """A stable, random id for this browser session, stored only in the session."""
    if SESSION_BROWSER not in session:
        session[SESSION_BROWSER] = secrets.token_urlsafe(32)
    return _sha256(session[SESSION_BROWSER])


def redirect_uri() -> str:
    return f"{settings.APP_BASE_URL}/smart/callback"


def _ensure(scope: str, required: str) -> str:
    return scope if required in scope.split() else f"{required} {scope}"


def start(
    *,
    connection: EhrConnection,
    kind: LaunchKind,
    session: SessionBase,
    launch_param: str | None = None,
    scope: str | None = None,
) -> str:
    """Record a new launch and return the authorization URL to send the browser to."""
    config = discovery.discover(connection.iss)
    requested = for_server(
        scope or connection.scopes_for(kind), supports_v2=config.supports_v2_scopes
    )
    if kind is LaunchKind.EHR:
        requested = _ensure(requested, "launch")
    elif kind is LaunchKind.PATIENT:
        requested = _ensure(requested, "launch/patient")
    pkce, state, nonce = new_pair(), secrets.token_urlsafe(STATE_BYTES), secrets.token_urlsafe(24)
    launch = Launch(
        handle=secrets.token_urlsafe(HANDLE_BYTES),
        connection=connection,
        kind=kind.value,
        state=advance(LaunchState.STARTED, LaunchEvent.REDIRECTED),
        browser=browser_of(session),
        state_hash=_sha256(state),
        state_expires_at=timezone.now() + STATE_TTL,
        launch_param=launch_param or "",
        redirect_uri=redirect_uri(),
        nonce=nonce,
        authorization_endpoint=config.authorization_endpoint,
        token_endpoint=config.token_endpoint,
        expected_issuer=config.oidc_issuer or connection.iss,
        iss_required=config.iss_parameter_supported,
        requested_scope=requested,
    )
    launch.set_secret("verifier", pkce.verifier)
    launch.save()
    log.info(
        "launch started",
        extra={"launch": launch.handle[:6], "kind": kind.value, "ehr": connection.slug},
    )
    return authorization_url(
        endpoint=config.authorization_endpoint,
        client_id=connection.client_id,
        redirect_uri=launch.redirect_uri,
        scope=requested,
        state=state,
        aud=connection.iss,
        code_challenge=pkce.challenge,
        nonce=nonce,
        launch=launch_param,
    )


def start_ehr_launch(*, iss: str | None, launch_param: str | None, session: SessionBase) -> str:
    """`GET /smart/launch?iss=...&launch=...` from the EHR."""
    if not iss:
        raise BadLaunchRequest("no iss")
    connection = registry.enabled_connection(iss)
    if connection is None:
        raise UnknownIssuer(f"unregistered iss {iss[:200]!r}")
    if not launch_param:
        raise BadLaunchRequest("no launch")
    return start(
        connection=connection, kind=LaunchKind.EHR, session=session, launch_param=launch_param
    )


@dataclass(frozen=True)
class CallbackParams:
    state: str | None
    code: str | None
    error: str | None
    iss: str | None

    @classmethod
    def from_query(cls, query: Any) -> CallbackParams:
        def one(name: str) -> str | None:
            values = query.getlist(name)
            return values[0] if len(values) == 1 and values[0] else None

        return cls(one("state"), one("code"), one("error"), one("iss"))


Refusal = tuple[LaunchEvent, SmartAppError]


def _refusal(launch: Launch, params: CallbackParams, session: SessionBase) -> Refusal | None:
    """Steps 3 to 5 for a launch whose state was just spent: why to refuse it, if at all."""
    if launch.browser != browser_of(session):
        return LaunchEvent.AUTH_ERROR, SessionMismatch("state from another session")
    if timezone.now() > launch.state_expires_at:
        return LaunchEvent.TIMED_OUT, StateExpired("state older than 10 minutes")
    if (params.iss is not None and params.iss != launch.expected_issuer) or (
        params.iss is None and launch.iss_required
    ):
        return LaunchEvent.AUTH_ERROR, IssuerMismatch("RFC 9207 iss mismatch")
    if params.error == "access_denied":
        return LaunchEvent.DENIED, AccessDenied()
    if params.error is not None or params.code is None:
        return LaunchEvent.AUTH_ERROR, AuthorizationFailed(
            f"authorization error {params.error!r}"[:120]
        )
    return None


def _end(launch: Launch, event: LaunchEvent, error: SmartAppError) -> None:
    """Record a failed launch; the caller raises `error` after the transaction commits."""
    launch.state = advance(LaunchState(launch.state), event)
    launch.failure_code = error.code
    launch.save()
    error.about(launch.connection)


def _consume_state(params: CallbackParams, session: SessionBase) -> Launch:
    """Steps 1 to 5, under a row lock; the state is spent whatever happens next."""
    if params.state is None:
        raise StateMissing("no state")
    with transaction.atomic():
        launch = (
            Launch.objects.select_for_update()
            .select_related("connection")
            .filter(state_hash=_sha256(params.state))
            .first()
        )
        if launch is None:
            raise StateMissing("unknown state")
        if launch.state_used_at is not None:
            raise StateReplayed(f"state of {launch.handle[:6]} replayed").about(launch.connection)
        launch.state_used_at = timezone.now()
        refusal = _refusal(launch, params, session)
        if refusal is None:
            launch.state = advance(LaunchState(launch.state), LaunchEvent.CODE_RECEIVED)
            launch.save()
        else:
            _end(launch, *refusal)
    if refusal is not None:
        raise refusal[1]
    return launch


def _identity(launch: Launch, tokens: TokenResponse) -> dict[str, Any]:
    if not GrantedScopes.parse(tokens.scope).has_openid:
        return {}
    if tokens.id_token is None:
        raise IdTokenInvalid("openid granted but no id_token")
    config = discovery.discover(launch.connection.iss)
    jwks_uri = config.jwks_uri or id_token.jwks_uri_from_openid_configuration(
        launch.expected_issuer
    )
    identity = id_token.validate(
        tokens.id_token,
        jwks_uri=jwks_uri,
        issuer=launch.expected_issuer,
        client_id=launch.connection.client_id,
        nonce=launch.nonce,
        fhir_base=launch.connection.iss,
    )
    return {"sub": identity.subject, "fhirUser": identity.fhir_user or ""}


def complete_callback(params: CallbackParams, session: SessionBase) -> Launch:
    """Steps 1 to 8; returns the active launch, or raises the error to show."""
    launch = _consume_state(params, session)
    connection = launch.connection
    try:
        tokens = token_client.exchange_code(
            registry.credentials_for(connection),
            launch.token_endpoint,
            code=str(params.code),
            redirect_uri=launch.redirect_uri,
            verifier=str(launch.get_secret("verifier")),
        )
        identity = _identity(launch, tokens)
        if tokens.patient:
            fhir_client.read_patient(connection.iss, tokens.access_token, tokens.patient)
        elif not GrantedScopes.parse(tokens.scope).user_level_patients:
            raise PatientUnavailable("no patient context and no patient search allowed")
    except SmartAppError as error:
        if isinstance(error, token_client.TokenRequestFailed):
            discovery.forget(connection.iss)  # a cached endpoint may be stale
        with transaction.atomic():
            locked = (
                Launch.objects.select_for_update().select_related("connection").get(pk=launch.pk)
            )
            _end(locked, LaunchEvent.EXCHANGE_FAILED, error)
        raise
    with transaction.atomic():
        locked = Launch.objects.select_for_update().get(pk=launch.pk)
        vault.store(locked, tokens, identity)
        locked.granted_scope = tokens.scope
        locked.patient_id = tokens.patient or ""
        locked.encounter_id = tokens.encounter or ""
        locked.fhir_user = identity.get("fhirUser", "")
        locked.need_patient_banner = tokens.need_patient_banner
        locked.smart_style_url = tokens.smart_style_url or ""
        locked.fhir_context = list(tokens.fhir_context)
        locked.intent = tokens.intent or ""
        locked.tenant = tokens.tenant or ""
        locked.state = advance(LaunchState(locked.state), LaunchEvent.TOKENS_ACCEPTED)
        locked.save()
    _remember(session, locked.handle)
    log.info("launch active", extra={"launch": locked.handle[:6], "ehr": connection.slug})
    if locked.patient_id:
        warm(locked)
    return locked


def warm(launch: Launch) -> None:
    """Queue the summary warm-up (eager without a broker); never fails the launch."""
    from smartapp.tasks import warm_summary

    try:
        warm_summary.delay(str(launch.pk))
    except Exception as exc:
        log.warning("summary warm-up not queued", extra={"error": type(exc).__name__})


def _remember(session: SessionBase, handle: str) -> None:
    handles = [h for h in session.get(SESSION_LAUNCHES, []) if h != handle]
    session[SESSION_LAUNCHES] = [*handles, handle][-MAX_LAUNCHES_PER_SESSION:]


def launch_for(handle: str, session: SessionBase) -> Launch:
    """The launch behind a page URL, only for the browser session that owns it."""
    if handle not in session.get(SESSION_LAUNCHES, []):
        raise LaunchNotFound("handle not in this session")
    launch = Launch.objects.select_related("connection").filter(handle=handle).first()
    if launch is None or launch.browser != browser_of(session):
        raise LaunchNotFound("handle of another browser")
    if launch.state == LaunchState.SIGNED_OUT:
        raise SignedOut().about(launch.connection)
    if launch.state == LaunchState.REAUTH_REQUIRED:
        raise GrantLost(f"launch is {launch.state}").about(launch.connection)
    if launch.state != LaunchState.ACTIVE:
        raise LaunchEnded(f"launch is {launch.state}").about(launch.connection)
    return launch


def choose_patient(launch: Launch, patient_id: str) -> None:
    """Provider launch: set the patient the user picked, after checking it can be read."""
    if not GrantedScopes.parse(launch.granted_scope).user_level_patients:
        raise PatientUnavailable("this launch may not choose patients")
    vault.with_access_token(
        launch, lambda token: fhir_client.read_patient(launch.connection.iss, token, patient_id)
    )
    Launch.objects.filter(pk=launch.pk).update(patient_id=patient_id, updated=timezone.now())
    launch.patient_id = patient_id
    warm(launch)


def sign_out(launch: Launch) -> None:
    """End one active launch: revoke and delete its tokens, then `signed_out`."""
    vault.revoke_and_forget(launch)
    with transaction.atomic():
        locked = Launch.objects.select_for_update().get(pk=launch.pk)
        if locked.state == LaunchState.ACTIVE:
            locked.state = advance(LaunchState.ACTIVE, LaunchEvent.SIGNED_OUT)
            locked.save(update_fields=["state", "updated"])
    log.info("signed out", extra={"launch": launch.handle[:6]})


def sign_out_all(session: SessionBase) -> int:
    """End every active launch of this browser session; how many there were."""
    handles = session.get(SESSION_LAUNCHES, [])
    launches = Launch.objects.select_related("connection").filter(
        handle__in=handles, browser=browser_of(session), state=LaunchState.ACTIVE
    )
    count = 0
    for launch in launches:
        sign_out(launch)
        count += 1
    return count


def purge(now: datetime | None = None) -> dict[str, int]:
    """Housekeeping, idempotent: expire abandoned authorizations and stale sessions, delete
    long-ended launches (with their grants)."""
    now = now or timezone.now()
    abandoned = Launch.objects.filter(
        state__in=[LaunchState.STARTED, LaunchState.AUTHORIZING], state_expires_at__lt=now
    )
    expired = abandoned.update(state=LaunchState.EXPIRED, verifier_encrypted="", updated=now)
    idle = Launch.objects.filter(
        state=LaunchState.ACTIVE, updated__lt=now - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )
    ended = 0
    for launch in idle.select_related("connection"):
        vault.end_grant(launch, LaunchEnded("session lifetime over"), LaunchEvent.TIMED_OUT)
        ended += 1
    deleted, _ = Launch.objects.filter(
        state__in=[s.value for s in TERMINAL], updated__lt=now - ENDED_RETENTION
    ).delete()
    orphans, _ = TokenGrant.objects.exclude(launch__state=LaunchState.ACTIVE).delete()
    return {"expired": expired, "ended": ended, "deleted": deleted, "orphan_grants": orphans}
