"""Each simulation option, shown to have its effect over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.sandbox.smart_client import Callback

SCOPES = "openid fhirUser launch/patient patient/*.rs offline_access"


def test_patient_user_and_encounter_preselected(sandbox, make_client) -> None:
    client = make_client(
        base=sandbox.base(patient="pat-06", user="Practitioner/prac-2", encounter="pat-06-enc-1")
    )
    callback = client.authorize(
        "launch/patient launch/encounter user/*.rs openid fhirUser", user=None, patient=None
    )
    assert isinstance(callback, Callback)
    token = client.exchange(callback).json()
    assert token["patient"] == "pat-06"
    assert token["encounter"] == "pat-06-enc-1"
    assert token["fhirContext"] == [{"reference": "Encounter/pat-06-enc-1"}]


def test_without_skips_every_page_is_shown(sandbox, make_client) -> None:
    client = make_client()
    url = client.authorize_url(SCOPES, state="s", challenge="x" * 43)
    first = client.http.get(url)
    assert "/auth/login" in first.headers["location"]


def test_skip_login_and_consent_mean_no_pages(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(skip_login=True, skip_consent=True, patient="pat-09"))
    url = client.authorize_url(SCOPES, state="s", challenge="x" * 43)
    response = client.http.get(url)
    assert response.status_code == 302
    assert response.headers["location"].startswith(client.redirect_uri)


def test_grant_narrows_the_granted_scope(sandbox, make_client) -> None:
    grant = ["launch/patient", "patient/Patient.rs", "patient/Observation.rs"]
    client = make_client(base=sandbox.base(grant=grant))
    token = client.launch(
        "launch/patient patient/Patient.rs patient/Observation.rs patient/Condition.rs"
    )
    assert token["scope"].split() == grant
    assert client.fhir("Condition", token["access_token"]).status_code == 403


def test_unticking_at_consent_narrows_the_grant(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(
        "launch/patient patient/Patient.rs patient/Condition.rs patient/Immunization.rs",
        untick=("patient/Condition.rs", "patient/Immunization.rs"),
    )
    assert token["scope"] == "launch/patient patient/Patient.rs"


def test_denying_at_consent(sandbox, make_client) -> None:
    client = make_client()
    callback = client.authorize(SCOPES, deny=True)
    assert isinstance(callback, Callback)
    assert callback.params["error"] == "access_denied"
    assert callback.params["state"] == callback.state


def test_token_ttl(sandbox, make_client) -> None:
    token = make_client(base=sandbox.base(token_ttl=42)).launch(SCOPES)
    assert token["expires_in"] == 42


def test_refresh_static_keeps_the_refresh_token(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(refresh="static"))
    token = client.launch(SCOPES)
    for _ in range(3):
        again = client.refresh(token["refresh_token"])
        assert again.status_code == 200
        assert "refresh_token" not in again.json()


def test_refresh_none_issues_no_refresh_token(sandbox, make_client) -> None:
    token = make_client(base=sandbox.base(refresh="none")).launch(SCOPES)
    assert "refresh_token" not in token


def test_refresh_rotate_refuses_reuse_without_killing_the_family(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(refresh="rotate"))
    first = client.launch(SCOPES)
    second = client.refresh(first["refresh_token"]).json()
    assert client.refresh(first["refresh_token"]).status_code == 400
    assert client.fhir("Patient/pat-01", second["access_token"]).status_code == 200


def test_smart_v1_has_only_the_capability_statement(sandbox) -> None:
    base = sandbox.base(smart="v1")
    assert httpx.get(f"{base}/.well-known/smart-configuration").status_code == 404
    metadata = httpx.get(f"{base}/metadata").json()
    uris = {e["url"] for e in metadata["rest"][0]["security"]["extension"][0]["extension"]}
    assert {"authorize", "token"} <= uris


@pytest.mark.parametrize("on", [True, False])
def test_iss_in_response(sandbox, make_client, on: bool) -> None:
    client = make_client(base=sandbox.base(iss_in_response=on))
    assert client.discover()["authorization_response_iss_parameter_supported"] is on
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert ("iss" in callback.params) is on


def test_latency(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(latency_ms=300))
    token = client.launch(SCOPES)["access_token"]
    started = time.perf_counter()
    assert client.fhir("Patient/pat-01", token).status_code == 200
    assert time.perf_counter() - started >= 0.3  # a floor the injection guarantees


@pytest.mark.parametrize("status", [500, 503])
def test_fail_with_a_status_on_one_type_only(sandbox, make_client, status: int) -> None:
    client = make_client(base=sandbox.base(fail={"Observation": status}))
    token = client.launch(SCOPES)["access_token"]
    assert client.fhir("Observation", token).status_code == status
    assert client.fhir("Condition", token).status_code == 200


def test_fail_429_with_retry_after(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(fail={"Observation": {"mode": 429, "retry_after": 2}}))
    token = client.launch(SCOPES)["access_token"]
    response = client.fhir("Observation", token)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"


def test_fail_rate_zero_never_fails(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(fail={"Observation": {"mode": 500, "rate": 0}}))
    token = client.launch(SCOPES)["access_token"]
    assert all(client.fhir("Observation", token).status_code == 200 for _ in range(5))


def test_fail_timeout_hangs(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(fail={"Observation": {"mode": "timeout", "hang_s": 2}}))
    token = client.launch(SCOPES)["access_token"]
    with pytest.raises(httpx.ReadTimeout):
        client.http.get(
            f"{client.base}/Observation", headers={"Authorization": f"Bearer {token}"}, timeout=0.5
        )


def test_fail_malformed(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(fail={"Condition": "malformed"}))
    token = client.launch(SCOPES)["access_token"]
    response = client.fhir("Condition", token)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


@pytest.mark.parametrize("error", ["access_denied", "invalid_scope", "server_error"])
def test_auth_error(sandbox, make_client, error: str) -> None:
    client = make_client(base=sandbox.base(auth_error=error))
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert callback.params == {
        "error": error,
        "error_description": "simulated by the sandbox",
        "state": callback.state,
        "iss": client.base,
    }


def test_token_error_on_refresh_after_the_first(sandbox, make_client) -> None:
    rule = {"error": "invalid_grant", "grant_type": "refresh_token", "after": 1}
    client = make_client(base=sandbox.base(token_error=rule))
    token = client.launch(SCOPES)
    second = client.refresh(token["refresh_token"])
    assert second.status_code == 200
    third = client.refresh(second.json()["refresh_token"])
    assert third.status_code == 400
    assert third.json()["error"] == "invalid_grant"


def test_token_error_invalid_client_everywhere(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(token_error="invalid_client"))
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    response = client.exchange(callback)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_ehr_launch_under_options_uses_that_iss(sandbox, make_client) -> None:
    base = sandbox.base(token_ttl=30)
    client = make_client(base=base)
    response = httpx.get(
        f"{base.removesuffix('/fhir')}/ehr/launch",
        params={"client_id": client.client_id, "patient": "pat-02"},
    )
    target = httpx.URL(response.headers["location"])
    assert target.params["iss"] == base
    token = client.exchange(client.authorize("launch patient/*.rs", launch=target.params["launch"]))
    assert token.json()["expires_in"] == 30


def test_ehr_launch_refuses_unknown_clients_and_patients(sandbox, make_client) -> None:
    client = make_client()
    assert httpx.get(f"{sandbox.url}/ehr/launch", params={"client_id": "nobody"}).status_code == 400
    unknown = httpx.get(
        f"{sandbox.url}/ehr/launch", params={"client_id": client.client_id, "patient": "zz"}
    )
    assert unknown.status_code == 400


def test_chart_embeds_the_app_and_escapes_names(sandbox, make_client) -> None:
    make_client(client_id="smartapp-demo")
    listing = httpx.get(f"{sandbox.url}/ehr/")
    assert listing.status_code == 200
    assert "pat-01" in listing.text
    chart = httpx.get(f"{sandbox.url}/ehr/", params={"patient": "xss"})
    assert '<iframe id="smart-app"' in chart.text
    assert "/ehr/launch?client_id=smartapp-demo&amp;patient=xss" in chart.text
    assert "<script>alert(1)</script>" not in chart.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chart.text


def test_stats_and_reset(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(SCOPES)
    client.refresh(token["refresh_token"])
    client.fhir("Observation", token["access_token"])
    stats = sandbox.stats()
    assert stats["token_requests"] == {
        f"authorization_code {client.client_id}": 1,
        f"refresh_token {client.client_id}": 1,
    }
    assert stats["fhir_requests"] == {"Observation": 1}
    sandbox.reset_stats()
    assert sandbox.stats()["token_requests"] == {}


def test_token_response_rule(sandbox, make_client) -> None:
    rule = {"omit": ["access_token"], "set": {"token_type": "mac"}}
    client = make_client(base=sandbox.base(token_response=rule))
    callback = client.authorize(SCOPES)
    body = client.exchange(callback).json()
    assert "access_token" not in body
    assert body["token_type"] == "mac"


@pytest.mark.parametrize(
    ("fault", "claim", "check"),
    [
        ("wrong_aud", "aud", lambda value, client: value == "some-other-app"),
        ("wrong_nonce", "nonce", lambda value, client: value == "not-the-nonce-you-sent"),
        ("wrong_iss", "iss", lambda value, client: value != client.base),
        ("expired", "exp", lambda value, client: value < time.time()),
    ],
)
def test_id_token_faults(sandbox, make_client, fault, claim, check) -> None:
    from joserfc import jwk, jwt

    client = make_client(base=sandbox.base(id_token=fault))
    token = client.launch(SCOPES)
    keys = jwk.KeySet.import_key_set(httpx.get(client.endpoint("jwks_uri")).json())
    claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
    assert check(claims[claim], client)


def test_id_token_bad_signature(sandbox, make_client) -> None:
    from joserfc import jwk, jwt
    from joserfc.errors import JoseError

    client = make_client(base=sandbox.base(id_token="bad_signature"))
    token = client.launch(SCOPES)
    keys = jwk.KeySet.import_key_set(httpx.get(client.endpoint("jwks_uri")).json())
    with pytest.raises(JoseError):
        jwt.decode(token["id_token"], keys, algorithms=["RS256"])


def test_openid_configuration_on_a_v1_base(sandbox) -> None:
    base = sandbox.base(smart="v1")
    body = httpx.get(f"{base}/.well-known/openid-configuration").json()
    assert body["issuer"] == base
    assert httpx.get(body["jwks_uri"]).json()["keys"]


def test_sandbox_pages_carry_the_sandboxs_policy_not_the_apps(sandbox) -> None:
    chart = httpx.get(f"{sandbox.url}/ehr/", params={"patient": "pat-01"})
    policy = chart.headers["content-security-policy"]
    assert policy.startswith("frame-ancestors 'self'")
    assert "default-src" not in policy  # the chart must be able to frame the app
