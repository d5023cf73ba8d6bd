"""FHIR Bulk Data Access IG v2 (export.html), the pure client side (smart.bulk): no I/O."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smart.bulk import (
    CANONICAL_TYPES,
    NDJSON,
    PROGRESS_LIMIT,
    ExportLevel,
    MalformedLine,
    Manifest,
    ManifestInvalid,
    OutputFile,
    StatusKind,
    default_types,
    kickoff_url,
    outcome_text,
    parse_line,
    read_status,
    retry_after_s,
)

BASE = "https://ehr.example/fhir"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


# --- kick-off -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "group_id", "path"),
    [
        (ExportLevel.SYSTEM, None, "/fhir/$export"),
        (ExportLevel.PATIENT, None, "/fhir/Patient/$export"),
        (ExportLevel.GROUP, "cohort-7", "/fhir/Group/cohort-7/$export"),
    ],
)
def test_kickoff_url_has_the_levels_path_and_asks_for_ndjson(
    level: ExportLevel, group_id: str | None, path: str
) -> None:
    url = kickoff_url(BASE, level, group_id=group_id)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "ehr.example", path)
    assert _query(url) == {"_outputFormat": [NDJSON]}


def test_kickoff_url_ignores_a_trailing_slash_on_the_base() -> None:
    assert kickoff_url(BASE + "/", ExportLevel.PATIENT) == kickoff_url(BASE, ExportLevel.PATIENT)


def test_type_is_one_comma_separated_parameter_percent_encoded() -> None:
    url = kickoff_url(BASE, ExportLevel.SYSTEM, types=("Patient", "Observation"))
    assert "_type=Patient%2CObservation" in url
    assert _query(url)["_type"] == ["Patient,Observation"]


def test_no_types_means_no_type_parameter() -> None:
    assert "_type" not in _query(kickoff_url(BASE, ExportLevel.SYSTEM, types=()))


def test_since_is_a_utc_instant_with_milliseconds_and_z() -> None:
    eastern = timezone(timedelta(hours=-5))
    since = datetime(2024, 3, 9, 19, 30, 5, 123456, tzinfo=eastern)
    url = kickoff_url(BASE, ExportLevel.PATIENT, since=since)
    assert _query(url)["_since"] == ["2024-03-10T00:30:05.123Z"]


def test_since_on_the_second_still_carries_milliseconds() -> None:
    url = kickoff_url(BASE, ExportLevel.SYSTEM, since=datetime(2024, 1, 1, tzinfo=UTC))
    assert _query(url)["_since"] == ["2024-01-01T00:00:00.000Z"]


def test_a_naive_since_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="time zone"):
        kickoff_url(BASE, ExportLevel.SYSTEM, since=datetime(2024, 1, 1))


@pytest.mark.parametrize("group_id", [None, ""])
def test_a_group_export_without_a_group_id_is_refused(group_id: str | None) -> None:
    with pytest.raises(ValueError, match="group id"):
        kickoff_url(BASE, ExportLevel.GROUP, group_id=group_id)


def test_a_system_export_asks_for_every_canonical_type() -> None:
    assert default_types(ExportLevel.SYSTEM) == CANONICAL_TYPES
    assert "Medication" in default_types(ExportLevel.SYSTEM)


@pytest.mark.parametrize("level", [ExportLevel.PATIENT, ExportLevel.GROUP])
def test_compartment_exports_leave_out_types_outside_the_patient_compartment(
    level: ExportLevel,
) -> None:
    types = default_types(level)
    assert "Medication" not in types
    assert set(types) == set(CANONICAL_TYPES) - {"Medication"}
    assert list(types) == [t for t in CANONICAL_TYPES if t != "Medication"]  # order kept


# --- Retry-After (RFC 9110 10.2.3) ---------------------------------------------------------


def _retry(value: str | None, *, default: float = 7.0, cap: float = 120.0) -> float:
    return retry_after_s(value, now=NOW, default=default, cap=cap)


def test_delay_seconds_are_taken_as_given() -> None:
    assert _retry("30") == 30.0
    assert _retry("  0 ") == 0.0


def test_delay_seconds_are_capped() -> None:
    assert _retry("3600", cap=120.0) == 120.0


def test_an_http_date_in_the_future_is_the_seconds_until_it() -> None:
    assert _retry("Wed, 01 May 2024 12:01:30 GMT") == 90.0


def test_an_http_date_in_the_future_is_capped() -> None:
    assert _retry("Thu, 02 May 2024 12:00:00 GMT", cap=120.0) == 120.0


def test_an_http_date_in_the_past_means_now() -> None:
    assert _retry("Tue, 30 Apr 2024 12:00:00 GMT") == 0.0


@pytest.mark.parametrize("value", [None, "", "   "])
def test_an_absent_retry_after_is_the_default(value: str | None) -> None:
    assert _retry(value, default=7.0) == 7.0


def test_the_default_is_capped_too() -> None:
    assert _retry(None, default=500.0, cap=60.0) == 60.0


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "30s", "Mon, 99 Foo 2024", "0x10"])
def test_an_unreadable_retry_after_is_the_default(value: str) -> None:
    assert _retry(value, default=7.0) == 7.0


def test_a_non_ascii_digit_is_unreadable_not_a_crash() -> None:
    assert _retry("\u00b2", default=7.0) == 7.0


def test_an_http_date_with_an_absurd_offset_is_unreadable_not_a_crash() -> None:
    assert _retry("Wed, 01 May 2024 12:00:00 +99999999999999999999", default=7.0) == 7.0


_HTTP_DATES = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: format_datetime(moment, usegmt=True))


@given(
    st.one_of(
        st.none(),
        st.from_regex(r"\A[0-9]{1,400}\Z"),
        _HTTP_DATES,
        st.text(alphabet=st.characters(codec="ascii"), max_size=60),
    )
)
def test_retry_after_stays_within_zero_and_the_cap(value: str | None) -> None:
    assert 0.0 <= _retry(value, default=7.0, cap=120.0) <= 120.0


@example("\u00b2")
@given(st.text())
def test_retry_after_never_raises_on_any_header_text(value: str) -> None:
    assert 0.0 <= _retry(value, default=7.0, cap=120.0) <= 120.0


# --- the manifest ---------------------------------------------------------------------------


def _manifest(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transactionTime": "2024-05-01T11:59:00.000Z",
        "request": f"{BASE}/Patient/$export?_type=Patient",
        "requiresAccessToken": True,
        "output": [
            {"type": "Patient", "url": "https://ehr.example/files/p1.ndjson", "count": 12},
            {"type": "Observation", "url": "https://ehr.example/files/o1.ndjson"},
        ],
        "error": [
            {"type": "OperationOutcome", "url": "https://ehr.example/files/err.ndjson"},
        ],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def test_a_valid_manifest_is_parsed_once_into_typed_values() -> None:
    manifest = Manifest.parse(_manifest())
    assert manifest.transaction_time == datetime(2024, 5, 1, 11, 59, tzinfo=UTC)
    assert manifest.request == f"{BASE}/Patient/$export?_type=Patient"
    assert manifest.requires_access_token is True
    assert manifest.output == (
        OutputFile("Patient", "https://ehr.example/files/p1.ndjson", 12),
        OutputFile("Observation", "https://ehr.example/files/o1.ndjson", None),
    )
    assert manifest.error == (
        OutputFile("OperationOutcome", "https://ehr.example/files/err.ndjson"),
    )


def test_an_empty_output_and_no_error_list_are_a_valid_manifest() -> None:
    manifest = Manifest.parse(_manifest(output=[], error=...))
    assert manifest.output == ()
    assert manifest.error == ()


def test_a_missing_request_is_kept_as_empty() -> None:
    assert Manifest.parse(_manifest(request=...)).request == ""


@pytest.mark.parametrize("body", [[], "manifest", None, 3])
def test_a_manifest_that_is_not_an_object_is_invalid(body: Any) -> None:
    with pytest.raises(ManifestInvalid, match="not a JSON object"):
        Manifest.parse(body)


@pytest.mark.parametrize(
    "moment", [..., None, 1714564740, "yesterday", "2024-05-01", "2024-05-01T11:59:00"]
)
def test_a_missing_or_invalid_or_zoneless_transaction_time_is_invalid(moment: Any) -> None:
    with pytest.raises(ManifestInvalid, match="transactionTime"):
        Manifest.parse(_manifest(transactionTime=moment))


@pytest.mark.parametrize("requires", [..., "true", 1, 0, None])
def test_requires_access_token_must_be_a_json_boolean(requires: Any) -> None:
    with pytest.raises(ManifestInvalid, match="requiresAccessToken"):
        Manifest.parse(_manifest(requiresAccessToken=requires))


def test_requires_access_token_false_is_kept() -> None:
    assert Manifest.parse(_manifest(requiresAccessToken=False)).requires_access_token is False


@pytest.mark.parametrize("field", ["output", "error"])
@pytest.mark.parametrize("value", [{"type": "Patient"}, "files", None])
def test_output_and_error_must_be_lists(field: str, value: Any) -> None:
    with pytest.raises(ManifestInvalid, match=f"{field} must be a list"):
        Manifest.parse(_manifest(**{field: value}))


def test_a_missing_output_is_invalid() -> None:
    with pytest.raises(ManifestInvalid, match="output must be a list"):
        Manifest.parse(_manifest(output=...))


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("https://ehr.example/files/p1.ndjson", "not an object"),
        ({"url": "https://ehr.example/files/p1.ndjson"}, "no resource type"),
        ({"type": "", "url": "https://ehr.example/f"}, "no resource type"),
        ({"type": "Patient/1", "url": "https://ehr.example/f"}, "no resource type"),
        ({"type": 7, "url": "https://ehr.example/f"}, "no resource type"),
        ({"type": "Patient"}, "url"),
        ({"type": "Patient", "url": 42}, "url"),
    ],
)
def test_an_entry_without_a_type_or_url_makes_the_manifest_invalid(entry: Any, why: str) -> None:
    with pytest.raises(ManifestInvalid, match=why):
        Manifest.parse(_manifest(output=[entry]))


@pytest.mark.parametrize(
    "url",
    [
        "/files/p1.ndjson",  # relative
        "files/p1.ndjson",
        "//ehr.example/files/p1.ndjson",  # scheme-relative
        "ftp://ehr.example/files/p1.ndjson",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https:///files/p1.ndjson",  # no host
        "https://user:pw@ehr.example/files/p1.ndjson",  # userinfo
        "https://user@ehr.example/files/p1.ndjson",
    ],
)
@pytest.mark.parametrize("field", ["output", "error"])
def test_a_file_url_that_is_not_absolute_http_without_userinfo_is_refused(
    field: str, url: str
) -> None:
    with pytest.raises(ManifestInvalid, match="absolute http"):
        Manifest.parse(_manifest(**{field: [{"type": "Patient", "url": url}]}))


@pytest.mark.parametrize(
    "url", ["https://:secret@ehr.example/files/p1.ndjson", "https://@ehr.example/f"]
)
def test_userinfo_with_an_empty_user_name_is_refused_too(url: str) -> None:
    with pytest.raises(ManifestInvalid):
        Manifest.parse(_manifest(output=[{"type": "Patient", "url": url}]))


@pytest.mark.parametrize("count", [-1, True, False, "12", 1.5, None])
def test_a_negative_boolean_or_non_integer_count_is_ignored(count: Any) -> None:
    manifest = Manifest.parse(
        _manifest(output=[{"type": "Patient", "url": "https://ehr.example/f", "count": count}])
    )
    assert manifest.output[0].count is None


def test_a_zero_count_is_kept() -> None:
    manifest = Manifest.parse(
        _manifest(output=[{"type": "Patient", "url": "https://ehr.example/f", "count": 0}])
    )
    assert manifest.output[0].count == 0


# --- the status endpoint --------------------------------------------------------------------


def _status(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
    return read_status(status, headers or {}, body, now=NOW, cap_s=120.0)


def test_202_is_in_progress_with_the_servers_progress_and_retry_after() -> None:
    answer = _status(202, {"x-progress": "  Exporting 40%  ", "retry-after": "15"})
    assert answer.kind is StatusKind.IN_PROGRESS
    assert answer.progress == "Exporting 40%"
    assert answer.retry_after_s == 15.0
    assert answer.manifest is None


def test_202_progress_is_truncated_to_a_brief_indication() -> None:
    answer = _status(202, {"x-progress": "x" * 5000})
    assert answer.progress == "x" * PROGRESS_LIMIT


def test_202_without_headers_has_no_progress_and_no_retry_after() -> None:
    answer = _status(202)
    assert (answer.kind, answer.progress, answer.retry_after_s) == (
        StatusKind.IN_PROGRESS,
        "",
        None,
    )


def test_202_with_an_unreadable_retry_after_has_none_and_a_date_is_capped() -> None:
    assert _status(202, {"retry-after": "later"}).retry_after_s is None
    assert _status(202, {"retry-after": "Thu, 02 May 2024 12:00:00 GMT"}).retry_after_s == 120.0


def test_200_with_a_manifest_is_complete() -> None:
    answer = _status(200, body=json.dumps(_manifest()).encode())
    assert answer.kind is StatusKind.COMPLETE
    assert answer.status == 200
    assert answer.manifest == Manifest.parse(_manifest())


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>done</html>",
        b"\xff\xfe{}",
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(_manifest(requiresAccessToken="yes")).encode(),
        json.dumps(_manifest(output=[{"type": "Patient", "url": "/rel"}])).encode(),
        json.dumps(_manifest(output=[{"type": "Patient", "url": "http://[::1/f"}])).encode(),
    ],
)
def test_200_with_a_bad_manifest_is_failed_not_a_crash(body: bytes) -> None:
    answer = _status(200, body=body)
    assert answer.kind is StatusKind.FAILED
    assert answer.status == 200
    assert answer.manifest is None
    assert answer.detail
    assert len(answer.detail) <= 200


@pytest.mark.parametrize("code", [404, 410])
def test_404_and_410_are_a_job_gone_not_transient(code: int) -> None:
    answer = _status(code)
    assert (answer.kind, answer.status, answer.gone, answer.transient) == (
        StatusKind.FAILED,
        code,
        True,
        False,
    )


@pytest.mark.parametrize("code", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_transient_with_their_retry_after(code: int) -> None:
    answer = _status(code, {"retry-after": "42"})
    assert (answer.kind, answer.transient, answer.gone) == (StatusKind.FAILED, True, False)
    assert answer.retry_after_s == 42.0


def test_a_transient_failure_without_retry_after_has_none() -> None:
    assert _status(503).retry_after_s is None


def _outcome(*issues: Any) -> bytes:
    return json.dumps({"resourceType": "OperationOutcome", "issue": list(issues)}).encode()


def test_400_is_a_permanent_failure_with_the_operation_outcomes_words() -> None:
    body = _outcome({"severity": "error", "code": "invalid", "diagnostics": "bad  _type\nZap"})
    answer = _status(400, body=body)
    assert (answer.kind, answer.status, answer.transient, answer.gone) == (
        StatusKind.FAILED,
        400,
        False,
        False,
    )
    assert answer.detail == "bad _type Zap"


# --- OperationOutcome text ------------------------------------------------------------------


def test_outcome_text_joins_diagnostics_and_details_text() -> None:
    body = _outcome(
        {"diagnostics": "first"},
        {"details": {"text": "second"}},
        {"diagnostics": "third", "details": {"text": "ignored"}},
        "not an issue",
        {"diagnostics": 5},
        {},
    )
    assert outcome_text(body) == "first; second; third"


def test_outcome_text_is_shortened() -> None:
    assert outcome_text(_outcome({"diagnostics": "w" * 1000}), limit=50) == "w" * 50


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"oops",
        b"\xff",
        b"[" * 100_000,
        json.dumps({"resourceType": "Patient", "issue": [{"diagnostics": "x"}]}).encode(),
        json.dumps([{"diagnostics": "x"}]).encode(),
        json.dumps({"resourceType": "OperationOutcome"}).encode(),
        json.dumps({"resourceType": "OperationOutcome", "issue": None}).encode(),
    ],
)
def test_outcome_text_is_empty_for_anything_but_an_operation_outcome(body: bytes) -> None:
    assert outcome_text(body) == ""


@pytest.mark.parametrize(
    "body",
    [
        _outcome({"details": "text, not an object"}),
        _outcome({"details": ["x"]}),
        json.dumps({"resourceType": "OperationOutcome", "issue": 5}).encode(),
    ],
)
def test_a_malformed_operation_outcome_is_empty_text_not_a_crash(body: bytes) -> None:
    assert outcome_text(body) == ""


# --- NDJSON lines ---------------------------------------------------------------------------


def test_a_line_with_a_resource_is_the_resource() -> None:
    line = b'{"resourceType": "Patient", "id": "p1"}\r\n'
    assert parse_line(line, 3) == {"resourceType": "Patient", "id": "p1"}


@pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n", b"   \t "])
def test_a_blank_line_is_none(raw: bytes) -> None:
    assert parse_line(raw, 1) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"resourceType": "Patient"', "not valid JSON"),
        (b"\xff\xfe\x00{}", "not valid JSON"),
        (b'{"resourceType": "Patient", "name": "\xc3("}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "not valid JSON"),
        (b'[{"resourceType": "Patient"}]', "not a JSON object"),
        (b'"Patient"', "not a JSON object"),
        (b"null", "not a JSON object"),
        (b"{}", "no resourceType"),
        (b'{"resourceType": 5}', "no resourceType"),
        (b'{"id": "p1"}', "no resourceType"),
    ],
)
def test_anything_else_is_a_malformed_line_with_its_number(raw: bytes, reason: str) -> None:
    assert parse_line(raw, 17) == MalformedLine(17, reason)


@given(st.binary(max_size=300))
def test_parse_line_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    result = parse_line(raw, 9)
    assert result is None or isinstance(result, MalformedLine | dict)
    if isinstance(result, MalformedLine):
        assert result.line == 9
    if isinstance(result, dict):
        assert isinstance(result["resourceType"], str)


@given(st.recursive(st.none() | st.integers() | st.text(), lambda inner: st.lists(inner)))
def test_parse_line_never_raises_on_arbitrary_json(value: Any) -> None:
    result = parse_line(json.dumps(value).encode(), 2)
    assert result == MalformedLine(2, "not a JSON object")
