"""smart.authorize: the authorization request carries exactly SMART's parameters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from smart.authorize import authorization_url


def test_parameters() -> None:
    url = authorization_url(
        endpoint="https://ehr.example.org/authorize?tenant=7",
        client_id="app",
        redirect_uri="https://app.example.org/smart/callback",
        scope="launch patient/*.rs",
        state="s",
        aud="https://ehr.example.org/fhir",
        code_challenge="c",
        nonce="n",
        launch="L",
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.netloc == "ehr.example.org"
    assert parts.path == "/authorize"
    assert query == {
        "tenant": "7",
        "response_type": "code",
        "client_id": "app",
        "redirect_uri": "https://app.example.org/smart/callback",
        "scope": "launch patient/*.rs",
        "state": "s",
        "aud": "https://ehr.example.org/fhir",
        "code_challenge": "c",
        "code_challenge_method": "S256",
        "nonce": "n",
        "launch": "L",
    }


def test_no_launch_parameter_for_standalone() -> None:
    url = authorization_url(
        endpoint="https://ehr/authorize",
        client_id="app",
        redirect_uri="https://app/cb",
        scope="launch/patient",
        state="s",
        aud="https://ehr/fhir",
        code_challenge="c",
        nonce="n",
    )
    assert "launch" not in parse_qs(urlsplit(url).query)
