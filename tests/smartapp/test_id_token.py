"""smartapp.id_token: OIDC Core 3.1.3.7 checks, against keys served over real HTTP."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.core.cache import cache
from joserfc import jwk, jwt

from smart.errors import IdTokenInvalid
from smartapp.id_token import validate

ISSUER = "https://ehr.example.org/fhir"


@pytest.fixture
def keys(jwks_host):
    cache.clear()
    key = jwk.RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    public = {"keys": [{**key.as_dict(private=False), "alg": "RS256"}]}
    return key, jwks_host(public)


def sign(key, **claims) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "sub": "prac-1",
        "aud": "app",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-1",
        "fhirUser": "Practitioner/prac-1",
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


def check(token: str, uri: str):
    return validate(
        token, jwks_uri=uri, issuer=ISSUER, client_id="app", nonce="n-1", fhir_base=ISSUER
    )


def test_valid_and_relative_fhir_user_made_absolute(keys) -> None:
    key, uri = keys
    identity = check(sign(key), uri)
    assert identity.subject == "prac-1"
    assert identity.fhir_user == f"{ISSUER}/Practitioner/prac-1"


def test_several_audiences_need_azp(keys) -> None:
    key, uri = keys
    with pytest.raises(IdTokenInvalid, match="azp"):
        check(sign(key, aud=["app", "other"]), uri)
    assert check(sign(key, aud=["app", "other"], azp="app"), uri).subject == "prac-1"


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://other/fhir"},
        {"aud": "other"},
        {"nonce": "n-2"},
        {"nonce": None},
        {"exp": int(time.time()) - 3600},
        {"iat": int(time.time()) + 3600},
        {"sub": None},
    ],
)
def test_claims_refused(keys, claims) -> None:
    key, uri = keys
    with pytest.raises(IdTokenInvalid):
        check(sign(key, **claims), uri)


def test_hmac_and_none_are_refused(keys) -> None:
    _, uri = keys
    secret = jwk.OctKey.import_key(b"k" * 32)
    hmac = jwt.encode({"alg": "HS256"}, {"iss": ISSUER, "aud": "app"}, secret, algorithms=["HS256"])
    with pytest.raises(IdTokenInvalid):
        check(hmac, uri)
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps({"iss": ISSUER}).encode()).decode().rstrip("=")
    with pytest.raises(IdTokenInvalid):
        check(f"{header}.{payload}.", uri)


def test_rotated_key_is_found_by_refetching(jwks_host) -> None:
    cache.clear()
    old, new = (jwk.RSAKey.generate_key(2048, private=True) for _ in range(2))
    old.ensure_kid()
    new.ensure_kid()
    uri = jwks_host({"keys": [old.as_dict(private=False)]})
    assert check(sign(old), uri)  # caches the old key set
    jwks_host.replace(uri, {"keys": [new.as_dict(private=False)]})  # the EHR rotates its key
    assert check(sign(new), uri).subject == "prac-1"
