"""What the sandbox refuses, each as a real EHR would answer it."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from joserfc import jwt

from tests.sandbox.smart_client import Callback, pkce_pair

SCOPES = "openid fhirUser launch/patient patient/*.rs offline_access"


def redirect_error(client, **url_options) -> dict[str, str]:
    """Authorize with a bad parameter; the error the client's redirect URI receives."""
    _verifier, challenge = pkce_pair()
    url_options.setdefault("challenge", challenge)
    url = client.authorize_url(url_options.pop("scope", SCOPES), state="s-123", **url_options)
    response = client.http.get(url)
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location).startswith(client.redirect_uri)
    return dict(location.params)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"challenge": None, "method": None}, "invalid_request"),  # no PKCE
        ({"method": "plain"}, "invalid_request"),
        ({"method": None}, "invalid_request"),  # default method is plain
        ({"aud": "http://127.0.0.1:1/fhir"}, "invalid_request"),
        ({"scope": "patient/Observation.rs launch"}, "invalid_request"),  # launch scope, no launch
        ({"scope": "patient/Observation.rs", "launch": "made-up"}, "invalid_scope"),
        ({"scope": "launch patient/*.rs", "launch": "made-up"}, "invalid_request"),
        ({"scope": "patient/Observation.sr"}, "invalid_scope"),
    ],
)
def test_authorization_errors_go_back_with_state_and_iss(
    sandbox, make_client, options, error
) -> None:
    client = make_client()
    params = redirect_error(client, **options)
    assert params["error"] == error
    assert params["state"] == "s-123"
    assert params["iss"] == client.base


def test_missing_state_is_refused(sandbox, make_client) -> None:
    client = make_client()
    _, challenge = pkce_pair()
    url = client.authorize_url(SCOPES, state="", challenge=challenge)
    location = httpx.URL(client.http.get(url).headers["location"])
    assert location.params["error"] == "invalid_request"


def test_v2_scopes_on_a_v1_server(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(smart="v1"))
    # A v1 server has no .well-known; its endpoints sit beside the FHIR base.
    client.config = {
        "authorization_endpoint": client.base.removesuffix("/fhir") + "/auth/authorize"
    }
    assert redirect_error(client)["error"] == "invalid_scope"
    assert isinstance(client.authorize("launch/patient patient/*.read"), Callback)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:8000/smart/callback/",
        "https://evil.example/cb",
        "http://localhost:8000/other",
    ],
)
def test_unregistered_redirect_uri_is_never_redirected_to(
    sandbox, make_client, redirect_uri
) -> None:
    client = make_client()
    _, challenge = pkce_pair()
    response = client.http.get(
        client.authorize_url(SCOPES, state="s", challenge=challenge, redirect_uri=redirect_uri)
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "refused" in response.text


def test_unknown_client_gets_a_page_not_a_redirect(sandbox, make_client) -> None:
    client = make_client()
    client.client_id = "nobody"
    _, challenge = pkce_pair()
    response = client.http.get(client.authorize_url(SCOPES, state="s", challenge=challenge))
    assert response.status_code == 400


def test_wrong_verifier(sandbox, make_client) -> None:
    client = make_client()
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    response = client.exchange(callback, code_verifier=pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_missing_verifier(sandbox, make_client) -> None:
    client = make_client("secret_basic")
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    response = client.exchange(callback, code_verifier=None)
    assert response.status_code == 400


def test_code_is_single_use(sandbox, make_client) -> None:
    client = make_client()
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert client.exchange(callback).status_code == 200
    again = client.exchange(callback)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_code_needs_the_same_redirect_uri(sandbox, make_client) -> None:
    client = make_client()
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert (
        client.exchange(callback, redirect_uri="http://localhost:8000/elsewhere").status_code == 400
    )


def test_code_is_bound_to_its_client(sandbox, make_client) -> None:
    alice = make_client(client_id="alice")
    bob = make_client(client_id="bob")
    callback = alice.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert bob.exchange(callback).status_code == 400


@pytest.mark.parametrize("kind", ["secret_basic", "secret_post"])
def test_bad_client_secret(sandbox, make_client, kind) -> None:
    client = make_client(kind)
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    client.secret = "wrong-secret"
    response = client.exchange(callback)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_confidential_client_cannot_act_public(sandbox, make_client) -> None:
    client = make_client("secret_basic")
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    client.secret = None  # sends only client_id
    assert client.exchange(callback).json()["error"] == "invalid_client"


def assertion_form(client, **claims) -> dict[str, str]:
    """A refresh request authenticated by a hand-made client assertion."""
    now = int(time.time())
    body = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": client.endpoint("token_endpoint"),
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    header = {"alg": "RS384", "kid": client.key.kid}
    return {
        "grant_type": "refresh_token",
        "refresh_token": "junk",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": jwt.encode(header, body, client.key, algorithms=["RS384"]),
    }


def test_replayed_jti(sandbox, make_client) -> None:
    client = make_client("private_key_jwt")
    form = assertion_form(client)
    first = client.http.post(client.endpoint("token_endpoint"), data=form)
    assert first.json()["error"] == "invalid_grant"  # authenticated; the refresh token is junk
    second = client.http.post(client.endpoint("token_endpoint"), data=form)
    assert second.json()["error"] == "invalid_client"  # the same jti again


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "http://127.0.0.1:1/token"), ("exp", 1), ("sub", "someone-else"), ("exp", 10**10)],
)
def test_bad_assertion_claims(sandbox, make_client, claim, value) -> None:
    client = make_client("private_key_jwt")
    form = assertion_form(client, **{claim: value})
    response = client.http.post(client.endpoint("token_endpoint"), data=form)
    assert response.json()["error"] == "invalid_client"


def test_rs256_assertions_are_refused(sandbox, make_client) -> None:
    client = make_client("private_key_jwt")
    client.alg = "RS256"
    callback = client.authorize(SCOPES)
    assert isinstance(callback, Callback)
    assert client.exchange(callback).json()["error"] == "invalid_client"


def test_expired_access_token(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(token_ttl=1))
    token = client.launch(SCOPES)
    assert token["expires_in"] == 1
    time.sleep(1.1)
    response = client.fhir("Patient/pat-01", token["access_token"])
    assert response.status_code == 401
    assert "invalid_token" in response.headers["www-authenticate"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic abc"])
def test_missing_or_bad_bearer(sandbox, make_client, header) -> None:
    client = make_client()
    headers = {"Authorization": header} if header else {}
    response = httpx.get(f"{client.base}/Patient/pat-01", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


def test_token_of_another_ehr_is_refused(sandbox, make_client) -> None:
    token = make_client().launch(SCOPES)["access_token"]
    other = make_client(base=sandbox.base(latency_ms=0, token_ttl=60), client_id="other")
    assert other.fhir("Patient/pat-01", token).status_code == 401


def test_scope_that_does_not_cover_the_resource(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch("launch/patient patient/Observation.rs")["access_token"]
    assert client.fhir("Observation", token).status_code == 200
    forbidden = client.fhir("Condition", token)
    assert forbidden.status_code == 403
    assert forbidden.json()["issue"][0]["code"] == "forbidden"


def test_v2_category_restriction_filters(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch("launch/patient patient/Observation.rs?category=laboratory")[
        "access_token"
    ]
    bundle = client.fhir("Observation", token).json()
    categories = {e["resource"]["category"][0]["coding"][0]["code"] for e in bundle["entry"]}
    assert categories == {"laboratory"}
    vital = client.fhir("Observation", token, category="vital-signs").json()
    assert vital["total"] == 0


def test_read_only_scope_cannot_search(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch("launch/patient patient/Patient.r")["access_token"]
    assert client.fhir("Patient/pat-01", token).status_code == 200
    assert client.fhir("Patient", token).status_code == 403


def test_patient_outside_the_compartment(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(SCOPES, user="Patient/pat-01")["access_token"]
    assert client.fhir("Patient/pat-02", token).status_code == 403
    assert client.fhir("Observation/pat-02-obs-1", token).status_code == 403
    assert client.fhir("Observation", token, patient="pat-02").status_code == 403
    own = client.fhir("Observation", token).json()
    assert {e["resource"]["subject"]["reference"] for e in own["entry"]} == {"Patient/pat-01"}


def test_unsupported_search_is_a_400(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(SCOPES)["access_token"]
    response = client.fhir("Observation", token, colour="red")
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_bad_simulation_blob_is_a_400(sandbox) -> None:
    response = httpx.get(f"{sandbox.url}/sim/not-json/fhir/metadata")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_simulation"
