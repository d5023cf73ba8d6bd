"""Whole extractions over real HTTP to the sandbox, the job's steps run in this process.

(tests/smartapp/extraction/test_workers.py runs the same through Celery workers.)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from sandbox import bulk_jobs
from sandbox.fhir_store import get_store
from sandbox.models import Token
from smart import bulk
from smartapp.extraction import dispatch, jobs
from smartapp.extraction.records import ExtractionFile, ExtractionJob, ExtractionProblem
from smartapp.warehouse import models as warehouse
from tests.fixtures.extraction import present_counts, run, sandbox_counts, warehouse_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store_changes() -> Iterator[list[tuple[str, str, dict[str, Any] | None]]]:
    """Changes a test makes to the sandbox's data, undone afterwards:
    (type, id, the original or None for a resource the test added)."""
    undo: list[tuple[str, str, dict[str, Any] | None]] = []
    yield undo
    store = get_store()
    for rtype, rid, original in reversed(undo):
        store.remove(rtype, rid)
        if original is not None:
            store.put(original)


def _change(undo: list[Any], rtype: str, rid: str, **fields: Any) -> dict[str, Any]:
    store = get_store()
    original = store.get(rtype, rid)
    assert original is not None
    undo.append((rtype, rid, copy.deepcopy(original)))
    return store.update({**copy.deepcopy(original), **fields})


def _loaded_then_removed_at_source(connection: Any, undo: list[Any]) -> dict[str, Any]:
    """A full run, then an allergy the sandbox no longer has (put back after the test)."""
    run(connection, full=True)
    gone = _an("AllergyIntolerance")
    get_store().remove("AllergyIntolerance", gone["id"])
    undo.append(("AllergyIntolerance", gone["id"], gone))
    return gone


def _an(rtype: str) -> dict[str, Any]:
    return get_store().search(rtype, [])[0]


def test_a_full_export_loads_every_resource_with_its_provenance(
    backend_connection: Any, sandbox: Any
) -> None:
    connection = backend_connection()
    job = run(connection, full=True)
    assert job.state == "done", (job.error_code, job.error_detail)
    assert (job.method, job.full, job.level) == ("bulk", True, "system")
    assert present_counts() == sandbox_counts()
    assert job.resources_loaded == sum(sandbox_counts().values())
    assert job.server_job_deleted
    assert set(job.files.values_list("state", flat=True)) == {"done"}
    row = warehouse.Observation.objects.filter(connection_id=connection.pk).first()
    assert row is not None
    assert row.job_id == job.pk
    assert row.source_url.startswith(sandbox.url)
    assert "/bulk/files/" in row.source_url
    assert "system/" in row.granted_scope
    assert row.granted_scope == job.granted_scope
    # Every file went with the token (requiresAccessToken) and nothing else saw it.
    downloads = sandbox.stats().get(bulk_jobs.EXPORT_FILES, {})
    assert downloads
    assert all(key.endswith(" auth") for key in downloads)
    tokens = list(Token.objects.values_list("access_token", flat=True))
    stored = repr(list(ExtractionJob.objects.values())) + repr(
        list(ExtractionFile.objects.values())
    )
    assert tokens
    assert not any(token in stored for token in tokens)


def test_a_second_full_run_changes_nothing(backend_connection: Any) -> None:
    connection = backend_connection()
    assert run(connection, full=True).state == "done"
    before = warehouse_rows()
    again = run(connection, full=True)
    assert again.state == "done"
    assert again.deleted_at_source == 0
    assert warehouse_rows() == before  # not a column, not the provenance, not updated_at


def test_an_incremental_run_picks_up_only_what_changed(
    backend_connection: Any, store_changes: list[Any]
) -> None:
    connection = backend_connection()
    first = run(connection, full=True)
    observation = _an("Observation")
    changed = _change(store_changes, "Observation", observation["id"], status="amended")
    added = {
        "resourceType": "Condition",
        "id": "incremental-new",
        "subject": {"reference": f"Patient/{_an('Patient')['id']}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
        "meta": {"versionId": "1", "lastUpdated": changed["meta"]["lastUpdated"]},
    }
    get_store().put(added)
    store_changes.append(("Condition", "incremental-new", None))

    second = run(connection)
    assert second.state == "done", (second.error_code, second.error_detail)
    assert not second.full
    assert second.since == first.transaction_time
    assert second.resources_loaded == 2
    row = warehouse.Observation.objects.get(resource_id=observation["id"])
    assert (row.status, row.version_id, row.job_id) == ("amended", "2", second.pk)
    assert warehouse.Condition.objects.filter(resource_id="incremental-new").exists()
    # An incremental run never marks anything deleted: it saw only what changed.
    assert warehouse.Patient.objects.exclude(deleted_at_source=None).count() == 0


def test_a_full_run_marks_what_the_source_no_longer_has_and_revives_it(
    backend_connection: Any, store_changes: list[Any]
) -> None:
    connection = backend_connection()
    gone = _loaded_then_removed_at_source(connection, store_changes)

    second = run(connection, full=True)
    assert second.deleted_at_source == 1
    row = warehouse.AllergyIntolerance.objects.get(resource_id=gone["id"])
    assert row.deleted_at_source is not None
    get_store().put(gone)
    run(connection, full=True)
    row.refresh_from_db()
    assert row.deleted_at_source is None


def test_a_group_export_loads_its_members_only(backend_connection: Any) -> None:
    job = run(backend_connection(), level=bulk.ExportLevel.GROUP, group_id="cohort-a")
    assert job.state == "done", (job.error_code, job.error_detail)
    patients = set(warehouse.Patient.objects.values_list("resource_id", flat=True))
    assert patients
    assert len(patients) < sandbox_counts()["Patient"]
    others = warehouse.Observation.objects.exclude(patient_id__in=patients)
    assert not others.exists()
    assert job.deleted_at_source == 0
    assert job.resources_refused == 0


def test_a_throttled_kick_off_is_sent_again_after_retry_after(backend_connection: Any) -> None:
    job = run(backend_connection(export_kickoff_429=2), full=True)
    assert job.state == "done"
    assert job.kickoff_attempts == 3


def test_status_errors_are_retried(backend_connection: Any) -> None:
    job = run(backend_connection(export_status_5xx=2, export_polls=2), full=True)
    assert job.state == "done"
    assert job.poll_failures == 2
    assert job.polls >= 5


def test_an_expired_job_fails_with_its_reason(backend_connection: Any) -> None:
    job = run(backend_connection(export_expired=True), full=True)
    assert (job.state, job.error_code) == ("failed", "export_expired")
    assert not warehouse.Patient.objects.exists()


def test_a_file_cut_mid_stream_is_read_again_and_counted_once(backend_connection: Any) -> None:
    job = run(backend_connection(export_file_cut=1, export_file_lines=500), full=True)
    assert job.state == "done", (job.error_code, job.error_detail)
    assert set(job.files.values_list("attempts", flat=True)) == {2}
    assert job.resources_loaded == sum(sandbox_counts().values())
    assert present_counts() == sandbox_counts()


def test_malformed_lines_are_recorded_with_file_and_line_and_skipped(
    backend_connection: Any,
) -> None:
    job = run(backend_connection(export_malformed_line=True), full=True)
    assert job.state == "done"
    problems = list(ExtractionProblem.objects.filter(job=job).select_related("file"))
    assert problems
    assert {(p.kind, p.line) for p in problems} == {("malformed", 2)}
    assert job.lines_malformed == len(problems)
    assert job.resources_loaded == sum(sandbox_counts().values()) - len(problems)


def test_files_on_another_origin_never_get_the_token(backend_connection: Any) -> None:
    job = run(backend_connection(export_file_origin="http://127.0.0.2:9"), full=True)
    assert (job.state, job.error_code) == ("failed", "files_failed")
    errors = set(job.files.values_list("error", flat=True))
    assert errors
    assert all(error.startswith("foreign_url") for error in errors)
    assert not warehouse.Patient.objects.exists()


def test_files_that_need_no_token_are_fetched_without_one(
    backend_connection: Any, sandbox: Any
) -> None:
    job = run(backend_connection(export_requires_token=False), full=True)
    assert job.state == "done"
    assert not job.requires_token
    downloads = sandbox.stats()[bulk_jobs.EXPORT_FILES]
    assert downloads
    assert all(key.endswith(" noauth") for key in downloads)


def test_a_server_without_export_is_read_with_searches(
    backend_connection: Any, store_changes: list[Any]
) -> None:
    connection = backend_connection(export="unsupported")
    job = run(connection, full=True)
    assert (job.state, job.method) == ("done", "search"), (job.error_code, job.error_detail)
    assert present_counts() == sandbox_counts()
    _change(store_changes, "Encounter", _an("Encounter")["id"], status="cancelled")
    second = run(connection)
    assert (second.state, second.method, second.resources_loaded) == ("done", "search", 1)


def test_a_smart_v1_server_gets_v1_system_scopes(backend_connection: Any) -> None:
    job = run(backend_connection(smart="v1"), full=True)
    assert job.state == "done", (job.error_code, job.error_detail)
    assert "system/Patient.read" in job.granted_scope


def test_a_cancelled_job_stops_and_is_deleted_at_the_server(
    backend_connection: Any, sandbox: Any
) -> None:
    connection = backend_connection(export_polls=3)
    with dispatch.inline():
        job = jobs.start(connection, full=True)
        dispatch.drain(until=lambda: ExtractionJob.objects.get(pk=job.pk).state == "polling")
        assert jobs.cancel(str(job.pk))
        dispatch.drain(max_wait_s=0.05)
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert job.server_job_deleted
    assert sandbox.stats()[bulk_jobs.EXPORT_DELETES]
    assert not jobs.cancel(str(job.pk))  # a finished job stays as it ended


def test_a_full_run_with_skipped_lines_marks_nothing_deleted_for_that_type(
    backend_connection: Any, store_changes: list[Any], sandbox: Any
) -> None:
    connection = backend_connection()
    gone = _loaded_then_removed_at_source(connection, store_changes)
    connection.iss = sandbox.base(export_malformed_line=True)  # the same EHR, now flaky
    connection.save()

    job = run(connection, full=True)
    assert job.state == "done"
    assert job.unreconciled["AllergyIntolerance"] == "lines were skipped"
    row = warehouse.AllergyIntolerance.objects.get(resource_id=gone["id"])
    assert row.deleted_at_source is None  # a skipped line may have been this resource
    shown = StringIO()
    call_command("extract_status", "--job", str(job.pk), stdout=shown)
    assert "AllergyIntolerance: lines were skipped" in shown.getvalue()


def test_one_job_at_a_time_per_connection(backend_connection: Any) -> None:
    connection = backend_connection()
    with dispatch.inline():
        first = jobs.start(connection, full=True)
        with pytest.raises(jobs.JobRefused, match=str(first.pk)):
            jobs.start(connection)
        dispatch.drain(max_wait_s=0.05)
    with dispatch.inline():
        jobs.start(connection)  # the first one is done: a new one may start


def test_a_status_check_that_keeps_failing_in_unexpected_ways_ends_the_job(
    backend_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartapp.extraction import bulk_client

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug, say")

    monkeypatch.setattr(bulk_client, "status", broken)
    job = run(backend_connection(), full=True)
    assert (job.state, job.error_code) == ("failed", "export_failed")
    assert job.error_detail == "status: RuntimeError"
    assert job.poll_failures == jobs.STATUS_FAILURES - 1


def test_an_unknown_group_is_said_to_be_one(backend_connection: Any) -> None:
    job = run(backend_connection(), level=bulk.ExportLevel.GROUP, group_id="no-such-group")
    assert (job.state, job.error_code) == ("failed", "group_not_found")
