"""Requests to an EHR's token and revocation endpoints.

The grant requests are prepared by Authlib (`prepare_token_request`, RFC 6749 4.1.3 and 6 with
RFC 7636 4.5's `code_verifier`; `prepare_revoke_token_request`, RFC 7009 2.1), authenticated
by the connection's registered method (`smart.client_auth`), and sent over the shared token
client (`smartapp.outbound`), so every call has a timeout and reuses pooled connections.
Answers become `TokenResponse` or the app's errors:

- a JSON body with `error` (RFC 6749 5.2) -> TokenRequestFailed carrying that code;
- 5xx, timeouts and connection failures -> EhrUnavailable (temporary; callers may retry);
- anything else that is not a JSON object -> TokenResponseInvalid.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749.parameters import prepare_token_request
from authlib.oauth2.rfc7009 import prepare_revoke_token_request

from smart.client_auth import ClientCredentials, TokenRequest, method_for
from smart.errors import EhrUnavailable, TokenExchangeFailed, TokenResponseInvalid
from smart.token_response import TokenResponse
from smartapp import outbound
from smartapp.clock import clock

log = logging.getLogger(__name__)

FORM_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
}
Normaliser = Callable[[dict[str, Any]], dict[str, Any]]


class TokenRequestFailed(TokenExchangeFailed):
    """The token endpoint answered with an OAuth error (RFC 6749 5.2)."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(detail or error)
        self.error = error


def _post(credentials: ClientCredentials, endpoint: str, body: str) -> outbound.Response:
    request = method_for(credentials.method).prepare(
        credentials, TokenRequest(endpoint, dict(FORM_HEADERS), body), clock().now().timestamp()
    )
    try:
        return outbound.client(outbound.Purpose.TOKEN).post(
            request.uri, content=request.body, headers=request.headers
        )
    except outbound.HTTPError as exc:
        raise EhrUnavailable(f"token endpoint: {type(exc).__name__}") from exc


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


def request_token(
    credentials: ClientCredentials,
    endpoint: str,
    *,
    normalise: Normaliser = dict,
    **form: str,
) -> TokenResponse:
    """One grant request; `normalise` is the EHR profile's hook for a vendor's answer."""
    response = _post(credentials, endpoint, prepare_token_request(**form))
    body = _json_object(response)
    if isinstance(body.get("error"), str):
        raise TokenRequestFailed(body["error"], f"token endpoint: {body['error']}"[:120])
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
) -> TokenResponse:
    """RFC 6749 6, authenticated like the code exchange."""
    return request_token(
        credentials,
        endpoint,
        normalise=normalise,
        grant_type="refresh_token",
        refresh_token=refresh_token,
    )


def revoke(credentials: ClientCredentials, endpoint: str, token: str, hint: str) -> None:
    """RFC 7009 2.1, authenticated like token requests. Raises on failure; callers decide."""
    body, _ = prepare_revoke_token_request(token, hint)
    response = _post(credentials, endpoint, body)
    if response.status_code != 200:
        raise EhrUnavailable(f"revocation endpoint answered {response.status_code}")
