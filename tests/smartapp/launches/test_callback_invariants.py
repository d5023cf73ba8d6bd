"""One fast test per security rule of the callback, as mozilla-django-oidc's test_views.py has.

No servers: discovery is in the cache and the EHR's token endpoint and FHIR API are an
in-process transport (`smartapp.outbound.use_transport`), so each rule is checked in
milliseconds, beside the live-HTTP journeys in test_launch_flow.py and test_launch_refusals.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.core.cache import cache
from django.http import QueryDict

from smart import errors
from smart.clock import ManualClock
from smart.discovery import SmartConfiguration, to_json
from smart.launch_states import LaunchState
from smart.pkce import challenge_for
from smart.scopes import LaunchKind
from smartapp import outbound
from smartapp.clock import use_clock
from smartapp.launches.browser import cookie_name
from smartapp.launches.callback import CallbackParams, complete_callback
from smartapp.launches.pages import launch_for
from smartapp.launches.start import start
from smartapp.models import Launch, TokenGrant
from smartapp.registry import register_connection
from smartapp.vault import revocation

ISS = "https://ehr.example.org/fhir"
TOKEN_URL = "https://ehr.example.org/token"
REVOKE_URL = "https://ehr.example.org/revoke"
pytestmark = pytest.mark.django_db


class FakeEhr:
    """The EHR's token endpoint and FHIR API, in process; records what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.forms: list[dict[str, list[str]]] = []
        self.body: dict[str, str] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) == TOKEN_URL:
            self.forms.append(parse_qs(request.content.decode()))
            body = {
                "access_token": "at-1",
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "launch/patient patient/Patient.rs",
                "patient": "p-1",
                **self.body,
            }
            return httpx.Response(200, json=body)
        if str(request.url) == REVOKE_URL:
            return httpx.Response(200)
        if str(request.url) == f"{ISS}/Patient/p-1":
            return httpx.Response(200, json={"resourceType": "Patient", "id": "p-1"})
        return httpx.Response(404, json={"resourceType": "OperationOutcome", "issue": []})


@pytest.fixture
def ehr() -> Iterator[FakeEhr]:
    config = SmartConfiguration(
        issuer=ISS,
        authorization_endpoint="https://ehr.example.org/authorize",
        token_endpoint=TOKEN_URL,
        capabilities=frozenset({"permission-v2"}),
        iss_parameter_supported=True,
    )
    cache.set(f"smart-config:{ISS}", to_json(config), 3600)
    fake = FakeEhr()
    with outbound.use_transport(httpx.MockTransport(fake)):
        yield fake


@pytest.fixture
def connection():
    return register_connection(
        slug="acme", name="Acme", iss=ISS, client_id="app", client_auth="none"
    )


def session() -> dict[str, str]:
    """A browser's cookie jar."""
    return {}


def begin(connection, browser: dict[str, str]) -> dict[str, str]:
    started = start(connection=connection, kind=LaunchKind.PATIENT, scope="patient/Patient.rs")
    browser[cookie_name(started.binding.handle)] = started.binding.secret
    return {key: values[0] for key, values in parse_qs(urlsplit(started.url).query).items()}


def complete(params: CallbackParams, browser: dict[str, str]) -> Launch:
    completed = complete_callback(params, browser)
    browser[cookie_name(completed.binding.handle)] = completed.binding.secret
    return completed.launch


def back(state: str, **extra: str) -> CallbackParams:
    query = QueryDict(mutable=True)
    query.update({"state": state, "code": "code-1", "iss": ISS, **extra})
    return CallbackParams.from_query(query)


def test_a_tampered_state_names_no_launch(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    with pytest.raises(errors.StateMissing):
        complete_callback(back(sent["state"] + "x"), browser)
    assert Launch.objects.get().state == LaunchState.AUTHORIZING  # untouched
    assert ehr.forms == []  # and no code was exchanged


def test_the_state_is_single_use_even_after_a_failure(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    with pytest.raises(errors.IssuerMismatch):
        complete_callback(back(sent["state"], iss="https://evil.example"), browser)
    with pytest.raises(errors.StateReplayed):
        complete_callback(back(sent["state"]), browser)  # the honest retry is refused too
    assert ehr.forms == []


def test_a_state_from_another_browser_is_refused(ehr, connection):
    sent = begin(connection, session())
    with pytest.raises(errors.SessionMismatch):
        complete_callback(back(sent["state"]), session())
    assert Launch.objects.get().state == LaunchState.FAILED
    assert ehr.forms == []


def test_two_sign_ins_in_one_browser_do_not_spend_each_other(ehr, connection):
    browser = session()
    first, second = begin(connection, browser), begin(connection, browser)
    done = complete(back(second["state"]), browser)
    assert done.state == LaunchState.ACTIVE
    other = Launch.objects.exclude(pk=done.pk).get()
    assert other.state == LaunchState.AUTHORIZING
    assert other.state_used_at is None
    assert complete(back(first["state"]), browser).state == LaunchState.ACTIVE


def test_the_verifier_sent_matches_the_challenge_given(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    assert sent["code_challenge_method"] == "S256"
    complete_callback(back(sent["state"]), browser)
    verifier = ehr.forms[0]["code_verifier"][0]
    assert challenge_for(verifier) == sent["code_challenge"]
    assert ehr.forms[0]["redirect_uri"] == [Launch.objects.get().redirect_uri]


def test_an_authorization_older_than_ten_minutes_is_refused(ehr, connection):
    browser = session()
    with use_clock(ManualClock()) as clock:
        sent = begin(connection, browser)
        clock.advance(timedelta(minutes=10, seconds=1).total_seconds())
        with pytest.raises(errors.StateExpired):
            complete_callback(back(sent["state"]), browser)
    assert Launch.objects.get().state == LaunchState.EXPIRED


def test_a_missing_iss_is_refused_where_the_server_promises_one(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    query = QueryDict(mutable=True)
    query.update({"state": sent["state"], "code": "c"})
    with pytest.raises(errors.IssuerMismatch):
        complete_callback(CallbackParams.from_query(query), browser)


def test_access_denied_stores_nothing_and_follows_no_error_uri(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    params = back(sent["state"], error="access_denied", error_uri="https://evil.example/x")
    with pytest.raises(errors.AccessDenied):
        complete_callback(params, browser)
    assert Launch.objects.get().state == LaunchState.CANCELLED
    assert TokenGrant.objects.count() == 0
    assert ehr.requests == []


def test_tokens_are_stored_encrypted_and_the_patient_was_read_first(ehr, connection):
    browser = session()
    sent = begin(connection, browser)
    launch = complete(back(sent["state"]), browser)
    grant = TokenGrant.objects.get(launch=launch)
    assert "at-1" not in json.dumps(
        {f.name: str(getattr(grant, f.name)) for f in grant._meta.fields}
    )
    assert grant.get_secret("access_token") == "at-1"
    assert [str(r.url) for r in ehr.requests] == [TOKEN_URL, f"{ISS}/Patient/p-1"]


def test_the_browser_secret_is_replaced_when_the_launch_becomes_active(ehr, connection):
    # Session fixation: whoever saw or planted the cookie before the sign-in finished holds
    # a secret that no longer opens the launch.
    browser = session()
    sent = begin(connection, browser)
    before = dict(browser)
    launch = complete(back(sent["state"]), browser)
    assert browser != before
    assert launch_for(launch.handle, browser).pk == launch.pk
    with pytest.raises(errors.LaunchNotFound):
        launch_for(launch.handle, before)


@pytest.mark.django_db(transaction=True)  # the revocation runs in a thread of its own
def test_a_refused_token_response_is_given_back(ehr, connection):
    ehr.body = {"patient": "p-1\x00", "refresh_token": "rt-1"}
    browser = session()
    sent = begin(connection, browser)
    cache.set(
        f"smart-config:{ISS}",
        to_json(
            SmartConfiguration(
                issuer=ISS,
                authorization_endpoint="https://ehr.example.org/authorize",
                token_endpoint=TOKEN_URL,
                revocation_endpoint=REVOKE_URL,
                capabilities=frozenset({"permission-v2"}),
                iss_parameter_supported=True,
            )
        ),
        3600,
    )
    with pytest.raises(errors.TokenResponseInvalid):
        complete(back(sent["state"]), browser)
    assert Launch.objects.get().state == LaunchState.FAILED
    assert revocation.wait_idle()  # given back in the background
    revoked = [parse_qs(r.content.decode()) for r in ehr.requests if str(r.url) == REVOKE_URL]
    assert [(f["token"][0], f["token_type_hint"][0]) for f in revoked] == [
        ("rt-1", "refresh_token"),
        ("at-1", "access_token"),
    ]
