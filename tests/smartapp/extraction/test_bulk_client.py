"""The HTTP side of a Bulk Data export (smartapp.extraction.bulk_client), in process.

Requests go to an `httpx.MockTransport` through `outbound.use_transport`; one test uses a
loopback socket, because only a real transport notices a body cut short of its length.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from smart import bulk
from smart.clock import ManualClock
from smartapp import outbound
from smartapp.clock import use_clock
from smartapp.extraction import bulk_client
from smartapp.extraction.bulk_client import (
    EhrTransient,
    ExportRefused,
    ExportUnsupported,
    ForeignUrl,
    Line,
    Throttled,
    Unauthorized,
    _own,
    _split,
    classify,
)

ISS = "https://ehr.example/fhir"
KICKOFF = f"{ISS}/Patient/$export?_outputFormat=application%2Ffhir%2Bndjson"
STATUS = "https://ehr.example/bulkstatus/job-1"
FILE = "https://ehr.example/files/Patient-1.ndjson"
TOKEN = "a-live-token"

Handler = Callable[[httpx.Request], httpx.Response]
Serve = Callable[[Handler], list[httpx.Request]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Install a handler for every outbound request; returns the requests it saw."""
    stack: list[object] = []

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        context = outbound.use_transport(httpx.MockTransport(record))
        context.__enter__()
        stack.append(context)
        return seen

    yield install
    for context in reversed(stack):
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


def _lines(url: str = FILE, token: str | None = TOKEN, max_line_bytes: int = 1000) -> list[Line]:
    return list(
        bulk_client.lines(url, ISS, token, max_line_bytes=max_line_bytes, read_timeout_s=5.0)
    )


def _drain(lines: Iterator[Line], into: list[Line]) -> None:
    """Collect lines until the iterator ends or raises (what was read before is kept)."""
    for line in lines:
        into.append(line)


def _split_all(chunks: list[bytes], max_line_bytes: int = 10) -> list[Line]:
    return list(_split(iter(chunks), max_line_bytes))


# --- _split: lines across chunks ------------------------------------------------------------


def test_lines_split_across_chunk_boundaries_are_joined() -> None:
    assert _split_all([b"ab", b"c\nde", b"f\n"]) == [Line(1, b"abc"), Line(2, b"def")]


def test_a_newline_at_the_start_of_a_chunk_ends_the_pending_line() -> None:
    assert _split_all([b"abc", b"\nxyz\n"]) == [Line(1, b"abc"), Line(2, b"xyz")]


def test_crlf_keeps_the_carriage_return_in_the_raw_line() -> None:
    # Only "\n" ends a line; the "\r" stays in `raw` and parse_line's strip() drops it.
    assert _split_all([b"ab\r", b"\ncd\r\n"]) == [Line(1, b"ab\r"), Line(2, b"cd\r")]
    assert bulk.parse_line(Line(1, b'{"resourceType":"X"}\r').raw, 1) == {"resourceType": "X"}


def test_a_lone_carriage_return_does_not_end_a_line() -> None:
    assert _split_all([b"ab\rcd\n"]) == [Line(1, b"ab\rcd")]


def test_a_final_line_without_a_newline_is_kept() -> None:
    assert _split_all([b"ab\n", b"cd"]) == [Line(1, b"ab"), Line(2, b"cd")]


def test_no_trailing_empty_line_after_a_final_newline() -> None:
    assert _split_all([b"ab\n"]) == [Line(1, b"ab")]
    assert _split_all([]) == []
    assert _split_all([b"", b""]) == []


def test_empty_lines_are_yielded_and_counted() -> None:
    assert _split_all([b"a\n\n", b"\nb\n"]) == [
        Line(1, b"a"),
        Line(2, b""),
        Line(3, b""),
        Line(4, b"b"),
    ]


def test_a_line_of_exactly_the_limit_is_kept() -> None:
    assert _split_all([b"12345", b"67890\n"], max_line_bytes=10) == [Line(1, b"1234567890")]


def test_an_over_long_line_in_one_chunk_is_too_long_and_the_next_is_normal() -> None:
    assert _split_all([b"12345678901\nok\n"], max_line_bytes=10) == [
        Line(1, b"", too_long=True),
        Line(2, b"ok"),
    ]


def test_an_over_long_line_across_chunks_keeps_its_number_and_the_rest_follow() -> None:
    chunks = [b"first\n1234", b"567890", b"123", b"456\nsecond\n", b"third"]
    assert _split_all(chunks, max_line_bytes=10) == [
        Line(1, b"first"),
        Line(2, b"", too_long=True),
        Line(3, b"second"),
        Line(4, b"third"),
    ]


def test_an_over_long_line_that_ends_when_its_final_chunk_starts_is_too_long() -> None:
    # Just over the limit when the newline comes: the pending bytes alone are under it.
    chunks = [b"1234567890", b"1\nok\n"]
    assert _split_all(chunks, max_line_bytes=10) == [
        Line(1, b"", too_long=True),
        Line(2, b"ok"),
    ]


def test_an_over_long_final_line_without_a_newline_is_too_long() -> None:
    assert _split_all([b"ok\n", b"x" * 30], max_line_bytes=10) == [
        Line(1, b"ok"),
        Line(2, b"", too_long=True),
    ]


def test_an_endless_line_over_many_chunks_is_one_too_long_line() -> None:
    # Nothing is yielded until its newline, and then no bytes: the chunks were dropped.
    chunks = [b"x" * 1000] * 100 + [b"\n"]
    assert _split_all(chunks, max_line_bytes=10) == [Line(1, b"", too_long=True)]


# --- the token stays on the FHIR server's origin --------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/bulkstatus/job-1",  # another host
        "https://ehr.example.evil.example/x",
        "https://ehr.example:8443/bulkstatus/job-1",  # another port
        "http://ehr.example/bulkstatus/job-1",  # another scheme
        "https://user@ehr.example/bulkstatus/job-1",  # userinfo
        "https://ehr.example@evil.example/bulkstatus/job-1",
        "https://:pw@ehr.example/bulkstatus/job-1",
        "/bulkstatus/job-1",  # relative
        "https://ehr.example\\@evil.example/x",
    ],
)
def test_a_url_off_the_fhir_servers_origin_is_foreign(url: str) -> None:
    with pytest.raises(ForeignUrl, match="status URL"):
        _own(url, ISS, "status")


@pytest.mark.parametrize(
    "url", [STATUS, FILE, "https://ehr.example:443/elsewhere", "https://EHR.example/x"]
)
def test_a_url_on_the_same_origin_is_own_whatever_its_path(url: str) -> None:
    _own(url, ISS, "status")  # does not raise


def test_status_on_another_origin_is_refused_and_never_requested(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(202))
    with pytest.raises(ForeignUrl):
        bulk_client.status("https://evil.example/bulkstatus/job-1", ISS, TOKEN)
    assert seen == []


def test_a_file_on_another_origin_with_a_token_is_refused_and_never_requested(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(200, content=b"{}\n"))
    with pytest.raises(ForeignUrl, match="file URL"):
        _lines("https://storage.example/f.ndjson", token=TOKEN)
    assert seen == []


def test_a_file_without_a_token_gets_no_authorization(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(200, content=b'{"resourceType":"Patient"}\n'))
    assert _lines(token=None) == [Line(1, b'{"resourceType":"Patient"}')]
    assert "authorization" not in seen[0].headers
    assert seen[0].headers["accept"] == bulk.NDJSON


def test_a_file_elsewhere_is_never_requested_even_without_a_token(serve: Serve) -> None:
    """No request forgery on a manifest's word: another origin is refused, token or not."""
    seen = serve(lambda _: httpx.Response(200, content=b"{}\n"))
    with pytest.raises(bulk_client.ForeignUrl):
        _lines("https://storage.example/f.ndjson", token=None)
    assert seen == []


def test_a_file_with_a_token_on_the_origin_carries_it(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(200, content=b"a\nb"))
    assert _lines(token=TOKEN) == [Line(1, b"a"), Line(2, b"b")]
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_status_without_a_token_sends_no_authorization_header(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(202, headers={"X-Progress": "half"}))
    answer = bulk_client.status(STATUS, ISS, None)
    assert (answer.kind, answer.progress) == (bulk.StatusKind.IN_PROGRESS, "half")
    assert "authorization" not in seen[0].headers


# --- classify -------------------------------------------------------------------------------


def _response(status: int, body: bytes = b"", retry_after: str | None = None) -> httpx.Response:
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return httpx.Response(status, headers=headers, content=body)


OUTCOME = json.dumps(
    {"resourceType": "OperationOutcome", "issue": [{"diagnostics": "type Foo unknown"}]}
).encode()


def test_401_is_unauthorized_and_transient() -> None:
    error = classify(_response(401), "kick-off")
    assert type(error) is Unauthorized
    assert (error.code, error.transient, error.detail) == (
        "unauthorized",
        True,
        "kick-off answered 401",
    )


def test_429_is_throttled_with_its_retry_after() -> None:
    error = classify(_response(429, retry_after="30"), "status")
    assert type(error) is Throttled
    assert (error.transient, error.retry_after_s) == (True, 30.0)


def test_429_with_an_http_date_is_seconds_from_the_apps_clock() -> None:
    with use_clock(ManualClock(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))):
        error = classify(_response(429, retry_after="Wed, 01 May 2024 12:00:45 GMT"), "x")
    assert error.retry_after_s == 45.0


def test_retry_after_is_capped() -> None:
    error = classify(_response(503, retry_after="999999"), "status")
    assert error.retry_after_s == bulk_client.RETRY_AFTER_CAP_S


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_ehr_transient(status: int) -> None:
    error = classify(_response(status, OUTCOME), "status")
    assert type(error) is EhrTransient
    assert error.transient is True
    assert error.retry_after_s is None
    assert error.detail == f"status answered {status}: type Foo unknown"


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_other_4xx_is_export_refused_with_the_operation_outcomes_words(status: int) -> None:
    error = classify(_response(status, OUTCOME), "kick-off")
    assert type(error) is ExportRefused
    assert error.transient is False
    assert error.detail == f"kick-off answered {status}: type Foo unknown"


def test_a_refusal_without_an_operation_outcome_has_just_the_status() -> None:
    assert classify(_response(400, b"<html>no</html>"), "kick-off").detail == (
        "kick-off answered 400"
    )


# --- kick-off -------------------------------------------------------------------------------


def test_kick_off_sends_the_async_headers_and_the_token(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(202, headers={"Content-Location": STATUS}))
    assert bulk_client.kick_off(KICKOFF, ISS, TOKEN) == STATUS
    assert seen[0].headers["prefer"] == "respond-async"
    assert seen[0].headers["accept"] == "application/fhir+json"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("location", [None, "", "   "])
def test_a_202_without_content_location_is_refused(serve: Serve, location: str | None) -> None:
    headers = {} if location is None else {"Content-Location": location}
    serve(lambda _: httpx.Response(202, headers=headers))
    with pytest.raises(ExportRefused, match="without Content-Location"):
        bulk_client.kick_off(KICKOFF, ISS, TOKEN)


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/bulkstatus/job-9", "https://ehr.example/bulkstatus/job-9"),
        ("status/job-9", "https://ehr.example/fhir/Patient/status/job-9"),
    ],
)
def test_a_relative_content_location_is_resolved_against_the_kick_off_url(
    serve: Serve, location: str, expected: str
) -> None:
    serve(lambda _: httpx.Response(202, headers={"Content-Location": location}))
    assert bulk_client.kick_off(KICKOFF, ISS, TOKEN) == expected


@pytest.mark.parametrize(
    "location",
    [
        "https://evil.example/bulkstatus/job-1",
        "//evil.example/bulkstatus/job-1",
        "https://ehr.example:8443/bulkstatus/job-1",
        "http://ehr.example/bulkstatus/job-1",
    ],
)
def test_a_content_location_on_another_origin_is_refused(serve: Serve, location: str) -> None:
    seen = serve(lambda _: httpx.Response(202, headers={"Content-Location": location}))
    with pytest.raises(ForeignUrl, match="status URL"):
        bulk_client.kick_off(KICKOFF, ISS, TOKEN)
    assert len(seen) == 1  # the kick-off only; the foreign status URL was never asked


def test_a_kick_off_url_on_another_origin_is_never_sent(serve: Serve) -> None:
    seen = serve(lambda _: httpx.Response(202, headers={"Content-Location": STATUS}))
    with pytest.raises(ForeignUrl, match="kick-off URL"):
        bulk_client.kick_off("https://evil.example/fhir/$export", ISS, TOKEN)
    assert seen == []


@pytest.mark.parametrize("status", [404, 405, 501])
def test_no_export_operation_is_export_unsupported(serve: Serve, status: int) -> None:
    serve(lambda _: httpx.Response(status, content=OUTCOME))
    with pytest.raises(ExportUnsupported) as raised:
        bulk_client.kick_off(KICKOFF, ISS, TOKEN)
    assert raised.value.detail == f"kick-off answered {status}: type Foo unknown"


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, Unauthorized), (429, Throttled), (503, EhrTransient), (400, ExportRefused)],
)
def test_other_kick_off_failures_are_classified(
    serve: Serve, status: int, error: type[Exception]
) -> None:
    serve(lambda _: httpx.Response(status))
    with pytest.raises(error):
        bulk_client.kick_off(KICKOFF, ISS, TOKEN)


def test_a_kick_off_the_transport_cannot_reach_is_ehr_transient(serve: Serve) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    serve(refuse)
    with pytest.raises(EhrTransient, match="ConnectError"):
        bulk_client.kick_off(KICKOFF, ISS, TOKEN)


# --- status and file bodies -----------------------------------------------------------------


def test_status_401_is_unauthorized(serve: Serve) -> None:
    serve(lambda _: httpx.Response(401))
    with pytest.raises(Unauthorized):
        bulk_client.status(STATUS, ISS, TOKEN)


def test_status_too_large_is_ehr_transient(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_client, "STATUS_MAX_BYTES", 10)
    serve(lambda _: httpx.Response(200, content=b"x" * 100))
    with pytest.raises(EhrTransient, match="ResponseTooLarge"):
        bulk_client.status(STATUS, ISS, TOKEN)


@pytest.mark.parametrize("status", [403, 404, 500])
def test_a_file_download_that_fails_is_classified(serve: Serve, status: int) -> None:
    serve(lambda _: httpx.Response(status, content=OUTCOME))
    with pytest.raises(bulk_client.ExtractionError) as raised:
        _lines()
    assert raised.value.detail == f"file download answered {status}: type Foo unknown"
    assert raised.value.transient is (status >= 500)


class _CutShort(httpx.SyncByteStream):
    """What httpx's own transport raises when the peer closes before Content-Length."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"resourceType":"Patient","id":"1"}\n{"resourceTy'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def test_a_file_cut_short_is_ehr_transient_after_the_whole_lines_before_it(serve: Serve) -> None:
    serve(lambda _: httpx.Response(200, headers={"Content-Length": "1000"}, stream=_CutShort()))
    got: list[Line] = []
    with pytest.raises(EhrTransient, match="RemoteProtocolError"):
        _drain(bulk_client.lines(FILE, ISS, TOKEN, max_line_bytes=1000, read_timeout_s=5.0), got)
    assert got == [Line(1, b'{"resourceType":"Patient","id":"1"}')]  # the partial one is not


def test_a_status_body_cut_short_is_ehr_transient(serve: Serve) -> None:
    serve(lambda _: httpx.Response(200, headers={"Content-Length": "1000"}, stream=_CutShort()))
    with pytest.raises(EhrTransient, match="RemoteProtocolError"):
        bulk_client.status(STATUS, ISS, TOKEN)


def test_a_real_body_short_of_its_content_length_is_ehr_transient() -> None:
    """Over loopback: the real transport, not a mock, notices the missing bytes."""
    body = b'{"resourceType":"Patient"}\n{"resourceType":"Pat'
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer_short() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body) + 500}\r\n\r\n"
            conn.sendall(head.encode() + body)

    thread = threading.Thread(target=answer_short, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{port}"
    outbound.reset()
    got: list[Line] = []
    try:
        with pytest.raises(EhrTransient, match="RemoteProtocolError"):
            _drain(
                bulk_client.lines(
                    f"{origin}/f.ndjson", origin, TOKEN, max_line_bytes=1000, read_timeout_s=5.0
                ),
                got,
            )
    finally:
        outbound.reset()
        thread.join(5)
        server.close()
    assert got == [Line(1, b'{"resourceType":"Patient"}')]
