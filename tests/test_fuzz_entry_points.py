"""Fuzzing the app's entry points: whatever a browser, an attacker or an EHR sends, the answer
is never a 5xx and never carries a stack trace.

Hypothesis draws query strings and forms from raw bytes (NUL, CR/LF, invalid UTF-8, 70 kB
values, unicode, look-alike URLs and real values mixed in) for every URL a request can come in
on: the EHR launch, the standalone start, the OAuth callback, the QA page, the per-launch pages
(an unknown handle and a real, active launch against the sandbox), sign-out and the probes.

The budget is small so `make test` stays fast (FUZZ_EXAMPLES, default 50 per target; CI can
raise it). Examples are derandomised, so a failure in CI reproduces locally, and nothing is
written to a `.hypothesis/` directory. Run them alone with `pytest -m fuzz`.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartapp.models import EhrConnection, Launch

pytestmark = pytest.mark.fuzz
FORM = "application/x-www-form-urlencoded"

BUDGET = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "50")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    b"",
    b"\x00",
    b"a\x00b",
    b"\r\n",
    b"x\r\nSet-Cookie: sessionid=evil",
    b"\t",
    b"%00",
    b"%",
    b"\xff\xfe\xfd",
    b"\xed\xa0\x80",  # a UTF-16 surrogate in UTF-8: invalid
    "é€😀\u202e\u200b".encode(),
    b"x" * 70_000,
    b"../../../etc/passwd",
    b"<script>alert(1)</script>",
    b"javascript:alert(1)",
    b"https://evil.example.com/fhir",
    b"http://127.0.0.1:1/fhir",
    b"http://[::1]:0/",
    b"-1",
    b"99999999999999999999",
    b"1e309",
    b"NaN",
    b"patient",
    b"provider",
    b"|",
    b"http://loinc.org|8867-4",
]


def raw_values(*extra: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.sampled_from([*NASTY, *extra]),
        st.binary(max_size=48),
        st.text(max_size=48).map(lambda text: text.encode("utf-8", "surrogatepass")),
    )


def query(names: list[str], values: st.SearchStrategy[bytes]) -> st.SearchStrategy[str]:
    """A query string: known and unknown names, repeated or missing, any bytes as values."""
    pairs = st.lists(st.tuples(st.sampled_from([*names, "x", ""]), values), max_size=5)
    return pairs.map(
        lambda items: "&".join(f"{quote(k)}={quote_from_bytes(v, safe='')}" for k, v in items)
    )


def form(names: list[str], values: st.SearchStrategy[bytes]) -> st.SearchStrategy[dict]:
    texts = values.map(lambda raw: raw.decode("utf-8", "replace"))
    return st.dictionaries(st.sampled_from([*names, "x"]), texts, max_size=len(names) + 1)


SEGMENT = st.one_of(
    st.sampled_from(["", "labs", "list/medications", "list/x", "vitals/heart-rate", "style.css",
                     "patients", "sign-out", "%00", "%0d%0a", "..", "%2e%2e/x", "a" * 5000]),
    st.binary(max_size=24).map(lambda raw: quote_from_bytes(raw, safe="/")),
)  # fmt: skip


def assert_no_server_error(response: Any, what: str) -> None:
    body = response.content if not getattr(response, "streaming", False) else b""
    assert response.status_code < 500, f"{response.status_code} for {what!r}"
    assert b"Traceback (most recent call last)" not in body, what
    assert b'File "/' not in body, what


@pytest.fixture
def app(sandbox, connect) -> tuple[Client, EhrConnection]:
    """A client that reports a 500 as a response (never re-raises), and a registered EHR."""
    return Client(raise_request_exception=False), connect()


@pytest.fixture
def launched(app, browser) -> tuple[Client, str]:
    """A browser with an active launch against the sandbox; its client reports 500s."""
    _, connection = app
    browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    client = Client(raise_request_exception=False)
    client.cookies = browser.client.cookies
    return client, Launch.objects.get().handle


@BUDGET
@given(data=st.data())
def test_ehr_launch(app, data) -> None:
    client, connection = app
    values = raw_values(connection.iss.encode(), connection.iss.encode() + b"/")
    path = "/smart/launch?" + data.draw(query(["iss", "launch"], values))
    assert_no_server_error(client.get(path), path)


def post_form(client: Client, path: str, fields: dict) -> Any:
    """POST as a browser's plain form does (application/x-www-form-urlencoded)."""
    return client.post(path, urlencode(fields), content_type=FORM)


@BUDGET
@given(data=st.data())
def test_standalone_start(app, data) -> None:
    client, connection = app
    values = raw_values(connection.slug.encode())
    fields = data.draw(form(["connection", "kind", "scope"], values))
    assert_no_server_error(post_form(client, "/smart/start", fields), f"POST {fields}")
    path = "/smart/start?" + data.draw(query(["connection", "kind", "scope"], values))
    assert_no_server_error(client.get(path), path)


@BUDGET
@given(data=st.data())
def test_standalone_start_multipart(app, data) -> None:
    client, connection = app
    fields = data.draw(form(["connection", "kind", "scope"], raw_values(connection.slug.encode())))
    assert_no_server_error(client.post("/smart/start", fields), f"POST multipart {fields}")


@BUDGET
@given(data=st.data())
def test_callback(app, data) -> None:
    client, connection = app
    values = raw_values(connection.iss.encode(), b"access_denied", b"a" * 43)
    names = ["code", "state", "error", "error_description", "iss"]
    path = "/smart/callback?" + data.draw(query(names, values))
    assert_no_server_error(client.get(path), path)


@BUDGET
@given(data=st.data())
def test_probes_qa_and_sign_out(app, data) -> None:
    client, _ = app
    target = data.draw(st.sampled_from(["/readyz", "/healthz", "/qa/launch", "/signed-out", "/"]))
    path = f"{target}?" + data.draw(query(["verbose", "x"], raw_values()))
    assert_no_server_error(client.get(path), path)
    fields = data.draw(form(["next", "handle"], raw_values()))
    assert_no_server_error(post_form(client, "/sign-out", fields), f"POST /sign-out {fields}")


@BUDGET
@given(data=st.data())
def test_headers(app, data) -> None:
    """The request id, the session cookie and the CSRF cookie come from the browser too."""
    client, connection = app
    header = raw_values(b"0" * 32, b"ehr-trace-0001.abc").map(lambda raw: raw.decode("latin-1"))
    headers = {
        "X-Request-ID": data.draw(header),
        "Cookie": f"sessionid={data.draw(header)}; csrftoken={data.draw(header)}",
    }
    target = data.draw(st.sampled_from(["/smart/launch", "/smart/callback", "/", "/readyz"]))
    path = f"{target}?iss={quote(connection.iss)}&launch=x&state=y&code=z"
    assert_no_server_error(client.get(path, headers=headers), f"{path} {headers}")
    client.cookies.clear()


@BUDGET
@given(data=st.data())
def test_launch_pages_of_an_unknown_handle(app, data) -> None:
    client, _ = app
    handle = data.draw(st.binary(min_size=1, max_size=80)).replace(b"/", b"_")
    path = f"/l/{quote_from_bytes(handle, safe='')}/{data.draw(SEGMENT)}"
    assert_no_server_error(client.get(path), path)
    assert_no_server_error(post_form(client, path, {"patient": "x"}), f"POST {path}")


@BUDGET
@given(data=st.data())
def test_launch_pages_of_an_active_launch(launched, data) -> None:
    client, handle = launched
    names = ["page", "code", "refresh", "name", "patient"]
    path = f"/l/{handle}/{data.draw(SEGMENT)}?" + data.draw(query(names, raw_values()))
    assert_no_server_error(client.get(path), path)
    if "sign-out" not in path:
        fields = data.draw(form(["patient"], raw_values(b"pat-01", b"Patient/pat-01")))
        response = post_form(client, path, fields)
        assert_no_server_error(response, f"POST {path} {fields}")
