"""smart.token_response: required fields checked, optional ones typed, unknown ignored."""

from __future__ import annotations

import pytest

from smart.errors import TokenResponseInvalid
from smart.token_response import DEFAULT_EXPIRES_IN, TokenResponse

GOOD = {
    "access_token": "at-secret-1",
    "token_type": "Bearer",
    "scope": "launch patient/*.rs",
    "expires_in": 300,
}


def test_full_response() -> None:
    body = {
        **GOOD,
        "token_type": "bearer",
        "refresh_token": "rt",
        "id_token": "jwt",
        "patient": "p1",
        "encounter": "e1",
        "need_patient_banner": False,
        "smart_style_url": "https://ehr/style.json",
        "fhirContext": [{"reference": "Encounter/e1"}],
        "intent": "reconcile",
        "tenant": "t1",
        "something_new": {"x": 1},
    }
    tokens = TokenResponse.from_json(body)
    assert tokens.patient == "p1"
    assert tokens.encounter == "e1"
    assert tokens.need_patient_banner is False
    assert tokens.fhir_context == ({"reference": "Encounter/e1"},)
    assert tokens.refresh_token == "rt"
    assert tokens.intent == "reconcile"
    assert tokens.tenant == "t1"


def test_defaults() -> None:
    tokens = TokenResponse.from_json({k: v for k, v in GOOD.items() if k != "expires_in"})
    assert tokens.expires_in == DEFAULT_EXPIRES_IN
    assert tokens.need_patient_banner is True
    assert tokens.refresh_token is None


@pytest.mark.parametrize(
    "change",
    [
        {"access_token": None},
        {"access_token": ""},
        {"access_token": 42},
        {"token_type": None},
        {"token_type": "mac"},
        {"token_type": "DPoP"},
        {"scope": None},
        {"expires_in": -5},
        {"expires_in": "soon"},
        {"expires_in": True},
    ],
)
def test_refused(change: dict) -> None:
    body = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(TokenResponseInvalid):
        TokenResponse.from_json(body)


def test_repr_never_shows_tokens() -> None:
    tokens = TokenResponse.from_json({**GOOD, "refresh_token": "rt-secret-2"})
    assert "at-secret-1" not in repr(tokens)
    assert "rt-secret-2" not in repr(tokens)
