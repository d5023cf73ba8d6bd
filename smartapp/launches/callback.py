"""The callback: the EHR sends the browser back with `code` and `state` (or an `error`).

The order of checks on the callback is the security argument (SMART App Launch 2.x; RFC 6749
10.12; RFC 9207; RFC 9700 4.4 and 4.7), so it is spelled out:

1. `state` names a launch (looked up by its SHA-256, never stored in the clear),
2. it has not been used (single use, consumed under a row lock before anything else; a
   replay by the browser whose launch it activated is offered a link to that live session,
   never a second exchange),
3. it belongs to this browser (the launch's own cookie), and is younger than 10 minutes,
4. `iss`, when present (or required by the server), is the issuer we sent the user to,
5. an `error` ends the launch (`access_denied` as the user's choice, anything else failed);
   `error_uri` is never followed,
6. the code is exchanged with the verifier and the connection's client authentication,
7. the token response is checked, the id_token verified when `openid` was granted,
8. the launch patient is read before anything about them is shown.

Only then does the launch become active and its pages reachable, under an opaque handle, with
a fresh browser secret (the rotation that defeats session fixation, `browser`).

A launch that fails after the EHR issued tokens gives them back (RFC 7009) before the error
is shown: a refused answer (`TokenResponseInvalid.issued`), a bad id_token, an unreadable
patient leave nothing live at the EHR.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import DataError, transaction
from django.urls import reverse

from smart.errors import (
    EHR_CODE_LIMIT,
    AccessDenied,
    AuthorizationFailed,
    IdTokenInvalid,
    IssuerMismatch,
    PatientUnavailable,
    SessionMismatch,
    SmartAppError,
    StateExpired,
    StateMissing,
    StateReplayed,
    TokenResponseInvalid,
    ehr_words,
)
from smart.launch_report import id_token_facts, token_facts
from smart.launch_states import LaunchEvent, LaunchState
from smart.profiles import profile_for
from smart.scopes import GrantedScopes
from smart.token_response import IssuedTokens, TokenResponse
from smartapp import discovery, id_token, registry, token_endpoint
from smartapp.clock import clock
from smartapp.diagnostics import recorder
from smartapp.fhir import resources
from smartapp.launches.browser import Binding, owns, sha256
from smartapp.lock_objects import launch_by_state_qs_for_update, launch_qs_for_update
from smartapp.models import Launch
from smartapp.observability import metrics, tenant
from smartapp.vault import revocation, store

log = logging.getLogger(__name__)
Cookies = Mapping[str, str]


@dataclass(frozen=True)
class CallbackParams:
    state: str | None
    code: str | None = field(default=None, repr=False)
    error: str | None = None
    iss: str | None = None
    error_description: str | None = None  # sanitised (`ehr_words`), for the page and debugger

    @classmethod
    def from_query(cls, query: Any) -> CallbackParams:
        def one(name: str) -> str | None:
            values = query.getlist(name)
            return values[0] if len(values) == 1 and values[0] else None

        return cls(
            one("state"),
            one("code"),
            one("error"),
            one("iss"),
            ehr_words(one("error_description")),
        )


@dataclass(frozen=True)
class Completed:
    """The active launch, and its new browser secret (the cookie the view sets)."""

    launch: Launch
    binding: Binding


Ending = tuple[LaunchEvent, SmartAppError]  # how a refused callback ends its launch
Refusal = tuple[LaunchEvent | None, SmartAppError]  # no event: a replay moves nothing


def _refusal(launch: Launch, params: CallbackParams, cookies: Cookies) -> Ending | None:
    """Steps 3 to 5 for a launch whose state was just spent: why to refuse it, if at all."""
    if not owns(cookies, launch.handle, launch.browser):
        return LaunchEvent.AUTH_ERROR, SessionMismatch("state from another browser")
    if clock().now() > launch.state_expires_at:
        return LaunchEvent.TIMED_OUT, StateExpired("state older than 10 minutes")
    if (params.iss is not None and params.iss != launch.expected_issuer) or (
        params.iss is None and launch.iss_required
    ):
        return LaunchEvent.AUTH_ERROR, IssuerMismatch("RFC 9207 iss mismatch")
    if params.error == "access_denied":
        return LaunchEvent.DENIED, _in_ehr_words(AccessDenied(), launch, params)
    if params.error is not None or params.code is None:
        failed = AuthorizationFailed(f"authorization error {params.error!r}"[:120])
        return LaunchEvent.AUTH_ERROR, _in_ehr_words(failed, launch, params)
    return None


def _in_ehr_words(error: SmartAppError, launch: Launch, params: CallbackParams) -> SmartAppError:
    """The EHR's own `error` and `error_description` on the page (RFC 6749 4.1.2.1). An EHR
    launch's `launch` value came from a URL anyone can send a browser to: if the EHR echoes
    it in its description, it is cut out, so nobody can put words in the EHR's mouth."""
    error.ehr_error = ehr_words(params.error, EHR_CODE_LIMIT)
    description = params.error_description
    if description and launch.launch_param and launch.launch_param in description:
        description = description.replace(launch.launch_param, "\u2026")
    error.ehr_description = description
    return error


def _counted(launch: Launch | None, outcome: str) -> None:
    """One launch outcome at the callback: `ok`, or the code of what stopped it."""
    if launch is None:
        metrics.LAUNCHES.labels(metrics.UNKNOWN, metrics.UNKNOWN, outcome).inc()
    else:
        metrics.LAUNCHES.labels(launch.connection.slug, launch.kind, outcome).inc()


def _end(launch: Launch, event: LaunchEvent, error: SmartAppError) -> None:
    """Record a failed launch; the caller raises `error` after the transaction commits."""
    _counted(launch, error.code)
    launch.transition(event)
    launch.failure_code = error.code
    launch.save()
    error.of_launch(launch)


def _replayed(launch: Launch, cookies: Cookies) -> StateReplayed:
    """A spent state (reload of the callback, or Back to the consent page and Allow again).

    Still refused, and its code never exchanged; but when the launch is active and this
    browser holds its (rotated) cookie, the page offers to continue to that session. Another
    browser, or this one for a launch that has ended, gets the plain refusal: nothing about
    the launch beyond what the state already named (its EHR)."""
    error = StateReplayed(f"state of {launch.handle[:6]} replayed")
    error.of_launch(launch)
    _counted(launch, error.code)
    if launch.state == LaunchState.ACTIVE and owns(cookies, launch.handle, launch.browser):
        error.continue_url = reverse("portal:summary", args=[launch.handle])
    return error


def _consume_state(params: CallbackParams, cookies: Cookies) -> Launch:
    """Steps 1 to 5, under a row lock; the state is spent whatever happens next."""
    if params.state is None:
        _counted(None, StateMissing.code)
        raise StateMissing("no state")
    received = clock().now()
    with transaction.atomic():
        launch = launch_by_state_qs_for_update(sha256(params.state)).first()
        if launch is None:
            _counted(None, StateMissing.code)
            raise StateMissing("unknown state")
        refusal = _spend(launch, params, cookies, received)
    if refusal is None or refusal[0] is not None:  # a replay moves nothing: not recorded
        recorder.record(
            launch.pk,
            "callback",
            outcome=refusal[1].code if refusal else "ok",
            at=received,
            detail=_callback_detail(launch, params),
        )
    if refusal is not None:
        raise refusal[1]
    return launch


def _spend(
    launch: Launch, params: CallbackParams, cookies: Cookies, received: datetime
) -> Refusal | None:
    """Spend the state (once) and move the launch on; why to refuse the callback, if at all."""
    if launch.state_used_at is not None:
        return None, _replayed(launch, cookies)
    launch.state_used_at = received
    refusal = _refusal(launch, params, cookies)
    if refusal is None:
        launch.transition(LaunchEvent.CODE_RECEIVED)
        launch.save()
    else:
        _end(launch, *refusal)
    return refusal


def _callback_detail(launch: Launch, params: CallbackParams) -> dict[str, Any]:
    """What the callback carried, for the debugger: never the code or the state themselves."""
    if params.iss is None:
        iss = "required but absent" if launch.iss_required else "absent"
    else:
        iss = "as expected" if params.iss == launch.expected_issuer else "another issuer"
    return {
        "code": "present" if params.code else "absent",
        "iss": iss,
        "ehr_error": ehr_words(params.error, EHR_CODE_LIMIT),
        "ehr_error_description": params.error_description,
    }


def _identity(launch: Launch, tokens: TokenResponse) -> dict[str, Any]:
    if not GrantedScopes.parse(tokens.scope).has_openid:
        return {}
    if tokens.id_token is None:
        raise IdTokenInvalid("openid granted but no id_token")
    config = discovery.discover(launch.connection)
    jwks_uri = config.jwks_uri or id_token.jwks_uri_from_openid_configuration(
        launch.expected_issuer
    )
    with recorder.timed(launch.pk, "id_token") as noted:
        identity = id_token.validate(
            tokens.id_token,
            jwks_uri=jwks_uri,
            issuer=launch.expected_issuer,
            client_id=launch.connection.client_id,
            nonce=launch.nonce,
            fhir_base=launch.connection.iss,
        )
        noted.update(id_token_facts(identity.claims))
    return {"sub": identity.subject, "fhirUser": identity.fhir_user or ""}


def _exchange(launch: Launch, code: str) -> TokenResponse:
    """Steps 6 and 7: tokens for the code, the answer parsed and bounded."""
    normalise = partial(
        profile_for(launch.connection.profile).normalise_token_response,
        requested_scope=launch.requested_scope,
    )
    with recorder.timed(launch.pk, "token_exchange") as noted:
        tokens = token_endpoint.exchange_code(
            registry.credentials_for(launch.connection),
            launch.token_endpoint,
            code=code,
            redirect_uri=launch.redirect_uri,
            verifier=str(launch.get_secret("verifier")),
            normalise=normalise,
        )
        noted.update(token_facts(tokens))
    return tokens


def _check(launch: Launch, tokens: TokenResponse) -> dict[str, Any]:
    """Steps 7 and 8: the identity checked, the patient readable."""
    identity = _identity(launch, tokens)
    if tokens.patient:
        with recorder.timed(launch.pk, "patient_read"), recorder.about(launch.pk):
            resources.read_patient(launch.connection.iss, tokens.access_token, tokens.patient)
    elif not GrantedScopes.parse(tokens.scope).user_level_patients:
        raise PatientUnavailable("no patient context and no patient search allowed")
    return identity


def _accept(launch: Launch, tokens: TokenResponse, identity: dict[str, Any]) -> Completed:
    """Store the grant and the launch context; the launch becomes active, bound to a fresh
    browser secret (the one the browser held until now stops working: fixation)."""
    binding = Binding.new(launch.handle)
    try:
        with transaction.atomic():
            locked = launch_qs_for_update(launch.pk).get()
            store.store(locked, tokens, identity, clock().now())
            locked.granted_scope = tokens.scope
            locked.patient_id = tokens.patient or ""
            locked.encounter_id = tokens.encounter or ""
            locked.fhir_user = identity.get("fhirUser", "")
            locked.need_patient_banner = tokens.need_patient_banner
            locked.smart_style_url = tokens.smart_style_url or ""
            locked.fhir_context = list(tokens.fhir_context)
            locked.intent = tokens.intent or ""
            locked.tenant = tokens.tenant or ""
            locked.locale = tokens.locale or ""
            locked.browser = binding.hash
            locked.transition(LaunchEvent.TOKENS_ACCEPTED)
            locked.save()
    except DataError as exc:  # a value token_response should have bounded: still no 500
        raise TokenResponseInvalid("a token response value does not fit the record") from exc
    return Completed(locked, binding)


def _give_back(launch: Launch, issued: IssuedTokens | None) -> None:
    """RFC 7009: give back what the EHR issued for a launch that failed, in the background
    (`vault.revocation`: sealed tokens, never in the clear), so a slow revocation endpoint
    never holds the failure page."""
    if not issued:
        return
    revocation.queue(
        revocation.Revocation.seal(
            launch.connection,
            [("refresh_token", issued.refresh_token), ("access_token", issued.access_token)],
        )
    )
    log.info("issued tokens handed back for revocation", extra={"launch": launch.handle[:6]})


def _fail(launch: Launch, error: SmartAppError, issued: IssuedTokens | None) -> None:
    if isinstance(error, token_endpoint.TokenRequestFailed):
        discovery.forget(launch.connection.iss)  # a cached endpoint may be stale
    with transaction.atomic():
        _end(launch_qs_for_update(launch.pk).get(), LaunchEvent.EXCHANGE_FAILED, error)
    _give_back(launch, issued or getattr(error, "issued", None))


def complete_callback(params: CallbackParams, cookies: Cookies) -> Completed:
    """Steps 1 to 8; the active launch and its new binding, or raises the error to show."""
    launch = _consume_state(params, cookies)
    with tenant.working_for(launch.connection.slug):
        completed = _complete(launch, params)
    _counted(launch, "ok")
    log.info("launch active", extra={"launch": launch.handle[:6], "ehr": launch.connection.slug})
    return completed


def _complete(launch: Launch, params: CallbackParams) -> Completed:
    """Steps 6 to 8: the exchange, the checks, the active launch."""
    issued: IssuedTokens | None = None
    try:
        tokens = _exchange(launch, str(params.code))
        issued = tokens.issued
        completed = _accept(launch, tokens, _check(launch, tokens))
    except SmartAppError as error:
        _fail(launch, error, issued)
        raise
    except Exception:  # an outage mid-way (answered 503 at the edge): give back what was issued
        _counted(launch, "app_error")
        try:
            _give_back(launch, issued)
        except Exception as also:  # best effort; the original failure is the one to answer
            log.warning("issued tokens not handed back", extra={"error": type(also).__name__})
        raise
    return completed
