"""Requests to an EHR's token endpoint, authenticated the way its connection is registered.

Authlib's OAuth2Client does the work: `none` (public: client_id in the body),
`client_secret_basic`, and `private_key_jwt` with a fresh RS384/ES384 assertion per request
(SMART "client-confidential-asymmetric": `exp` at most five minutes ahead, a unique `jti`,
the public key at our JWKS URL). Every call has a timeout; failures become the app's errors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwk

from smart.errors import EhrUnavailable, TokenExchangeFailed, TokenResponseInvalid
from smart.token_response import TokenResponse

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
ASSERTION_LIFETIME_S = 300


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    method: str  # "none", "client_secret_basic" or "private_key_jwt"
    secret: str | None = field(default=None, repr=False)
    private_key: jwk.Key | None = field(default=None, repr=False)
    key_id: str = ""
    alg: str = "RS384"


class TokenRequestFailed(TokenExchangeFailed):
    """The token endpoint answered with an OAuth error (RFC 6749 5.2)."""

    def __init__(self, error: str, detail: str | None = None) -> None:
        super().__init__(detail or error)
        self.error = error


def _client(credentials: ClientCredentials, token_endpoint: str) -> OAuth2Client:
    if credentials.method == "private_key_jwt":
        client = OAuth2Client(
            credentials.client_id,
            credentials.private_key,
            token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name
            timeout=TIMEOUT,
        )
        client.register_client_auth_method(
            PrivateKeyJWT(
                token_endpoint,
                claims={"exp": int(time.time()) + ASSERTION_LIFETIME_S},
                headers={"kid": credentials.key_id, "typ": "JWT"},
                alg=credentials.alg,
            )
        )
        return client
    return OAuth2Client(
        credentials.client_id,
        credentials.secret,
        token_endpoint_auth_method=credentials.method,
        timeout=TIMEOUT,
    )


def _request(credentials: ClientCredentials, token_endpoint: str, **form: Any) -> TokenResponse:
    try:
        with _client(credentials, token_endpoint) as client:
            token = client.fetch_token(token_endpoint, **form)
    except OAuthError as exc:
        raise TokenRequestFailed(exc.error, f"token endpoint: {exc.error}") from exc
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code >= 500:
            raise EhrUnavailable(f"token endpoint answered {exc.response.status_code}") from exc
        raise TokenRequestFailed(
            "http_error", f"token endpoint answered {exc.response.status_code}"
        ) from exc
    except httpx.HTTPError as exc:
        raise EhrUnavailable(f"token endpoint: {type(exc).__name__}") from exc
    except ValueError as exc:
        raise TokenResponseInvalid(
            "token endpoint answered with something other than JSON"
        ) from exc
    return TokenResponse.from_json(dict(token))


def exchange_code(
    credentials: ClientCredentials,
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> TokenResponse:
    """RFC 6749 4.1.3 with RFC 7636 4.5: the code, the same redirect URI, the verifier."""
    return _request(
        credentials,
        token_endpoint,
        grant_type="authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=verifier,
    )


def refresh(
    credentials: ClientCredentials, token_endpoint: str, refresh_token: str
) -> TokenResponse:
    """RFC 6749 6, authenticated like the code exchange."""
    return _request(
        credentials, token_endpoint, grant_type="refresh_token", refresh_token=refresh_token
    )


def revoke(credentials: ClientCredentials, revocation_endpoint: str, token: str, hint: str) -> None:
    """RFC 7009 2.1, authenticated like token requests. Raises on failure; callers decide."""
    with _client(credentials, revocation_endpoint) as client:
        response = client.revoke_token(revocation_endpoint, token=token, token_type_hint=hint)
    if response.status_code != 200:
        raise EhrUnavailable(f"revocation endpoint answered {response.status_code}")
