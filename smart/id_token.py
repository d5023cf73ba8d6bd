"""id_token checks (OpenID Connect Core 3.1.3.7) for SMART's `openid fhirUser` (pure).

The signature is checked against the issuer's keys with asymmetric algorithms only (never
`none`, never HMAC: a public JWKS must not become a shared secret). The claims go through
joserfc's claims registry: `iss` is the issuer, `aud` names our client id, `exp` in the
future and `iat` not (60 s leeway), `sub` present, `nonce` the one we sent; with several
audiences `azp` must be our client id (3.1.3.7 items 4 and 5). `fhirUser` may be absolute or
relative to the FHIR base (SMART App Launch 2.x "fhirUser"); it comes back absolute.

Fetching the keys is I/O and lives in `smartapp.id_token`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwk, jwt
from joserfc.errors import JoseError

from smart.errors import IdTokenInvalid

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
LEEWAY_S = 60


@dataclass(frozen=True)
class IdentityClaims:
    subject: str
    fhir_user: str | None
    claims: Mapping[str, Any]


def decode(id_token: str, keys: jwk.KeySet) -> Mapping[str, Any]:
    """The claims, once the signature checks out; JoseError or ValueError otherwise."""
    return jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    fhir_base: str,
    now: float,
) -> IdentityClaims:
    registry = jwt.JWTClaimsRegistry(
        now=int(now),
        leeway=LEEWAY_S,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(dict(claims))
    except JoseError as exc:
        raise IdTokenInvalid(f"id_token claims: {exc.error}") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid("azp does not name this app")
    fhir_user = claims.get("fhirUser")
    if not isinstance(fhir_user, str) or not fhir_user:
        fhir_user = None
    elif "://" not in fhir_user:
        fhir_user = f"{fhir_base.rstrip('/')}/{fhir_user.lstrip('/')}"
    return IdentityClaims(str(claims["sub"]), fhir_user, claims)
