"""Every refusal a launch can meet: a clear page, a 4xx, the launch recorded as ended."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    body = response.content.decode()
    assert f"<code>{code}</code>" in body
    assert 'role="alert"' in body
    assert "Traceback" not in body


def with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update({k: v for k, v in changes.items() if v is not None})
    for name in [k for k, v in changes.items() if v is None]:
        query.pop(name, None)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


@pytest.fixture
def recorder(jwks_host):
    """An HTTP host that records every path it is asked for (to prove nobody called it)."""
    return jwks_host


def test_unregistered_iss_contacts_nobody(sandbox, connect, browser, jwks_host) -> None:
    connect()
    unknown = jwks_host({}).rsplit("/", 1)[0] + "/fhir"  # a live host that would answer
    response = browser.client.get("/smart/launch", {"iss": unknown, "launch": "x"})
    refused(response, 400, "unknown_iss")
    assert "location" not in response.headers
    assert Launch.objects.count() == 0
    assert sandbox.stats()["token_requests"] == {}


def test_disabled_connection_is_unregistered(sandbox, connect, browser) -> None:
    connection = connect()
    connection.enabled = False
    connection.save()
    refused(
        browser.client.get("/smart/launch", {"iss": connection.iss, "launch": "x"}),
        400,
        "unknown_iss",
    )


def test_iss_must_match_exactly(sandbox, connect, browser) -> None:
    connection = connect()
    refused(
        browser.client.get("/smart/launch", {"iss": connection.iss + "/", "launch": "x"}),
        400,
        "unknown_iss",
    )


@pytest.mark.parametrize("params", [{}, {"iss": "x"}, {"launch": "x"}])
def test_incomplete_ehr_launch(sandbox, connect, browser, params) -> None:
    connection = connect()
    if "iss" in params:
        params = {"iss": connection.iss}
    response = browser.client.get("/smart/launch", params)
    assert response.status_code == 400


def test_missing_state(sandbox, connect, browser) -> None:
    refused(browser.client.get("/smart/callback", {"code": "abc"}), 400, "invalid_state")


def test_unknown_state(sandbox, connect, browser) -> None:
    refused(
        browser.client.get("/smart/callback", {"code": "abc", "state": "made-up"}),
        400,
        "invalid_state",
    )


def test_replayed_state(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    assert browser.callback(callback).status_code == 303
    refused(browser.callback(callback), 400, "state_replayed")
    assert Launch.objects.get().state == LaunchState.ACTIVE  # the first use still stands


def test_callback_in_another_browser_session(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    parts = urlsplit(callback)
    refused(Client().get(f"{parts.path}?{parts.query}"), 400, "session_mismatch")
    assert Launch.objects.get().state == LaunchState.FAILED
    refused(browser.callback(callback), 400, "state_replayed")  # and it is spent for everyone
    assert TokenGrant.objects.count() == 0


def test_state_older_than_ten_minutes(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    Launch.objects.update(state_expires_at=timezone.now() - timedelta(seconds=1))
    refused(browser.callback(callback), 400, "state_expired")
    assert Launch.objects.get().state == LaunchState.EXPIRED


def test_callback_iss_that_does_not_match(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    refused(
        browser.callback(with_params(callback, iss="https://attacker.example/fhir")),
        400,
        "iss_mismatch",
    )
    assert Launch.objects.get().state == LaunchState.FAILED


def test_callback_without_iss_when_the_server_promised_it(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    refused(browser.callback(with_params(callback, iss=None)), 400, "iss_mismatch")


def test_callback_without_iss_is_fine_when_not_promised(sandbox, connect, browser) -> None:
    connection = connect(iss_in_response=False)
    callback = browser.authorize(browser.start_ehr(connection))
    assert "iss=" not in callback
    assert browser.callback(callback).status_code == 303


def test_access_denied(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(
        browser.start_standalone(connection), user="Patient/pat-01", deny=True
    )
    response = browser.callback(callback)
    refused(response, 403, "access_denied")
    assert b"You chose not to share" in response.content
    assert b"sign in again" in response.content
    assert Launch.objects.get().state == LaunchState.CANCELLED


def test_other_authorization_errors_never_follow_error_uri(sandbox, connect, browser) -> None:
    connection = connect(auth_error="server_error")
    callback = browser.authorize(browser.start_ehr(connection))
    response = browser.callback(with_params(callback, error_uri="https://evil.example/phish"))
    refused(response, 400, "authorization_failed")
    assert b"evil.example" not in response.content
    assert Launch.objects.get().state == LaunchState.FAILED


@pytest.mark.parametrize(
    "rule",
    [{"omit": ["access_token"]}, {"set": {"token_type": "mac"}}, {"omit": ["scope"]}],
)
def test_unusable_token_responses(sandbox, connect, browser, rule) -> None:
    connection = connect(token_response=rule)
    response = browser.callback(browser.authorize(browser.start_ehr(connection)))
    refused(response, 502, "invalid_token_response")
    assert Launch.objects.get().state == LaunchState.FAILED
    assert TokenGrant.objects.count() == 0


@pytest.mark.parametrize(
    "fault", ["bad_signature", "wrong_aud", "wrong_nonce", "wrong_iss", "expired"]
)
def test_id_tokens_that_do_not_check_out(sandbox, connect, browser, fault) -> None:
    connection = connect(id_token=fault)
    response = browser.callback(browser.authorize(browser.start_ehr(connection)))
    refused(response, 400, "invalid_id_token")
    assert Launch.objects.get().state == LaunchState.FAILED
    assert TokenGrant.objects.count() == 0


def test_a_patient_the_token_cannot_read(sandbox, connect, browser) -> None:
    # The EHR grants no Patient access: the app must not show anything about the patient.
    connection = connect(grant=["launch", "openid", "fhirUser", "patient/Observation.rs"])
    response = browser.callback(browser.authorize(browser.start_ehr(connection, patient="pat-03")))
    refused(response, 403, "patient_unavailable")
    assert b"Robert" not in response.content
    assert Launch.objects.get().state == LaunchState.FAILED


def test_token_endpoint_refusing_the_client(sandbox, connect, browser) -> None:
    connection = connect(
        token_error={"error": "invalid_client", "grant_type": "authorization_code"}
    )
    refused(
        browser.callback(browser.authorize(browser.start_ehr(connection))),
        502,
        "token_exchange_failed",
    )


def test_unknown_handle(sandbox, connect, browser) -> None:
    refused(browser.client.get("/l/not-a-handle/"), 404, "launch_not_found")


def test_ended_launch_pages_say_so(sandbox, connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_ehr(connection))
    launch = Launch.objects.get()
    Launch.objects.update(state=LaunchState.REAUTH_REQUIRED)
    response = browser.client.get(f"/l/{launch.handle}/")
    refused(response, 401, "session_ended")
    assert b"John Smith" not in response.content
    assert f"Your session with {connection.name} has ended".encode() in response.content
    Launch.objects.update(state=LaunchState.EXPIRED)
    refused(browser.client.get(f"/l/{launch.handle}/"), 410, "launch_ended")


def test_no_token_or_code_reaches_the_logs(sandbox, connect, browser, json_logs) -> None:
    from sandbox.models import Token

    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    browser.callback(callback)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    issued = Token.objects.get()
    assert json_logs.lines, "the launch wrote no log lines at all"
    for secret in (code, issued.access_token, issued.refresh_token or "", issued.id_token):
        if secret:
            assert secret not in json_logs.text


def test_ehr_error_page_is_framable_by_that_ehr(sandbox, connect, browser) -> None:
    connection = connect(frame_origins=("http://127.0.0.1:9000",))
    callback = browser.authorize(browser.start_ehr(connection))
    response = browser.callback(with_params(callback, iss="https://attacker.example/fhir"))
    assert response.status_code == 400
    assert "frame-ancestors http://127.0.0.1:9000" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_discovery_failure_is_a_clear_page(sandbox, connect, browser) -> None:
    from django.core.cache import cache

    cache.clear()
    connection = connect(base=f"{sandbox.url}/sim/not-json/fhir")  # the sandbox answers 400
    response = browser.client.get("/smart/launch", {"iss": connection.iss, "launch": "x"})
    refused(response, 502, "discovery_failed")
    assert Launch.objects.count() == 0
    assert httpx.get(f"{sandbox.url}/healthz").status_code == 200


def test_the_ehrs_error_description_is_shown_without_an_echoed_launch_value(
    sandbox, connect, browser
) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    launch_value = Launch.objects.get().launch_param
    state = parse_qs(urlsplit(callback).query)["state"][0]
    description = f"unknown launch {launch_value}: call \u00a0555 <b>now</b>"
    query = {
        "state": state,
        "iss": connection.iss,
        "error": "invalid_request",
        "error_description": description,
    }
    crafted = f"/smart/callback?{urlencode(query)}"
    response = browser.client.get(crafted)
    refused(response, 400, "authorization_failed")
    body = response.content.decode()
    assert launch_value not in body
    assert (
        "“unknown launch …: call 555 &lt;b&gt;now&lt;/b&gt;” <code>invalid_request</code>" in body
    )
