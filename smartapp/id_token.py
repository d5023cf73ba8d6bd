"""id_token validation (OpenID Connect Core 3.1.3.7) for SMART's `openid fhirUser`.

Signature against the issuer's JWKS (refetched once when the key id is unknown, for key
rotation), asymmetric algorithms only (never `none` or HMAC), then the claims: `iss` is the
issuer, `aud` contains our client id (with `azp` equal to it when there are several
audiences), `exp` in the future, `iat` present, and `nonce` equal to the one we sent.
`fhirUser` may be absolute or relative to the FHIR base; it comes back absolute.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.core.cache import cache
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from smart.errors import IdTokenInvalid

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
LEEWAY_S = 60
JWKS_TTL_S = 3600
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


@dataclass(frozen=True)
class IdentityClaims:
    subject: str
    fhir_user: str | None
    claims: Mapping[str, Any]


def _jwks(uri: str, *, refresh: bool = False) -> jwk.KeySet:
    key = f"jwks:{uri}"
    document = None if refresh else cache.get(key)
    if document is None:
        try:
            response = httpx.get(uri, timeout=TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise IdTokenInvalid(f"could not read the JWKS at {uri}") from exc
        cache.set(key, document, JWKS_TTL_S)
    try:
        return jwk.KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError) as exc:
        raise IdTokenInvalid("the issuer's JWKS is not usable") from exc


def jwks_uri_from_openid_configuration(issuer: str) -> str:
    """For servers whose SMART discovery names no jwks_uri (SMART 1.0-era): OIDC discovery."""
    key = f"oidc-jwks-uri:{issuer}"
    uri = cache.get(key)
    if uri is None:
        try:
            response = httpx.get(
                f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=TIMEOUT
            )
            response.raise_for_status()
            uri = response.json()["jwks_uri"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise IdTokenInvalid("the issuer publishes no JWKS to check the id_token") from exc
        if not isinstance(uri, str):
            raise IdTokenInvalid("the issuer's jwks_uri is not a URL")
        cache.set(key, uri, JWKS_TTL_S)
    return str(uri)


def _decode(id_token: str, keys: jwk.KeySet) -> jwt.Token:
    return jwt.decode(id_token, keys, algorithms=ALGORITHMS)


def validate(
    id_token: str,
    *,
    jwks_uri: str,
    issuer: str,
    client_id: str,
    nonce: str,
    fhir_base: str,
    now: float | None = None,
) -> IdentityClaims:
    try:
        try:
            token = _decode(id_token, _jwks(jwks_uri))
        except JoseError:
            token = _decode(id_token, _jwks(jwks_uri, refresh=True))  # the key may have rotated
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(f"signature check failed: {type(exc).__name__}") from exc
    claims = token.claims
    now = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise IdTokenInvalid("iss does not match the issuer")
    audiences = claims.get("aud")
    audiences = [audiences] if isinstance(audiences, str) else audiences or []
    if client_id not in audiences:
        raise IdTokenInvalid("aud does not name this app")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("azp does not name this app")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY_S < now:
        raise IdTokenInvalid("expired")
    if not isinstance(iat, int | float) or iat - LEEWAY_S > now:
        raise IdTokenInvalid("issued in the future")
    if claims.get("nonce") != nonce:
        raise IdTokenInvalid("nonce does not match")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdTokenInvalid("no sub")
    fhir_user = claims.get("fhirUser")
    if isinstance(fhir_user, str) and fhir_user and "://" not in fhir_user:
        fhir_user = f"{fhir_base.rstrip('/')}/{fhir_user.lstrip('/')}"
    return IdentityClaims(subject, fhir_user if isinstance(fhir_user, str) else None, claims)
