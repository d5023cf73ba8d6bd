"""File ownership: one claim at a time, leases that run out, outcomes written once, and the
supervisor that hands stalled files on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from smartapp.clock import clock
from smartapp.extraction import dispatch, files
from smartapp.extraction.files import Tally
from smartapp.extraction.records import ExtractionFile, ExtractionJob
from smartapp.extraction.states import FileState

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def a_file(backend_connection: Any) -> ExtractionFile:
    job = ExtractionJob.objects.create(connection=backend_connection(), state="downloading")
    return ExtractionFile.objects.create(
        job=job, index=0, resource_type="Observation", url="http://127.0.0.1:1/f.ndjson"
    )


def test_a_file_is_claimed_once_while_its_lease_runs(a_file: ExtractionFile) -> None:
    claimed = files._claim(str(a_file.pk))
    assert claimed is not None
    assert (claimed.state, claimed.attempts) == ("loading", 1)
    assert files._claim(str(a_file.pk)) is None


def test_a_file_whose_lease_ran_out_is_claimed_again(a_file: ExtractionFile) -> None:
    first = files._claim(str(a_file.pk))
    assert first is not None
    ExtractionFile.objects.filter(pk=a_file.pk).update(
        lease_until=clock().now() - timedelta(seconds=1)
    )
    second = files._claim(str(a_file.pk))
    assert second is not None
    assert second.attempts == 2
    # The first attempt can no longer write its outcome, nor renew its lease.
    assert not files._settle(first, FileState.DONE, Tally(loaded=5))
    with pytest.raises(files.LeaseLost):
        files._renew(first, Tally())
    assert files._settle(second, FileState.DONE, Tally(loaded=7))
    a_file.refresh_from_db()
    assert (a_file.state, a_file.resources_loaded) == ("done", 7)
    assert ExtractionJob.objects.get(pk=a_file.job_id).resources_loaded == 7


def test_a_cancelled_job_takes_the_lease_away(a_file: ExtractionFile) -> None:
    claimed = files._claim(str(a_file.pk))
    assert claimed is not None
    ExtractionJob.objects.filter(pk=a_file.job_id).update(state="cancelled")
    with pytest.raises(files.LeaseLost):
        files._renew(claimed, Tally())


def test_the_supervisor_hands_on_dead_and_forgotten_files_only(
    a_file: ExtractionFile, settings: Any
) -> None:
    settings.EXTRACT_FILE_LEASE_S = 10
    now = clock().now()
    job = a_file.job
    dead = ExtractionFile.objects.create(
        job=job, index=1, resource_type="Patient", url="u", state="loading",
        lease_until=now - timedelta(seconds=1),
    )  # fmt: skip
    forgotten = ExtractionFile.objects.create(
        job=job, index=2, resource_type="Patient", url="u", queued_at=now - timedelta(minutes=5)
    )
    ExtractionFile.objects.create(
        job=job, index=3, resource_type="Patient", url="u", state="loading",
        lease_until=now + timedelta(seconds=5),
    )  # fmt: skip
    ExtractionFile.objects.filter(pk=a_file.pk).update(queued_at=now)  # queued just now
    with dispatch.inline():
        assert files.supervise()["files"] == 2
        queued = sorted(args[0] for _, _, _, args in dispatch._queue() or [])
        assert queued == sorted([str(dead.pk), str(forgotten.pk)])
        assert files.supervise()["files"] == 1  # the forgotten one was just re-queued


def test_a_file_whose_workers_keep_dying_fails_instead_of_circling(
    a_file: ExtractionFile, settings: Any
) -> None:
    settings.EXTRACT_FILE_ATTEMPTS = 2
    ExtractionFile.objects.filter(pk=a_file.pk).update(
        state="loading", attempts=2, lease_until=clock().now() - timedelta(seconds=1)
    )
    with dispatch.inline():
        assert files.supervise()["files"] == 0
    a_file.refresh_from_db()
    assert a_file.state == "failed"
    job = ExtractionJob.objects.get(pk=a_file.job_id)
    assert (job.state, job.error_code) == ("failed", "files_failed")


def test_an_unexpected_error_fails_the_file_without_quoting_it(
    backend_connection: Any, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    from django.db import DataError

    from smartapp.warehouse import load as warehouse_load
    from tests.fixtures.extraction import run

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise DataError('value too long for type character varying(200): "Jane Q Patient"')

    monkeypatch.setattr(warehouse_load, "load", refuse)
    job = run(backend_connection(), full=True, types=["Patient"])
    assert (job.state, job.error_code) == ("failed", "files_failed")
    errors = set(job.files.values_list("error", flat=True))
    assert errors == {"internal_error: internal error (DataError)"}
    assert "Jane Q Patient" not in json_logs.text
    assert "DataError" in json_logs.text
