"""smart.token_response: required fields checked, optional ones typed, unknown ignored."""

from __future__ import annotations

import pytest

from smart.errors import TokenResponseInvalid
from smart.token_response import (
    DEFAULT_EXPIRES_IN,
    MAX_CONTEXT_CHARS,
    MAX_EXPIRES_IN,
    IssuedTokens,
    TokenResponse,
)

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


# Issue 12 item 9: values a hostile or broken EHR may send. Each used to reach the database
# or a URL (a DataError, an OverflowError, httpx.InvalidURL: a 500 and a launch stuck in
# `exchanging`); each is now refused here, before anything is stored or sent.
@pytest.mark.parametrize(
    "change",
    [
        {"intent": "i" * (MAX_CONTEXT_CHARS + 1)},
        {"tenant": "t" * (MAX_CONTEXT_CHARS + 1)},
        {"encounter": "e" * 201},
        {"encounter": "enc/1"},
        {"patient": "p\x00"},
        {"patient": "p 1"},
        {"patient": "../Practitioner/x"},
        {"patient": "p" * 65},
        {"scope": "launch\x00 patient/*.rs"},
        {"scope": "launch\npatient/*.rs"},
        {"intent": "reconcile\x00"},
        {"tenant": "t\x7f"},
        {"intent": "\ud800"},
        {"access_token": "at\x00"},
        {"refresh_token": "rt\r\n"},
        {"smart_style_url": "https://ehr/style.json\x00"},
        {"fhirContext": [{"reference": "Encounter/e1\x00"}]},
        {"expires_in": float("nan")},
        {"expires_in": float("inf")},
        {"expires_in": 0.5},
    ],
)
def test_hostile_values_are_refused(change: dict) -> None:
    with pytest.raises(TokenResponseInvalid):
        TokenResponse.from_json({**GOOD, **change})


@pytest.mark.parametrize("expires_in", [3_000_000_000, 10**12, 10**400, "99999999999999"])
def test_absurd_lifetimes_are_clamped(expires_in: object) -> None:
    # Clamped rather than refused: the number only says when to refresh, and believing a
    # shorter life than the EHR claims is always safe (we refresh early), while a lifetime
    # the database or a datetime cannot hold was a 500.
    assert TokenResponse.from_json({**GOOD, "expires_in": expires_in}).expires_in == (
        MAX_EXPIRES_IN
    )


def test_whole_number_floats_are_seconds() -> None:
    assert TokenResponse.from_json({**GOOD, "expires_in": 3600.0}).expires_in == 3600


def test_a_refused_answer_still_names_the_tokens_it_carried() -> None:
    # So the caller can give them back (RFC 7009); they never show in a repr.
    with pytest.raises(TokenResponseInvalid) as refused:
        TokenResponse.from_json({**GOOD, "refresh_token": "rt-secret-2", "patient": "p\x00"})
    issued = refused.value.issued
    assert isinstance(issued, IssuedTokens)
    assert (issued.access_token, issued.refresh_token) == ("at-secret-1", "rt-secret-2")
    assert "secret" not in repr(issued)
    assert "secret" not in str(refused.value)


def test_issued_tokens_of_an_answer_without_strings() -> None:
    issued = IssuedTokens.from_json({"access_token": 42, "refresh_token": ["x"]})
    assert (issued.access_token, issued.refresh_token) == (None, None)
    assert not issued
