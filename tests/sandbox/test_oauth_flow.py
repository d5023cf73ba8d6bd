"""The sandbox end to end, played by an independent SMART client over real HTTP."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwk, jwt

from sandbox.models import Token
from tests.sandbox.smart_client import Callback

PATIENT_SCOPES = "openid fhirUser launch/patient patient/*.rs offline_access"
CLIENT_KINDS = ["public", "secret_basic", "secret_post", "private_key_jwt"]


def test_discovery_documents(sandbox, make_client) -> None:
    client = make_client()
    config = client.discover()
    for name in ("authorization_endpoint", "token_endpoint", "revocation_endpoint", "jwks_uri"):
        assert config[name].startswith(sandbox.url)
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert "permission-v2" in config["capabilities"]
    metadata = httpx.get(f"{sandbox.base()}/metadata").json()
    security = metadata["rest"][0]["security"]["extension"][0]
    assert security["url"].endswith("/oauth-uris")
    uris = {item["url"]: item["valueUri"] for item in security["extension"]}
    assert uris["authorize"] == config["authorization_endpoint"]
    assert uris["token"] == config["token_endpoint"]


@pytest.mark.parametrize("kind", CLIENT_KINDS)
def test_standalone_patient_launch_for_each_client_kind(sandbox, make_client, kind: str) -> None:
    client = make_client(kind)
    callback = client.authorize(PATIENT_SCOPES, user="Patient/pat-03")
    assert isinstance(callback, Callback)
    assert callback.params["state"] == callback.state
    assert callback.params["iss"] == client.base  # RFC 9207
    token = client.exchange(callback).json()
    assert token["token_type"] == "Bearer"
    assert token["patient"] == "pat-03"
    assert token["need_patient_banner"] is True
    assert token["scope"] == PATIENT_SCOPES
    assert token["refresh_token"]
    assert client.fhir("Patient/pat-03", token["access_token"]).json()["id"] == "pat-03"
    assert sandbox.stats()["token_requests"] == {f"authorization_code {client.client_id}": 1}


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_private_key_jwt_algorithms(sandbox, make_client, alg: str) -> None:
    client = make_client("private_key_jwt", alg=alg, client_id=f"jwt-{alg}")
    assert client.launch(PATIENT_SCOPES)["access_token"]


def test_id_token_verifies_against_the_published_jwks(sandbox, make_client) -> None:
    client = make_client()
    callback = client.authorize(PATIENT_SCOPES, user="Patient/pat-04")
    assert isinstance(callback, Callback)
    token = client.exchange(callback).json()
    keys = jwk.KeySet.import_key_set(httpx.get(client.endpoint("jwks_uri")).json())
    claims = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).claims
    assert claims["iss"] == client.base
    assert claims["aud"] == client.client_id
    assert claims["nonce"] == callback.nonce
    assert claims["fhirUser"] == f"{client.base}/Patient/pat-04"
    assert claims["exp"] > claims["iat"]


def test_no_id_token_without_openid_fhiruser(sandbox, make_client) -> None:
    token = make_client().launch("launch/patient patient/*.rs")
    assert "id_token" not in token
    assert "refresh_token" not in token  # no offline_access, no refresh token


def test_provider_standalone_picks_a_patient(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(
        "openid fhirUser launch/patient user/*.rs", user="Practitioner/prac-2", patient="pat-07"
    )
    assert token["patient"] == "pat-07"
    names = client.fhir("Patient", token["access_token"], name="smith").json()
    assert names["total"] >= 1  # user-level: any patient


def test_ehr_launch(sandbox, make_client) -> None:
    client = make_client("secret_basic")
    response = httpx.get(
        f"{sandbox.url}/ehr/launch",
        params={"client_id": client.client_id, "patient": "pat-05", "user": "prac-3"},
    )
    assert response.status_code == 302
    target = httpx.URL(response.headers["location"])
    assert str(target).startswith("http://localhost:8000/smart/launch")
    assert target.params["iss"] == client.base
    launch = target.params["launch"]
    callback = client.authorize("launch openid fhirUser patient/*.rs online_access", launch=launch)
    assert isinstance(callback, Callback)  # the EHR knows the user: no sign-in page
    token = client.exchange(callback).json()
    assert token["patient"] == "pat-05"
    assert token["need_patient_banner"] is False
    claims = jwt.decode(
        token["id_token"],
        jwk.KeySet.import_key_set(httpx.get(client.endpoint("jwks_uri")).json()),
        algorithms=["RS256"],
    ).claims
    assert claims["fhirUser"].endswith("/Practitioner/prac-3")


def test_search_paging_to_the_last_page(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES, user="Patient/paging")["access_token"]
    page = client.fhir("Observation", token, patient="paging", _count=100, _sort="-date").json()
    total, seen, pages = page["total"], [], 0
    assert total > 500
    while True:
        pages += 1
        seen += [entry["resource"]["id"] for entry in page["entry"]]
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        page = client.fhir(following[0], token).json()
    assert len(seen) == total == len(set(seen))
    assert pages == -(-total // 100)
    assert sandbox.stats()["fhir_requests"]["Observation"] == pages


def test_next_links_are_tamper_proof(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES, user="Patient/paging")["access_token"]
    page = client.fhir("Observation", token, _count=10).json()
    link = next(link["url"] for link in page["link"] if link["relation"] == "next")
    forged = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    assert client.fhir(forged, token).status_code == 400


def test_include_medication(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES, user="Patient/pat-04")["access_token"]
    bundle = client.fhir("MedicationRequest", token, _include="MedicationRequest:medication").json()
    modes = {
        entry["search"]["mode"]: entry["resource"]["resourceType"] for entry in bundle["entry"]
    }
    assert modes.get("include") == "Medication"


@pytest.mark.parametrize("kind", ["public", "secret_basic", "private_key_jwt"])
def test_refresh_rotates(sandbox, make_client, kind: str) -> None:
    client = make_client(kind)
    first = client.launch(PATIENT_SCOPES)
    second = client.refresh(first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["patient"] == first["patient"]
    assert client.fhir("Patient/pat-01", second["access_token"]).status_code == 200
    # The spent refresh token is refused (reuse), the new one works.
    reused = client.refresh(first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert client.refresh(second["refresh_token"]).status_code == 200
    assert sandbox.stats()["refresh_reuse_rejected"] == {client.client_id: 1}


def test_reusing_a_rotated_refresh_token_revokes_the_family(sandbox, make_client) -> None:
    client = make_client(base=sandbox.base(refresh="reuse_revokes_family"))
    first = client.launch(PATIENT_SCOPES)
    second = client.refresh(first["refresh_token"]).json()
    assert client.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"
    # Everything issued to that authorization is dead now.
    assert client.refresh(second["refresh_token"]).status_code == 400
    assert client.fhir("Patient/pat-01", second["access_token"]).status_code == 401
    assert client.introspect(second["access_token"]) == {"active": False}


def test_introspection(sandbox, make_client) -> None:
    client = make_client("secret_basic")
    token = client.launch(PATIENT_SCOPES)
    active = client.introspect(token["access_token"])
    assert active["active"] is True
    assert active["client_id"] == client.client_id
    assert active["scope"] == PATIENT_SCOPES
    assert active["patient"] == "pat-01"
    assert client.introspect(token["refresh_token"])["active"] is True
    assert client.introspect("no-such-token") == {"active": False}


@pytest.mark.parametrize("kind", ["public", "secret_basic"])
def test_revoking_the_refresh_token_ends_the_grant(sandbox, make_client, kind: str) -> None:
    client = make_client(kind)
    token = client.launch(PATIENT_SCOPES)
    assert client.revoke(token["refresh_token"], "refresh_token").status_code == 200
    assert client.introspect(token["refresh_token"]) == {"active": False}
    assert client.introspect(token["access_token"]) == {"active": False}
    assert client.fhir("Patient/pat-01", token["access_token"]).status_code == 401
    assert client.refresh(token["refresh_token"]).status_code == 400


def test_revoking_an_access_token_leaves_the_refresh_token(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)
    assert client.revoke(token["access_token"]).status_code == 200
    assert client.fhir("Patient/pat-01", token["access_token"]).status_code == 401
    assert client.refresh(token["refresh_token"]).status_code == 200


def test_tokens_are_stored_for_the_leak_scans(sandbox, make_client) -> None:
    token = make_client().launch(PATIENT_SCOPES)
    row = Token.objects.get(access_token=token["access_token"])
    assert row.refresh_token == token["refresh_token"]
    assert row.id_token == token["id_token"]
