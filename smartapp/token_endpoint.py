"""Requests to an EHR's token and revocation endpoints.

The grant requests are prepared by Authlib (`prepare_token_request`, RFC 6749 4.1.3 and 6 with
RFC 7636 4.5's `code_verifier`; `prepare_revoke_token_request`, RFC 7009 2.1), authenticated
by the connection's registered method (`smart.client_auth`), and sent over the shared token
client (`smartapp.outbound`), so every call has a timeout and reuses pooled connections.
Answers become `TokenResponse` or the app's errors:

- a JSON body with `error` (RFC 6749 5.2) -> TokenRequestFailed carrying that code;
- 501, 503 and connections that never opened -> EhrUnavailable (nothing was carried out;
  callers may retry);
- a request that may have reached the EHR with no answer back (a read timeout, a connection
  dropped after sending, an answer still dripping in when the time is up, any other 5xx: a
  500, 502, 504 or a CDN's 524 can come after the EHR did the work) -> TokenCallUnanswered:
  the EHR may have carried it out, so a refresh must not be replayed (`vault.policy`);
- an answer over MAX_ANSWER_BYTES, or anything else that is not a JSON object ->
  TokenResponseInvalid.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.parameters import prepare_token_request
from authlib.oauth2.rfc7009 import prepare_revoke_token_request

from smart.client_auth import ClientCredentials, TokenRequest, method_for
from smart.errors import (
    EHR_CODE_LIMIT,
    EhrUnavailable,
    SmartAppError,
    TokenExchangeFailed,
    TokenResponseInvalid,
    ehr_words,
)
from smart.token_response import TokenResponse
from smartapp import outbound
from smartapp.clock import clock
from smartapp.observability import metrics, tenant

log = logging.getLogger(__name__)

FORM_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
}
Normaliser = Callable[[dict[str, Any]], dict[str, Any]]


# Failures raised before a request leaves this process (no connection, or refused by a URL
# policy): nothing reached the EHR. Named, not imported: only `outbound` names the library.
_NEVER_SENT = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol"})


# Answers that say the request was not carried out (RFC 9110 15.6.2, 15.6.4): safe to retry.
SPENT_NOTHING = frozenset({501, 503})
MAX_ANSWER_BYTES = 256 * 1024  # a token response is a few kB; an id_token a few more
UNANSWERED_AFTER_S = 30.0  # an exchange with no budget of its own


class TokenCallUnanswered(EhrUnavailable):
    """The request may have reached the EHR, but no answer came back: its outcome is unknown."""


class TokenRequestFailed(TokenExchangeFailed):
    """The token endpoint answered with an OAuth error (RFC 6749 5.2)."""

    def __init__(self, error: str, detail: str | None = None, description: Any = None) -> None:
        super().__init__(detail or error)
        self.error = error
        self.ehr_error = ehr_words(error, EHR_CODE_LIMIT)
        self.ehr_description = ehr_words(description)


def _never_sent(exc: Exception) -> bool:
    names = {kind.__name__ for kind in type(exc).__mro__}
    return isinstance(exc, outbound.UrlRefused) or bool(names & _NEVER_SENT)


def _post(
    credentials: ClientCredentials, endpoint: str, body: str, within_s: float | None = None
) -> outbound.Response:
    """POST the form; the whole call, answer included, within `within_s` (else
    UNANSWERED_AFTER_S) and `MAX_ANSWER_BYTES`. A per-read timeout alone would let an endpoint
    that drips bytes hold a refresh past its lock."""
    request = method_for(credentials.method).prepare(
        credentials, TokenRequest(endpoint, dict(FORM_HEADERS), body), clock().now().timestamp()
    )
    limit = within_s if within_s is not None else UNANSWERED_AFTER_S
    timeouts = outbound.client(outbound.Purpose.TOKEN).timeout
    phases = (timeouts.connect, timeouts.read, timeouts.write, timeouts.pool)
    try:
        response = outbound.send_capped(
            outbound.Purpose.TOKEN,
            "POST",
            request.uri,
            content=request.body,
            headers=request.headers,
            timeout=tuple(min(s if s is not None else limit, limit) for s in phases),
            max_bytes=MAX_ANSWER_BYTES,
            max_seconds=limit,
        )
    except outbound.ResponseTooLarge as exc:
        raise TokenResponseInvalid("token endpoint answered with too much") from exc
    except outbound.HTTPError as exc:
        if _never_sent(exc):
            raise EhrUnavailable(f"token endpoint: {type(exc).__name__}") from exc
        raise TokenCallUnanswered(f"token endpoint: {type(exc).__name__}") from exc
    if response.status_code >= 500 and response.status_code not in SPENT_NOTHING:
        # A 500, 502, 504 or a CDN's 524 may come after the EHR carried the grant out.
        raise TokenCallUnanswered(f"token endpoint answered {response.status_code}")
    return response


def _json_object(response: outbound.Response) -> dict[str, Any]:
    if response.status_code >= 500:
        raise EhrUnavailable(f"token endpoint answered {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TokenResponseInvalid("token endpoint answered with something other than JSON")
    return body


# RFC 6749 5.2's error codes: the outcome label takes these; anything else an EHR invents is
# `other_error`, so a label cannot grow without bound.
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "http_error",
    }
)


def _outcome(error: Exception) -> str:
    if isinstance(error, TokenRequestFailed):
        return error.error if error.error in OAUTH_ERRORS else "other_error"
    if isinstance(error, TokenCallUnanswered):
        return "unanswered"
    return error.code if isinstance(error, SmartAppError) else "app_error"


def request_token(
    credentials: ClientCredentials,
    endpoint: str,
    *,
    normalise: Normaliser = dict,
    within_s: float | None = None,
    **form: str,
) -> TokenResponse:
    """One grant request, counted and timed by grant type and outcome."""
    labels = (tenant.current(), form.get("grant_type", "other"))
    started, outcome = time.perf_counter(), "ok"
    try:
        return _request_token(credentials, endpoint, normalise, within_s, form)
    except Exception as error:
        outcome = _outcome(error)
        raise
    finally:
        metrics.TOKEN_REQUESTS.labels(*labels, outcome).inc()
        metrics.TOKEN_SECONDS.labels(*labels).observe(time.perf_counter() - started)


def _request_token(
    credentials: ClientCredentials,
    endpoint: str,
    normalise: Normaliser,
    within_s: float | None,
    form: dict[str, str],
) -> TokenResponse:
    """One grant request; `normalise` is the EHR profile's hook for a vendor's answer."""
    response = _post(credentials, endpoint, prepare_token_request(**form), within_s)
    body = _json_object(response)
    if isinstance(body.get("error"), str):
        raise TokenRequestFailed(
            body["error"], f"token endpoint: {body['error']}"[:120], body.get("error_description")
        )
    if response.status_code != 200:
        raise TokenRequestFailed("http_error", f"token endpoint answered {response.status_code}")
    return TokenResponse.from_json(normalise(body))


def exchange_code(
    credentials: ClientCredentials,
    endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
    normalise: Normaliser = dict,
) -> TokenResponse:
    """RFC 6749 4.1.3 with RFC 7636 4.5: the code, the same redirect URI, the verifier."""
    return request_token(
        credentials,
        endpoint,
        normalise=normalise,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=verifier,
    )


def refresh(
    credentials: ClientCredentials,
    endpoint: str,
    refresh_token: str,
    *,
    normalise: Normaliser = dict,
    within_s: float | None = None,
) -> TokenResponse:
    """RFC 6749 6, authenticated like the code exchange, within `within_s` seconds if given.
    TokenCallUnanswered means the refresh token may be spent: do not send it again."""
    return request_token(
        credentials,
        endpoint,
        normalise=normalise,
        within_s=within_s,
        grant_type="refresh_token",
        refresh_token=refresh_token,
    )


def revoke(
    credentials: ClientCredentials,
    endpoint: str,
    token: str,
    hint: str,
    within_s: float | None = None,
) -> None:
    """RFC 7009 2.1, authenticated like token requests. Raises on failure; callers decide."""
    body, _ = prepare_revoke_token_request(token, hint)
    response = _post(credentials, endpoint, body, within_s)
    if response.status_code != 200:
        raise EhrUnavailable(f"revocation endpoint answered {response.status_code}")
