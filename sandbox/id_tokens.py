"""The sandbox's signing key and the OpenID Connect id_tokens it signs (RS256).

The `id_token` simulation option spoils one aspect of the token, for testing clients'
validation.
"""

from __future__ import annotations

import functools
import threading
import time
import uuid
from typing import Any

from django.db import IntegrityError, transaction
from joserfc import jwk, jwt

from sandbox.models import SigningKey
from sandbox.site import SandboxSite

ID_TOKEN_TTL_S = 300


# Importing an RSA private key validates it (tens of milliseconds) and so does generating
# one: both are done once per process and kid, not on every token and JWKS request.
_imported: dict[str, jwk.RSAKey] = {}
_import_lock = threading.Lock()


@functools.cache
def _fresh_key() -> dict[str, Any]:
    """The key material this process stores when the database has no signing key yet."""
    kid = uuid.uuid4().hex[:16]
    return {**jwk.RSAKey.generate_key(2048, private=True).as_dict(private=True), "kid": kid}


def signing_key() -> jwk.RSAKey:
    row = SigningKey.objects.order_by("created").first()
    if row is None:
        material = _fresh_key()
        try:
            with transaction.atomic():
                SigningKey.objects.create(kid=material["kid"], private_jwk=material)
        except IntegrityError:
            pass
        row = SigningKey.objects.order_by("created").first()
        assert row is not None
    with _import_lock:
        key = _imported.get(row.kid)
        if key is None:  # kids are random per key, so a kid names one key
            key = _imported[row.kid] = jwk.RSAKey.import_key(row.private_jwk)
    return key


def public_jwks() -> dict[str, Any]:
    key = signing_key()
    public = key.as_dict(private=False)
    public.update(use="sig", alg="RS256", kid=key.kid or "")
    return {"keys": [public]}


def make_id_token(site: SandboxSite, client_id: str, user_ref: str, nonce: str) -> str:
    """OpenID Connect Core 2: iss, sub, aud, exp, iat (+nonce), plus SMART's fhirUser.

    The `id_token` simulation option spoils one aspect, for testing clients' validation.
    """
    now = int(time.time())
    fault = site.options.id_token
    claims: dict[str, Any] = {
        "iss": site.fhir_base,
        "sub": user_ref.split("/", 1)[1],
        "aud": client_id,
        "iat": now,
        "exp": now + ID_TOKEN_TTL_S,
        "fhirUser": f"{site.fhir_base}/{user_ref}",
    }
    if nonce:
        claims["nonce"] = nonce
    if fault == "wrong_aud":
        claims["aud"] = "some-other-app"
    elif fault == "wrong_nonce":
        claims["nonce"] = "not-the-nonce-you-sent"
    elif fault == "wrong_iss":
        claims["iss"] = "https://elsewhere.example/fhir"
    elif fault == "expired":
        claims["iat"], claims["exp"] = now - 3600, now - 1800
    key = signing_key()
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    if fault == "bad_signature":  # signed by a stranger under our key id
        return str(jwt.encode(header, claims, jwk.RSAKey.generate_key(2048, private=True)))
    return str(jwt.encode(header, claims, key))
