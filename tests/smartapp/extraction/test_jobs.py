"""Starting jobs: what is refused before anything is written, and where an incremental
run starts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from smart import bulk
from smartapp.extraction import dispatch, jobs
from smartapp.extraction.records import ExtractionJob
from smartapp.registry import register_connection

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_incremental_run_starts_at_the_last_finished_runs_transaction_time(
    backend_connection: Any,
) -> None:
    connection = backend_connection()
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    ExtractionJob.objects.create(connection=connection, state="done", transaction_time=moment)
    later_failed = datetime(2026, 4, 1, tzinfo=UTC)
    ExtractionJob.objects.create(
        connection=connection, state="failed", transaction_time=later_failed
    )
    ExtractionJob.objects.create(
        connection=connection,
        state="done",
        level="group",
        group_id="g",
        transaction_time=later_failed,
    )
    with dispatch.inline():
        job = jobs.start(connection)
    assert (job.full, job.since) == (False, moment)
    with dispatch.inline():
        first_ever = jobs.start(backend_connection(slug="other", latency_ms=0))
    assert first_ever.full
    assert first_ever.since is None


def test_a_full_run_ignores_earlier_runs(backend_connection: Any) -> None:
    connection = backend_connection()
    ExtractionJob.objects.create(
        connection=connection, state="done", transaction_time=datetime(2026, 3, 1, tzinfo=UTC)
    )
    with dispatch.inline():
        job = jobs.start(connection, full=True)
    assert job.full
    assert job.since is None


def test_patient_and_group_levels_leave_out_types_outside_the_compartment(
    backend_connection: Any,
) -> None:
    connection = backend_connection()
    with dispatch.inline():
        system = jobs.start(connection, full=True)
        jobs.cancel(str(system.pk))  # one job at a time per connection
        group = jobs.start(connection, level=bulk.ExportLevel.GROUP, group_id="g1")
    assert "Medication" in system.types
    assert "Medication" not in group.types
    assert "Observation" in group.types


@pytest.mark.parametrize(
    ("change", "start", "words"),
    [
        ({"enabled": False}, {}, "disabled"),
        ({"backend_client_id": ""}, {}, "no backend services"),
        ({}, {"level": bulk.ExportLevel.GROUP}, "--group"),
        ({}, {"level": bulk.ExportLevel.GROUP, "group_id": "../x"}, "--group"),
        ({}, {"types": ["Observation", "Binary"]}, "Binary"),
    ],
)
def test_a_job_that_cannot_run_is_refused_before_anything_is_written(
    backend_connection: Any, change: dict[str, Any], start: dict[str, Any], words: str
) -> None:
    connection = backend_connection()
    for name, value in change.items():
        setattr(connection, name, value)
    connection.save()
    with dispatch.inline(), pytest.raises(jobs.JobRefused, match=words):
        jobs.start(connection, **start)
    assert not ExtractionJob.objects.exists()


def test_a_connection_registered_without_backend_services_cannot_extract(sandbox: Any) -> None:
    connection = register_connection(
        slug="launch-only",
        name="Launch only",
        iss=sandbox.base(),
        client_id="x",
        client_auth="none",
    )
    with pytest.raises(jobs.JobRefused, match="no backend services"):
        jobs.start(connection)
