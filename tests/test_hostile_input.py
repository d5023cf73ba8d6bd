"""Hostile and malformed requests at every entry point: a clear answer, never a 500."""

from __future__ import annotations

import httpx
import pytest

from smartapp.models import EhrConnection, Launch

APP_PATHS = [
    "/smart/launch",
    "/smart/launch?iss=",
    "/smart/launch?iss=javascript:alert(1)&launch=x",
    "/smart/launch?iss=%00&launch=%00",
    "/smart/callback",
    "/smart/callback?state=a&state=b&code=c",
    "/smart/callback?state=%ff%fe&code=x",
    "/smart/callback?error=access_denied",
    "/smart/callback?state=" + "a" * 5000,
    "/l/",
    "/l/%00/",
    "/l/x/labs?code=|",
    "/l/x/list/medications",
    "/l/x/style.css",
    "/qa/launch",
    "/healthz?x=<script>",
    "/signed-out",
    "/nope",
]
OWN_LAUNCH_PATHS = [
    "labs?code=|",
    "labs?code=http://loinc.org|%00",
    "vitals/%3Cscript%3E",
    "list/x",
    "?refresh=1&page=-1",
    "vitals/heart-rate?page=abc",
    "vitals/heart-rate?page=99999",
    "patients?name=" + "x" * 500,
]
SANDBOX_GETS = [
    "/auth/authorize",
    "/auth/authorize?client_id=x",
    "/auth/login",
    "/auth/login?txn=garbage",
    "/auth/consent?txn=",
    "/ehr/launch",
    "/ehr/launch?client_id=",
    "/ehr/?patient=%00",
    "/fhir/Patient",
    "/fhir/Nope",
    "/fhir/Patient/%00",
    "/fhir?_getpages=x",
    "/sim/%00/fhir/metadata",
    "/fhir/Observation?_count=abc",
]
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SANDBOX_POSTS = [
    ("/auth/token", {}),
    ("/auth/token", {"grant_type": "password"}),
    ("/auth/token", {"grant_type": "authorization_code", "client_id": "x", "code": "y"}),
    (
        "/auth/token",
        {
            "client_assertion_type": JWT_BEARER,
            "client_assertion": "a.b.c",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    ),
    ("/auth/revoke", {}),
    ("/auth/introspect", {"token": "x"}),
    ("/auth/login", {"txn": "garbage", "user": "x"}),
    ("/auth/consent", {}),
]


@pytest.fixture
def own_launch(sandbox, connect, browser) -> str:
    connect()
    browser.launch(browser.start_standalone(EhrConnection.objects.get()), user="Patient/pat-01")
    return Launch.objects.get().handle


def test_the_app_never_answers_500(browser, client, own_launch) -> None:
    answers = {path: client.get(path).status_code for path in APP_PATHS}
    answers |= {path: browser.client.get(path).status_code for path in APP_PATHS}
    for path in OWN_LAUNCH_PATHS:
        answers[path] = browser.client.get(f"/l/{own_launch}/{path}").status_code
    for form in ({"connection": "nope"}, {"connection": "ehr", "kind": "weird"}, {}):
        answers[f"start {form}"] = browser.client.post("/smart/start", form).status_code
    answers["pick"] = browser.client.post(
        f"/l/{own_launch}/patients", {"patient": "../x"}
    ).status_code
    assert {name: status for name, status in answers.items() if status >= 500} == {}


def test_nul_bytes_are_refused_at_the_edge(client) -> None:
    response = client.get("/smart/launch", {"iss": "\x00", "launch": "x"})
    assert response.status_code == 400
    assert b"<code>bad_request</code>" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("field", [{"connection": "\x00"}, {"\x00": "sandbox"}])
def test_nul_bytes_in_a_multipart_form_are_refused_too(client, field) -> None:
    response = client.post("/smart/start", field)  # the test client sends multipart/form-data
    assert response.status_code == 400
    assert b"<code>bad_request</code>" in response.content


def test_a_multipart_body_that_cannot_be_read_is_a_400(client) -> None:
    response = client.generic(
        "POST", "/smart/start", b"--x\r\nbroken", content_type="multipart/form-data"
    )
    assert response.status_code == 400


def test_the_sandbox_never_answers_500(sandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as http:
        answers = {path: http.get(path).status_code for path in SANDBOX_GETS}
        for path, form in SANDBOX_POSTS:
            answers[f"{path} {form}"] = http.post(path, data=form).status_code
        answers["basic garbage"] = http.post(
            "/auth/token",
            headers={"Authorization": "Basic %%%"},
            data={"grant_type": "refresh_token"},
        ).status_code
    assert {name: status for name, status in answers.items() if status >= 500} == {}
