"""smartapp.log_redaction: no secret survives into a log line, wherever it was put."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from smartapp.log_redaction import MASK, redact_text, redact_value

# One realistic value per secret kind; each is unique so a leak is unambiguous.
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwYXRpZW50LTEifQ.c2lnbmF0dXJlLXZhbHVlLTAx"
SECRETS = {
    "access_token": "at-7f3a9c2e1b8d4f60",
    "refresh_token": "rt-51c0d9e8a7b6f342",
    "id_token": JWT,
    "code": "authcode-9d8c7b6a5f4e",
    "code_verifier": "verifier-" + "Z" * 43,
    "client_secret": "cs-0a1b2c3d4e5f6a7b",
    "client_assertion": "ca-" + JWT.replace("eyJ", "eyK", 1),
}
BEARER = "bearer-value-3c4d5e6f7a8b"


def forms(name: str, value: str) -> list[str]:
    """The shapes a secret takes in text: query string, form body, JSON, Python repr."""
    return [
        f"GET /smart/callback?state=abc&{name}={value}&iss=x",
        f"grant_type=authorization_code&{name}={value}",
        json.dumps({name: value, "scope": "openid"}),
        repr({name: value}),
        f"{name}: {value}",
    ]


@pytest.mark.parametrize("name", list(SECRETS))
def test_text_forms(name: str) -> None:
    value = SECRETS[name]
    for text in forms(name, value):
        cleaned = redact_text(text)
        assert value not in cleaned, text
        assert MASK in cleaned


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {BEARER}",
        f"headers={{'Authorization': 'Bearer {BEARER}'}}",
        f'"authorization": "Bearer {BEARER}"',
        f"sent Bearer {BEARER} to the FHIR server",
        f"Authorization: Basic {BEARER}",
    ],
)
def test_authorization_headers_and_bearer_credentials(text: str) -> None:
    assert BEARER not in redact_text(text)


def test_bare_jwt_is_redacted() -> None:
    assert JWT not in redact_text(f"token was {JWT} ok")


def test_harmless_look_alikes_are_kept() -> None:
    text = "code_challenge=abc123 error_code=42 status=active scope=patient/*.rs"
    assert redact_text(text) == text


def test_structured_values_by_key() -> None:
    cleaned = redact_value(
        {
            "token_response": {**SECRETS, "scope": "openid fhirUser", "expires_in": 300},
            "headers": {"Authorization": f"Bearer {BEARER}", "Accept": "application/fhir+json"},
            "list": [f"refresh_token={SECRETS['refresh_token']}"],
        }
    )
    flat = json.dumps(cleaned)
    for value in [*SECRETS.values(), BEARER]:
        assert value not in flat
    assert cleaned["token_response"]["scope"] == "openid fhirUser"
    assert cleaned["token_response"]["expires_in"] == 300
    assert cleaned["headers"]["Accept"] == "application/fhir+json"


def _emit(json_logs, *args, **kwargs) -> str:
    logging.getLogger("tests.redaction").warning(*args, **kwargs)
    return json_logs.text


@pytest.mark.parametrize("name", list(SECRETS))
def test_message_args_and_extras_through_the_configured_handler(json_logs, name: str) -> None:
    value = SECRETS[name]
    _emit(json_logs, f"token exchange sent {name}={value}")  # in the message itself
    _emit(json_logs, "token exchange sent %s", f"{name}={value}")  # in positional args
    _emit(json_logs, "token response %r", {name: value})  # a dict arg
    _emit(json_logs, "token response %(body)s", {"body": {name: value}})  # mapping args
    _emit(json_logs, "token response", extra={name: value})  # an extra named for the secret
    _emit(json_logs, "token response", extra={"body": {name: value}})  # nested in an extra
    _emit(json_logs, "token response", extra={"url": f"https://ehr/x?{name}={value}"})
    lines = json_logs.lines
    assert len(lines) == 7
    assert value not in json_logs.text


def test_exception_text_and_headers_extra(json_logs) -> None:
    try:
        raise RuntimeError(f"token endpoint said no to refresh_token={SECRETS['refresh_token']}")
    except RuntimeError:
        logging.getLogger("tests.redaction").exception(
            "refresh failed", extra={"headers": {"Authorization": f"Bearer {BEARER}"}}
        )
    (line,) = json_logs.lines
    assert "RuntimeError" in line["exception"]
    assert SECRETS["refresh_token"] not in json_logs.text
    assert BEARER not in json_logs.text
    assert line["headers"] == {"Authorization": MASK}


def test_numbers_still_format(json_logs) -> None:
    _emit(json_logs, "refreshed in %d ms (%.1f%%)", 42, 99.5)
    assert json_logs.lines[0]["message"] == "refreshed in 42 ms (99.5%)"


def test_mismatched_arguments_do_not_raise(json_logs) -> None:
    _emit(json_logs, "two %s %s", "only-one")
    assert "did not match" in json_logs.lines[0]["message"]


# --- through the app: the refusal's reference code, runserver's own lines ------------------


OAUTH_CODE = "authcode-0f1e2d3c4b5a"
STATE = "state-9a8b7c6d5e4f3a2b"


@pytest.mark.django_db
def test_a_refusal_logs_its_reference_code_and_never_the_oauth_code(client, json_logs) -> None:
    """The page says "Reference: invalid_state"; support must find that in the logs, while the
    authorization code in the same request stays out of them."""
    response = client.get(f"/smart/callback?code={OAUTH_CODE}&state={STATE}")
    assert 400 <= response.status_code < 500
    (refused,) = [line for line in json_logs.lines if line["message"] == "request refused"]
    assert refused["error_code"] in response.content.decode()
    assert refused["error_code"] != MASK
    assert "code" not in refused
    assert OAUTH_CODE not in json_logs.text
    assert STATE not in json_logs.text


@pytest.fixture
def runserver(transactional_db) -> Iterator[str]:
    """The app behind the server `manage.py runserver` uses, with its request handler (and
    so its `django.server` log lines)."""
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
    from django.core.wsgi import get_wsgi_application

    server = WSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_runserver_lines_go_through_the_redacting_handler(runserver, json_logs, capfd) -> None:
    connection = http.client.HTTPConnection(runserver, timeout=10)
    connection.request(
        "GET",
        f"/smart/callback?code={OAUTH_CODE}&state={STATE}&iss=x",
        headers={"Host": "localhost"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    assert 400 <= response.status < 500
    # The server thread writes its line as it closes the exchange, which can be just after
    # the client has read the answer: wait for it (a busy machine lost this race).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        line["logger"] == "django.server" for line in json_logs.lines
    ):
        time.sleep(0.02)
    raw = capfd.readouterr()
    server_lines = [line for line in json_logs.lines if line["logger"] == "django.server"]
    assert server_lines, json_logs.text
    assert "/smart/callback" in server_lines[0]["message"]
    assert str(response.status) in server_lines[0]["message"]
    for text in (json_logs.text, raw.out, raw.err):
        assert OAUTH_CODE not in text
        assert STATE not in text


def test_document_ids_in_paths_are_masked() -> None:
    """A document page's path names the EHR's id of a clinical note: logs keep its type."""
    line = redact_text("GET /l/abc/documents/DocumentReference/doc-pat-01-discharge/0/content")
    assert "doc-pat-01-discharge" not in line
    assert f"/documents/DocumentReference/{MASK}/0/content" in line
    extra = redact_value({"path": "/l/abc/documents/DiagnosticReport/dr-1"})
    assert extra == {"path": f"/l/abc/documents/DiagnosticReport/{MASK}"}
