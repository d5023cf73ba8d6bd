"""The token endpoint (RFC 6749 4.4): client credentials by Basic or form, scope a subset of
the client's, only the hash stored, and an RFC 6749 5.2 JSON error (never a 500) for any
other input."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import urlencode

import pytest

from smartapp.api_clients.bearer import grant_for
from smartapp.api_clients.credentials import digest
from smartapp.api_clients.models import ApiToken

pytestmark = pytest.mark.django_db
URL = "/api/v1/oauth/token"
FORM = "application/x-www-form-urlencoded"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def form_post(client, data: dict[str, str], path: str = URL, **headers: str):
    """A token request as RFC 6749 4.4.2 has it: a form-urlencoded body."""
    return client.post(path, urlencode(data), content_type=FORM, secure=True, **headers)


def request_token(client, client_id: str, secret: str, **form: str):
    return form_post(
        client,
        {"grant_type": "client_credentials", **form},
        HTTP_AUTHORIZATION=basic(client_id, secret),
    )


def post_raw(
    client, body: bytes, content_type: str = "application/x-www-form-urlencoded", **headers
):
    return client.generic("POST", URL, body, content_type=content_type, secure=True, **headers)


def test_basic_auth_gets_a_bearer_token_with_all_the_clients_scopes(client, issued, settings):
    api_client, secret = issued
    response = request_token(client, api_client.client_id, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "results.read summary.read"
    assert response["Cache-Control"] == "no-store"
    grant = grant_for(body["access_token"])
    assert grant is not None
    assert grant.client_id == api_client.client_id


def test_post_auth_and_the_ttl_setting(client, issued, settings):
    settings.API_TOKEN_TTL_S = 60
    api_client, secret = issued
    response = form_post(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
            "scope": "summary.read",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["expires_in"] == 60
    assert response.json()["scope"] == "summary.read"


def test_only_the_tokens_hash_is_stored(client, issued):
    api_client, secret = issued
    token = request_token(client, api_client.client_id, secret).json()["access_token"]
    row = ApiToken.objects.get()
    assert row.token_hash == digest(token)
    stored = " ".join(str(v) for v in ApiToken.objects.values().get().values())
    assert token not in stored
    assert secret not in stored


@pytest.mark.parametrize("scope", ["medications.read", "summary.read medications.read"])
def test_a_scope_beyond_the_clients_is_invalid_scope(client, issued, scope):
    api_client, secret = issued
    response = request_token(client, api_client.client_id, secret, scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("scope", ["admin", "x" * 100_000, "summary.read\u00e9"])
def test_unknown_or_huge_scope_is_invalid_scope(client, issued, scope):
    api_client, secret = issued
    response = request_token(client, api_client.client_id, secret, scope=scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_a_wrong_secret_an_unknown_client_and_a_revoked_one_look_alike(client, issued):
    api_client, secret = issued
    wrong = request_token(client, api_client.client_id, secret + "x")
    unknown = request_token(client, "sac_nobody", secret)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == wrong.json()
        assert response.json()["error"] == "invalid_client"
        assert response["WWW-Authenticate"].startswith("Basic")
    form = form_post(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": "x",
        },
    )
    assert form.status_code == 401
    assert form.json()["error"] == "invalid_client"


def test_no_credentials_is_invalid_client(client, issued):
    response = form_post(client, {"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("grant_type", ["authorization_code", "refresh_token", "password", '"<x>'])
def test_other_grant_types_are_unsupported_and_not_echoed(client, issued, grant_type):
    api_client, secret = issued
    response = form_post(
        client, {"grant_type": grant_type}, HTTP_AUTHORIZATION=basic(api_client.client_id, secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert grant_type not in response.content.decode()


def test_get_is_405(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["error"] == "invalid_request"


def test_credentials_in_the_query_string_are_never_read(client, issued):
    api_client, secret = issued
    response = form_post(
        client,
        {"grant_type": "client_credentials"},
        path=f"{URL}?client_id={api_client.client_id}&client_secret={secret}",
    )
    assert response.status_code == 401


def test_two_authentication_methods_at_once_are_refused(client, issued):
    api_client, secret = issued
    response = form_post(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": api_client.client_id,
            "client_secret": secret,
        },
        HTTP_AUTHORIZATION=basic(api_client.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


GARBAGE = [
    (b"", "application/x-www-form-urlencoded", {}),
    (b"grant_type=client_credentials", "application/json", {}),
    (b'{"grant_type": "client_credentials"}', "application/json", {}),
    (b"\xff\xfegrant_type=\xc3\x28", "application/x-www-form-urlencoded", {}),
    (
        b"grant_type=client_credentials&grant_type=client_credentials",
        "application/x-www-form-urlencoded",
        {},
    ),
    (b"--x\r\nbroken", "multipart/form-data; boundary=x", {}),
    (
        b"grant_type=client_credentials",
        "application/x-www-form-urlencoded",
        {"HTTP_AUTHORIZATION": "Basic %%%"},
    ),
    (
        b"grant_type=client_credentials",
        "application/x-www-form-urlencoded",
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    ),
    (
        b"grant_type=client_credentials",
        "application/x-www-form-urlencoded",
        {"HTTP_AUTHORIZATION": "Basic"},
    ),
    (
        b"grant_type=client_credentials",
        "application/x-www-form-urlencoded",
        {"HTTP_AUTHORIZATION": "Bearer abc"},
    ),
    (
        b"grant_type=client_credentials&client_id=%ff&client_secret=%fe",
        "application/x-www-form-urlencoded",
        {},
    ),
]
# Refused before the view: the app's RejectNulMiddleware (a NUL byte) and Django's request
# limits (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS) answer 400 with an
# error page of their own, not an RFC 6749 body.
BEFORE_THE_VIEW = [
    b"grant_type=client_credentials&client_id=%00&client_secret=x",
    b"\x00grant_type=client_credentials",
    b"a=" + b"b" * 3_000_000,
    b"&".join(b"k%d=v" % i for i in range(5000)),
]


@pytest.mark.parametrize(("body", "content_type", "headers"), GARBAGE)
def test_garbage_gets_an_oauth_error_never_a_500(client, issued, body, content_type, headers):
    response = post_raw(client, body, content_type, **headers)
    assert response.status_code in (400, 401), response.content
    assert response.json()["error"] in {
        "invalid_request",
        "invalid_client",
        "unsupported_grant_type",
    }
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("body", BEFORE_THE_VIEW, ids=["nul-escaped", "nul", "huge", "fields"])
def test_what_the_edge_refuses_is_a_400_not_a_500(client, issued, body):
    assert post_raw(client, body).status_code == 400


def test_plain_http_off_loopback_is_refused(client, issued):
    api_client, secret = issued
    response = client.post(
        URL,
        urlencode({"grant_type": "client_credentials"}),
        content_type=FORM,
        HTTP_AUTHORIZATION=basic(api_client.client_id, secret),
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "use https"}


def test_nothing_logs_the_secret_or_the_token(client, issued):
    api_client, secret = issued
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        token = request_token(client, api_client.client_id, secret).json()["access_token"]
        request_token(client, api_client.client_id, secret + "x")
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    assert "api/v1/oauth/token" in buffer.getvalue() or buffer.getvalue() == ""
    assert secret not in buffer.getvalue()
    assert token not in buffer.getvalue()


def test_a_token_authenticated_before_a_rotation_is_not_saved_after_it(client, issued, monkeypatch):
    """The race a review found: the old secret authenticates, a rotation commits, then the
    token is saved. It must be refused, not left working until it expires."""
    from smartapp.api_clients import credentials, oauth
    from smartapp.api_clients.models import ApiToken

    api_client, secret = issued
    server = oauth.server()
    original = type(server).save_token

    def rotate_first(self, token, request):
        credentials.rotate(api_client)
        return original(self, token, request)

    monkeypatch.setattr(type(server), "save_token", rotate_first)
    response = request_token(client, api_client.client_id, secret)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not ApiToken.objects.filter(client=api_client).exists()


def test_expired_tokens_are_purged_and_a_client_keeps_at_most_twenty(client, issued):
    from datetime import timedelta

    from django.utils import timezone

    from smartapp.api_clients import oauth_server
    from smartapp.api_clients.credentials import purge_expired
    from smartapp.api_clients.models import ApiToken

    api_client, secret = issued
    for _ in range(oauth_server.MAX_LIVE_TOKENS + 5):
        assert request_token(client, api_client.client_id, secret).status_code == 200
    assert ApiToken.objects.filter(client=api_client).count() == oauth_server.MAX_LIVE_TOKENS
    assert purge_expired(timezone.now()) == 0
    later = timezone.now() + timedelta(days=1)
    assert purge_expired(later) == oauth_server.MAX_LIVE_TOKENS
    assert not ApiToken.objects.exists()
