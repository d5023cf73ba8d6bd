"""`manage.py extract`, `extract_status` and `extract_cancel` over real HTTP to the sandbox.

The job's steps run in this process: each test holds an outer `dispatch.inline()` queue, so
nothing is sent to a broker; `extract --wait` then runs them itself (the demo's path), and
the broker path is tested with a stand-in worker that runs the queue while the command
sleeps between reads of the job's row.
"""

from __future__ import annotations

import io
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from sandbox.models import Token
from smartapp.extraction import dispatch, files
from smartapp.extraction.records import ExtractionJob
from smartapp.management.commands import extract
from smartapp.registry import register_connection
from tests.fixtures.extraction import run, sandbox_counts
from tests.fixtures.sandbox import Sandbox

pytestmark = pytest.mark.django_db(transaction=True)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(extract, "INLINE_MAX_WAIT_S", 0.05)  # the sandbox asks 1-2 s a poll
    with dispatch.inline():
        yield


def _call(name: str, *args: str, stdout: io.StringIO | None = None) -> str:
    out, err = stdout or io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=out, stderr=err)
    finally:
        _assert_no_token(out.getvalue(), err.getvalue())
    return out.getvalue() + err.getvalue()


def _assert_no_token(*texts: str) -> None:
    tokens = [t for t in Token.objects.values_list("access_token", flat=True) if t]
    for text in texts:
        assert not [token for token in tokens if token in text]


def _only_job() -> ExtractionJob:
    return ExtractionJob.objects.get()


def test_a_full_run_with_wait_ends_done_and_prints_the_summary(backend_connection: Any) -> None:
    backend_connection()
    output = _call("extract", "--connection", "bulk", "--full", "--wait")
    job = _only_job()
    assert job.state == "done", (job.error_code, job.error_detail)
    total = sum(sandbox_counts().values())
    assert job.resources_loaded == total
    assert f"job {job.pk} done: {total:,} resources from {job.files_total} files" in output
    assert "malformed 0, refused 0, deleted at source 0" in output
    assert "\r" not in output  # not a terminal: whole lines
    assert Token.objects.exists()  # so the no-token check above had tokens to look for


def test_without_wait_it_prints_the_job_and_how_to_watch_it(backend_connection: Any) -> None:
    backend_connection()
    output = _call("extract", "--connection", "bulk", "--since", "2024-05-01T00:00:00Z")
    job = _only_job()
    assert f"started extraction job {job.pk}" in output
    assert f"extract_status --job {job.pk}" in output
    assert job.state == "queued"
    assert not job.full
    assert job.since is not None
    assert job.since.isoformat() == "2024-05-01T00:00:00+00:00"


@pytest.mark.parametrize(
    "since", ["2024-05-01", "2024-05-01T00:00:00", "yesterday", "2024-13-01T00:00Z"]
)
def test_since_must_be_an_instant_with_a_time_zone(backend_connection: Any, since: str) -> None:
    backend_connection()
    with pytest.raises(CommandError, match="not an ISO 8601 instant with a time zone"):
        _call("extract", "--connection", "bulk", "--since", since)
    assert not ExtractionJob.objects.exists()


def test_full_and_since_together_are_refused(backend_connection: Any) -> None:
    backend_connection()
    with pytest.raises(CommandError, match="not allowed with argument"):
        _call("extract", "--connection", "bulk", "--full", "--since", "2024-05-01T00:00:00Z")


def test_an_unknown_connection_is_named(db: Any) -> None:
    with pytest.raises(CommandError, match="no EHR connection 'nowhere'"):
        _call("extract", "--connection", "nowhere", "--wait")


def test_a_connection_without_backend_services_is_refused_clearly(sandbox: Sandbox) -> None:
    register_connection(
        slug="launch-only",
        name="Launch only",
        iss=sandbox.base(export_polls=2),
        client_id="launch-client",
        client_auth="none",
    )
    with pytest.raises(CommandError, match="launch-only has no backend services client"):
        _call("extract", "--connection", "launch-only", "--full", "--wait")
    assert not ExtractionJob.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "not a fhir id!"], "needs --group with a FHIR id"),
        (["--type", "Patient", "Basic"], "does not keep: Basic"),
    ],
)
def test_refused_jobs_are_command_errors(
    backend_connection: Any, args: list[str], message: str
) -> None:
    backend_connection()
    with pytest.raises(CommandError, match=message):
        _call("extract", "--connection", "bulk", *args)


def test_levels_and_types_reach_the_job(backend_connection: Any) -> None:
    backend_connection()
    _call(
        "extract", "--connection", "bulk", "--patients", "--type", "Patient", "--type", "Condition"
    )
    job = _only_job()
    assert job.level == "patient"
    assert job.types == ["Patient", "Condition"]
    assert job.full  # no earlier run: incremental falls back to full
    ExtractionJob.objects.all().delete()
    _call("extract", "--connection", "bulk", "--group", "g1")
    assert _only_job().level == "group"
    assert _only_job().group_id == "g1"


def test_a_failed_job_exits_non_zero_with_its_error(backend_connection: Any) -> None:
    backend_connection(slug="expired", export_expired=True)
    with pytest.raises(CommandError, match="failed: export_expired") as raised:
        _call("extract", "--connection", "expired", "--full", "--wait")
    assert raised.value.returncode != 0
    assert _only_job().state == "failed"
    listing = _call("extract_status")
    assert "expired" in listing
    assert "export_expired" in listing
    assert str(_only_job().pk)[:8] in listing


def test_status_shows_a_jobs_files_and_problems(backend_connection: Any) -> None:
    backend_connection(slug="bad-lines", export_malformed_line=True)
    terminal = Terminal()
    output = _call("extract", "--connection", "bad-lines", "--full", "--wait", stdout=terminal)
    assert "\r" in output  # redrawn in place on a terminal
    job = _only_job()
    assert job.state == "done"
    assert job.lines_malformed > 0
    detail = _call("extract_status", "--job", str(job.pk)[:8])
    assert f"job                 {job.pk}" in detail
    assert "index  type" in detail
    assert "Patient" in detail
    problems = detail.split("problems (skipped lines")[1]
    assert problems.count("malformed") == job.lines_malformed
    assert "file  line  kind" in problems


def test_status_filters_and_limits(backend_connection: Any) -> None:
    backend_connection()
    for _ in range(3):  # one job at a time per connection: each is cancelled before the next
        _call("extract", "--connection", "bulk")
        queued = ExtractionJob.objects.exclude(state="cancelled").get()
        _call("extract_cancel", "--job", str(queued.pk))
    assert len(_call("extract_status", "--limit", "2").strip().splitlines()) == 3  # header + 2
    assert _call("extract_status", "--connection", "other").strip() == "no extraction jobs"
    with pytest.raises(CommandError, match="no extraction job"):
        _call("extract_status", "--job", "00000000")
    with pytest.raises(CommandError, match="is not a job id"):
        _call("extract_status", "--job", "x'; drop")


def test_cancel_stops_a_job_once(backend_connection: Any) -> None:
    backend_connection()
    _call("extract", "--connection", "bulk", "--full")
    job = _only_job()
    assert f"cancelled extraction job {job.pk}" in _call("extract_cancel", "--job", str(job.pk))
    job.refresh_from_db()
    assert job.state == "cancelled"
    with pytest.raises(CommandError, match="already cancelled"):
        _call("extract_cancel", "--job", str(job.pk))


def test_ctrl_c_while_running_in_process_cancels_the_job(
    backend_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_connection()

    def interrupted(**_: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(dispatch, "drain", interrupted)
    with pytest.raises(CommandError, match=r"interrupted: job .* cancelled") as raised:
        _call("extract", "--connection", "bulk", "--full", "--wait")
    assert raised.value.returncode == 130
    assert _only_job().state == "cancelled"


def test_with_a_broker_wait_watches_the_row_while_workers_run_it(
    backend_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_connection()
    supervised: list[dict[str, int]] = []

    def supervise() -> dict[str, int]:
        supervised.append(real_supervise())
        return supervised[-1]

    def worker(_: float) -> None:  # the command's one-second sleep: the workers' turn
        dispatch.drain(max_wait_s=0.05)

    monkeypatch.setattr(dispatch, "inline_mode", lambda: False)
    monkeypatch.setattr(extract, "time", types.SimpleNamespace(sleep=worker, monotonic=lambda: 1e9))
    monkeypatch.setattr(extract, "SUPERVISE_S", 0.0)
    real_supervise = files.supervise
    monkeypatch.setattr(files, "supervise", supervise)
    output = _call("extract", "--connection", "bulk", "--full", "--wait")
    assert "waiting (Ctrl-C to stop)" in output
    assert _only_job().state == "done"
    assert " done: " in output
    assert supervised  # stalled work is given back while watching


def test_ctrl_c_while_watching_leaves_the_job_to_the_workers(
    backend_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend_connection()

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dispatch, "inline_mode", lambda: False)
    monkeypatch.setattr(
        extract, "time", types.SimpleNamespace(sleep=interrupted, monotonic=lambda: 0.0)
    )
    output = _call("extract", "--connection", "bulk", "--full", "--wait")
    assert "continues on the workers" in output
    assert _only_job().state == "queued"


def test_the_run_helper_and_the_command_agree(backend_connection: Any) -> None:
    """The command is a thin edge: the same job as `jobs.start` + `drain`."""
    connection = backend_connection()
    job = run(connection, full=True)
    _call("extract", "--connection", "bulk", "--full", "--wait")
    again = ExtractionJob.objects.exclude(pk=job.pk).get()
    assert again.resources_loaded == job.resources_loaded
