"""Client authentication at the token, revocation and introspection endpoints.

Authlib handles `client_secret_basic`, `client_secret_post` and `none` (public clients); this
module adds `private_key_jwt` per SMART "client-confidential-asymmetric" (RFC 7523): RS384 or
ES384 assertions verified against the client's JWKS (its inline set when registered with
one, else its JWKS URL), `aud` the token URL, `exp` at most 5 minutes ahead, and `jti` single
use. The same rules hold for every grant, SMART Backend Services' `client_credentials` too.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import httpx
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from django.db import IntegrityError, transaction
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from sandbox.models import Client, UsedJti

ASSERTION_ALGORITHMS = ["RS384", "ES384"]
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@functools.cache
def _http() -> httpx.Client:
    """One pooled client for fetching clients' JWKS (not a new TLS context per request)."""
    return httpx.Client(timeout=5.0)


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client assertions per SMART "client-confidential-asymmetric"."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_url: str) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = [token_url]

    def get_audiences(self) -> list[str]:
        return self._audiences

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="client assertion rejected") from exc
        self.verify_claims(token.claims)
        if token.claims.get("exp", 0) > time.time() + 300 + self.leeway:
            raise InvalidClientError(description="client assertion lives longer than 5 minutes")
        claims: dict[str, Any] = token.claims
        return claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        try:
            with transaction.atomic():
                UsedJti.objects.create(
                    client_id=claims["sub"], jti=jti, expires_at=float(claims["exp"])
                )
        except IntegrityError:
            return False
        return True

    def resolve_client_public_key(self, client: Client) -> jwk.KeySet:
        if client.jwks:
            try:
                return jwk.KeySet.import_key_set(client.jwks)
            except (ValueError, TypeError, JoseError) as exc:
                raise InvalidClientError(description="the client's JWKS is unusable") from exc
        if not client.jwks_uri:
            raise InvalidClientError(description="the client has no JWKS URL")
        try:
            response = _http().get(client.jwks_uri)
            response.raise_for_status()
            return jwk.KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise InvalidClientError(description="could not read the client's JWKS") from exc
