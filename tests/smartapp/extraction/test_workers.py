"""Extraction on real Celery workers (separate processes on the test database and Redis),
against the live sandbox: any worker takes any file, and a worker killed mid-file loses and
duplicates nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fhir_store import get_store
from smartapp.extraction import files, jobs
from smartapp.extraction.records import ExtractionFile
from smartapp.warehouse import models as warehouse
from tests.fixtures.extraction import (
    Workers,
    finished,
    present_counts,
    sandbox_counts,
    wait_for,
    warehouse_rows,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_two_workers_run_a_full_export_then_a_rerun_then_an_incremental_one(
    backend_connection: Any, workers: Workers
) -> None:
    workers.start("one")
    workers.start("two")
    connection = backend_connection(export_file_lines=200)
    job = finished(jobs.start(connection, full=True))
    assert job.state == "done", (job.error_code, job.error_detail)
    assert present_counts() == sandbox_counts()
    assert job.resources_loaded == sum(sandbox_counts().values())
    taken_by = set(job.files.values_list("worker", flat=True))
    assert len(taken_by) == 2, "both workers took files"

    before = warehouse_rows()
    again = finished(jobs.start(connection, full=True))
    assert again.state == "done"
    assert warehouse_rows() == before

    store = get_store()
    patient = store.search("Patient", [])[0]
    original = dict(patient)
    store.update({**patient, "gender": "unknown"})
    try:
        third = finished(jobs.start(connection))
    finally:
        store.remove("Patient", patient["id"])
        store.put(original)
    assert third.state == "done"
    assert not third.full
    assert third.resources_loaded == 1
    assert warehouse.Patient.objects.get(resource_id=patient["id"]).gender == "unknown"


def test_a_worker_killed_mid_file_loses_and_duplicates_nothing(
    backend_connection: Any, workers: Workers
) -> None:
    first = workers.start("doomed")
    connection = backend_connection(export_file_lines=400, export_drip_ms=150)
    job = jobs.start(connection, full=True, types=["Observation"])

    def mid_file() -> bool:
        return ExtractionFile.objects.filter(job=job, state="loading", lines_read__gt=0).exists()

    wait_for(mid_file, 60, "a file half loaded")
    victim = ExtractionFile.objects.get(job=job, state="loading")
    workers.kill(first)
    loaded_before = warehouse.Observation.objects.count()
    assert 0 < loaded_before < sandbox_counts()["Observation"]

    workers.start("rescuer")
    # The dead worker's lease runs out; the supervisor (beat, every minute) hands it over.
    wait_for(lambda: files.supervise()["files"] > 0, 60, "the lease to run out")
    job = finished(job)
    assert job.state == "done", (job.error_code, job.error_detail)
    victim.refresh_from_db()
    assert victim.state == "done"
    assert victim.attempts == 2
    assert victim.worker.split(":")[1] != str(first.pid)
    expected = sandbox_counts()["Observation"]
    assert warehouse.Observation.objects.count() == expected
    assert job.resources_loaded == expected  # the half-read attempt is not counted
