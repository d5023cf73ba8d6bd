"""smart.id_token: OIDC Core 3.1.3.7 claim checks, with time as an input (no keys, no I/O)."""

from __future__ import annotations

import pytest

from smart.errors import IdTokenInvalid
from smart.id_token import check_claims

NOW = 1_700_000_000
GOOD = {
    "iss": "https://ehr.example.org",
    "aud": "app",
    "sub": "u-1",
    "iat": NOW - 10,
    "exp": NOW + 300,
    "nonce": "n-1",
    "fhirUser": "Practitioner/p-1",
}


def check(**changes):
    claims = {key: value for key, value in {**GOOD, **changes}.items() if value is not None}
    return check_claims(
        claims,
        issuer="https://ehr.example.org",
        client_id="app",
        nonce="n-1",
        fhir_base="https://ehr.example.org/fhir",
        now=NOW,
    )


def test_good_claims_and_a_relative_fhir_user_made_absolute():
    identity = check()
    assert identity.subject == "u-1"
    assert identity.fhir_user == "https://ehr.example.org/fhir/Practitioner/p-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example"},
        {"aud": "other-app"},
        {"aud": ["app", "other"]},  # several audiences and no azp
        {"aud": ["app", "other"], "azp": "other"},
        {"exp": NOW - 61},  # beyond the 60 s leeway
        {"iat": NOW + 61},
        {"nonce": "n-2"},
        {"nonce": None},
        {"sub": None},
        {"exp": None},
    ],
)
def test_claims_refused(changes):
    with pytest.raises(IdTokenInvalid):
        check(**changes)


def test_leeway_and_azp_accepted():
    assert check(exp=NOW - 59).subject == "u-1"
    assert check(aud=["app", "other"], azp="app").subject == "u-1"
