"""Validating an id_token against the issuer's published keys.

The keys come from the `jwks_uri` (cached for an hour, refetched once when the token's key id
is unknown, for key rotation); SMART 1.0-era servers that name no `jwks_uri` in SMART
discovery are asked through OpenID Connect discovery. The checks themselves are
`smart.id_token`.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from joserfc import jwk
from joserfc.errors import JoseError

from smart import id_token
from smart.errors import IdTokenInvalid
from smart.id_token import IdentityClaims
from smartapp import outbound
from smartapp.clock import clock

JWKS_TTL_S = 3600


def _get_json(uri: str) -> Any:
    response = outbound.client(outbound.Purpose.JWKS).get(uri)
    response.raise_for_status()
    return response.json()


def _jwks(uri: str, *, refresh: bool = False) -> jwk.KeySet:
    key = f"jwks:{uri}"
    document = None if refresh else cache.get(key)
    if document is None:
        try:
            document = _get_json(uri)
        except (outbound.HTTPError, ValueError) as exc:
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
            uri = _get_json(f"{issuer.rstrip('/')}/.well-known/openid-configuration")["jwks_uri"]
        except (outbound.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise IdTokenInvalid("the issuer publishes no JWKS to check the id_token") from exc
        if not isinstance(uri, str):
            raise IdTokenInvalid("the issuer's jwks_uri is not a URL")
        cache.set(key, uri, JWKS_TTL_S)
    return str(uri)


def validate(
    token: str,
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
            claims = id_token.decode(token, _jwks(jwks_uri))
        except JoseError:
            claims = id_token.decode(token, _jwks(jwks_uri, refresh=True))  # key rotated?
    except (JoseError, ValueError) as exc:
        raise IdTokenInvalid(f"signature check failed: {type(exc).__name__}") from exc
    return id_token.check_claims(
        claims,
        issuer=issuer,
        client_id=client_id,
        nonce=nonce,
        fhir_base=fhir_base,
        now=clock().now().timestamp() if now is None else now,
    )
