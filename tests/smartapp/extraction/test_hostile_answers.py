"""What a hostile or broken EHR's answers cannot do to a job: a status loop with no wait,
a transactionTime in the future, a line PostgreSQL cannot store, a search whose links loop,
a chunk of enormous lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smart import bulk
from smartapp.clock import clock
from smartapp.extraction import bulk_client, files, jobs, search_files
from smartapp.extraction.records import ExtractionFile, ExtractionJob, ExtractionProblem

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retry_after_of_zero_still_waits_a_second(settings: Any) -> None:
    settings.EXTRACT_POLL_CAP_S = 60
    assert jobs._backoff(0.0, 50) == jobs.MIN_WAIT_S
    assert jobs._backoff(None, 50) == 60
    assert jobs._backoff(7.0, 1) == 7.0


@pytest.fixture
def job(backend_connection: Any) -> ExtractionJob:
    made = ExtractionJob.objects.create(
        connection=backend_connection(), state="polling", started=clock().now()
    )
    made.after = []
    return made


def test_a_transaction_time_in_the_future_is_not_believed(job: ExtractionJob) -> None:
    future = clock().now() + timedelta(days=400)
    manifest = bulk.Manifest(future, "", True, (), ())
    jobs._manifest(job, manifest)
    assert job.transaction_time == job.started


def test_a_transaction_time_a_little_ahead_is_clock_skew(job: ExtractionJob) -> None:
    soon = clock().now() + timedelta(minutes=2)
    jobs._manifest(job, bulk.Manifest(soon, "", True, (), ()))
    assert job.transaction_time == soon


def test_a_line_with_a_nul_character_is_refused_alone(job: ExtractionJob) -> None:
    job.types = ["Patient"]
    file = ExtractionFile.objects.create(job=job, index=0, resource_type="Patient", url="u")
    problems: list[ExtractionProblem] = []
    raw = b'{"resourceType": "Patient", "id": "p1", "name": [{"text": "A\\u0000B"}]}'
    assert files._row(file, job, bulk_client.Line(1, raw), None, problems) is None
    assert [(p.kind, p.line) for p in problems] == [("refused", 1)]
    clean = b'{"resourceType": "Patient", "id": "p2"}'
    assert files._row(file, job, bulk_client.Line(2, clean), None, problems) is not None


def test_a_chunk_of_enormous_lines_is_cut_by_bytes() -> None:
    big = b"x" * (files.CHUNK_BYTES // 2 + 1)
    lines = [bulk_client.Line(n, big) for n in range(1, 6)]
    chunks = list(files._chunks(lines, 500))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]


def test_search_links_that_loop_fail_the_file(
    job: ExtractionJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Patient", "id": "p1"}, "search": "odd"}],
        "link": [{"relation": "next", "url": "https://ehr.example/fhir/Patient?page=2"}],
    }
    monkeypatch.setattr(search_files, "_get", lambda url, job: page)
    file = ExtractionFile(job=job, index=0, resource_type="Patient", url="https://x/fhir/Patient")
    read: list[bulk_client.Line] = []
    with pytest.raises(bulk_client.ExportRefused):
        read.extend(search_files.lines(file, job))
    assert [line.number for line in read] == [1, 2]  # two pages, then the loop is seen


def test_a_group_with_odd_members_keeps_the_well_formed_ones(
    job: ExtractionJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = {
        "resourceType": "Group",
        "member": [
            {"entity": {"reference": "Patient/a"}},
            {"entity": "Patient/b"},
            "c",
            {"entity": {"reference": "Practitioner/d"}},
        ],
    }
    monkeypatch.setattr(search_files, "_get", lambda url, job: group)
    job.group_id = "g"
    assert search_files.group_members(job) == frozenset({"a"})


def test_polling_gives_up_after_a_day(job: ExtractionJob) -> None:
    job.started = datetime.now(UTC) - jobs.MAX_POLLING - timedelta(minutes=1)
    assert jobs._polling_too_long(job)
