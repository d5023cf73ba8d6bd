"""Launches end to end: the app (test client) against the sandbox EHR (real HTTP)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant

AUTH_KINDS = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
VERSIONS = ["v2", "v1"]


def base_for(sandbox, version: str) -> str:
    return sandbox.base() if version == "v2" else sandbox.base(smart="v1")


def patient_name(page) -> str:
    text = page.content.decode()
    marker = 'data-testid="patient-name">'
    return text[text.index(marker) + len(marker) :].split("<", 1)[0]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_ehr_launch(sandbox, connect, browser, kind, version) -> None:
    connection = connect(kind, base=base_for(sandbox, version))
    page = browser.launch(browser.start_ehr(connection, patient="pat-04"))
    assert page.status_code == 200
    assert patient_name(page) == "Sarah Brown"
    launch = Launch.objects.get()
    assert launch.state == LaunchState.ACTIVE
    assert launch.kind == "ehr"
    assert launch.patient_id == "pat-04"
    assert launch.need_patient_banner is False  # the EHR shows its own banner
    assert launch.fhir_user.endswith("/Practitioner/prac-1")
    scope = launch.granted_scope.split()
    assert "launch" in scope
    assert any(s.endswith(".read") for s in scope) is (version == "v1")
    assert sandbox.stats()["token_requests"] == {f"authorization_code app-{kind}": 1}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_standalone_patient_launch(sandbox, connect, browser, kind, version) -> None:
    connection = connect(kind, base=base_for(sandbox, version))
    page = browser.launch(browser.start_standalone(connection), user="Patient/pat-06")
    assert page.status_code == 200
    assert patient_name(page) == "Elizabeth Garcia"
    assert b'class="patient-line area-patient"' in page.content  # standalone: the app shows it
    launch = Launch.objects.get()
    assert launch.kind == "patient"
    assert launch.fhir_user.endswith("/Patient/pat-06")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", AUTH_KINDS)
def test_standalone_provider_launch_with_patient_search(
    sandbox, connect, browser, kind, version
) -> None:
    connection = connect(kind, base=base_for(sandbox, version))
    browser.sign_in_staff()
    search = browser.launch(
        browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
    )
    assert search.status_code == 200
    assert b"Find a patient" in search.content
    handle = Launch.objects.get().handle
    results = browser.client.get(f"/l/{handle}/patients", {"name": "garcia"})
    assert b"Elizabeth Garcia" in results.content
    chosen = browser.client.post(f"/l/{handle}/patients", {"patient": "pat-06"})
    assert chosen.status_code == 303
    page = browser.client.get(chosen["Location"])
    assert patient_name(page) == "Elizabeth Garcia"


def test_the_authorization_request_carries_exactly_smarts_parameters(
    sandbox, connect, browser
) -> None:
    connection = connect()
    start = browser.start_ehr(connection)
    url = urlsplit(start["Location"])
    query = dict(parse_qs(url.query).items())
    assert all(len(values) == 1 for values in query.values())
    params = {name: values[0] for name, values in query.items()}
    assert set(params) == {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "aud",
        "launch",
        "code_challenge",
        "code_challenge_method",
        "nonce",
    }
    assert (
        f"{url.scheme}://{url.netloc}{url.path}"
        == connection.iss.removesuffix("/fhir") + "/auth/authorize"
    )
    assert params["response_type"] == "code"
    assert params["client_id"] == connection.client_id
    assert params["redirect_uri"] == "http://localhost:8000/smart/callback"
    assert params["aud"] == connection.iss
    assert "launch" in params["scope"].split()
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 43  # 256 bits
    launch = Launch.objects.get()
    assert launch.state == LaunchState.AUTHORIZING
    assert params["state"] not in str(launch.__dict__)  # stored hashed only
    verifier = launch.get_secret("verifier")
    assert verifier
    assert verifier not in str(launch.__dict__)  # stored encrypted only


def test_a_v1_server_gets_v1_scopes(sandbox, connect, browser) -> None:
    connection = connect(base=sandbox.base(smart="v1"))
    start = browser.start_standalone(connection)
    scope = parse_qs(urlsplit(start["Location"]).query)["scope"][0].split()
    assert "patient/Observation.read" in scope
    assert not any(s.endswith(".rs") for s in scope)


def test_tokens_are_stored_encrypted_and_never_shown(sandbox, connect, browser) -> None:
    from sandbox.models import Token

    connection = connect()
    page = browser.launch(browser.start_standalone(connection), user="Patient/pat-02")
    issued = Token.objects.get()
    grant = TokenGrant.objects.get()
    for secret in (issued.access_token, issued.refresh_token, issued.id_token):
        assert secret
        assert secret.encode() not in page.content
        assert secret not in grant.access_token_encrypted + grant.refresh_token_encrypted
        assert secret not in str(browser.client.session.items())
    assert grant.get_secret("access_token") == issued.access_token
    assert grant.get_secret("refresh_token") == issued.refresh_token


def test_discovery_is_cached(sandbox, connect, browser) -> None:
    from django.core.cache import cache

    cache.clear()
    connection = connect()
    browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    assert cache.get(f"smart-config:{connection.iss}") is not None


def test_two_launches_in_one_browser_stay_apart(sandbox, connect, browser) -> None:
    connection = connect()
    first = browser.launch(browser.start_ehr(connection, patient="pat-01"))
    second = browser.launch(browser.start_ehr(connection, patient="pat-02"))
    handles = {launch.patient_id: launch.handle for launch in Launch.objects.all()}
    assert patient_name(first) == "John Smith"
    assert patient_name(second) == "Jennifer Johnson"
    for _ in range(3):  # reloads, in any order, keep showing each tab's own patient
        assert patient_name(browser.client.get(f"/l/{handles['pat-02']}/")) == "Jennifer Johnson"
        assert patient_name(browser.client.get(f"/l/{handles['pat-01']}/")) == "John Smith"


def test_a_launch_page_is_not_reachable_from_another_browser(sandbox, connect, browser) -> None:
    from django.test import Client

    connection = connect()
    browser.launch(browser.start_ehr(connection))
    handle = Launch.objects.get().handle
    stranger = Client().get(f"/l/{handle}/")
    assert stranger.status_code == 404
    assert b"John Smith" not in stranger.content


def test_provider_launches_and_custom_scopes_are_for_staff(sandbox, connect, browser) -> None:
    connection = connect()
    assert browser.start_standalone(connection, kind="provider").status_code == 400
    assert browser.start_standalone(connection, scope="patient/*.rs").status_code == 400
    assert browser.start_standalone(connection, kind="ehr").status_code == 400
    assert browser.client.get("/qa/launch").status_code == 404
    assert Launch.objects.count() == 0
    browser.sign_in_staff()
    assert browser.client.get("/qa/launch").status_code == 200
    custom = browser.start_standalone(connection, scope="launch/patient patient/Patient.rs")
    assert "scope=launch%2Fpatient+patient%2FPatient.rs" in custom["Location"]
