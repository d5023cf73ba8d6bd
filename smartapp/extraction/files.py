"""Loading one output file: claimed with a lease, read as a stream, loaded in chunks.

Any worker on any host may take any file. A worker claims it by moving it to `loading` with a
lease (`EXTRACT_FILE_LEASE_S`) and its attempt number; each chunk of `EXTRACT_CHUNK` lines is
parsed, checked and upserted (`smartapp.warehouse.load`: idempotent, newest wins) and the
lease renewed. If the worker dies, the lease runs out and the supervisor gives the file to
another worker, which reads it again from the start: rows already loaded are upserted to the
same values, a skipped line is recorded once (unique per file and line), and the file's
totals are written once, by whichever attempt completes it. Exactly once in effect.

A line that is not a JSON object is recorded with its number and skipped; a resource of a
type the store does not keep, one that is not canonical (`NotCanonical`), or one outside a
Group export's members is refused the same way. Neither ever stores the line itself.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from smart import bulk
from smartapp.clock import clock
from smartapp.extraction import backend_token, bulk_client, dispatch, jobs, search_files
from smartapp.extraction.records import ExtractionFile, ExtractionJob, ExtractionProblem
from smartapp.extraction.states import FileState, JobState
from smartapp.warehouse import canonical
from smartapp.warehouse import load as warehouse

log = logging.getLogger(__name__)


def _worker() -> str:
    """Host and process (not cached: a prefork worker's children import before forking)."""
    return f"{socket.gethostname()}:{os.getpid()}"


REQUEUE_LEASES = 5
CHUNK_BYTES = 16 * 1024 * 1024  # raw NDJSON held per chunk at most (plus one line)


class LeaseLost(Exception):
    """Another worker took the file over (this one was too slow), or the job was cancelled."""


@dataclass
class Tally:
    loaded: int = 0
    lines: int = 0
    bytes: int = 0
    load_s: float = 0.0
    problems: dict[str, int] = field(default_factory=dict)  # kind -> lines skipped

    def count(self, kind: str) -> int:
        return self.problems.get(kind, 0)


def _claim(file_id: str) -> ExtractionFile | None:
    now = clock().now()
    claimable = Q(state=FileState.PENDING) | Q(state=FileState.LOADING, lease_until__lt=now)
    claimed = ExtractionFile.objects.filter(claimable, pk=file_id).update(
        state=FileState.LOADING,
        attempts=F("attempts") + 1,
        lease_until=now + timedelta(seconds=settings.EXTRACT_FILE_LEASE_S),
        worker=_worker(),
        lines_read=0,
        bytes_read=0,
        started=now,
        error="",
    )
    if not claimed:
        return None
    return ExtractionFile.objects.select_related("job__connection").get(pk=file_id)


def load_file(file_id: str) -> None:
    """The task: claim, read, load, complete; a failed read is retried from the start."""
    file = _claim(file_id)
    if file is None:
        return
    job = file.job
    if job.state != JobState.DOWNLOADING:
        _settle(file, FileState.FAILED, Tally(), error=f"job {job.state}")
        return
    started, tally = time.perf_counter(), Tally()
    try:
        _read_and_load(file, job, tally)
    except LeaseLost:
        log.warning("extraction file lease lost", extra={"file": str(file.pk)})
        return
    except bulk_client.ExtractionError as error:
        _retry_or_fail(file, error)
        return
    except Exception as error:  # a bug or a database refusal: the file fails, the job says so
        # Only the type, no message or trace: a database error quotes the values (PHI) it
        # refused.
        log.error(
            "extraction file failed", extra={"file": str(file.pk), "error": type(error).__name__}
        )
        failed = bulk_client.ExtractionError(f"internal error ({type(error).__name__})")
        failed.code = "internal_error"
        _retry_or_fail(file, failed)
        return
    file.total_seconds = time.perf_counter() - started
    if _settle(file, FileState.DONE, tally):
        jobs.files_changed(str(job.pk))


def _read_and_load(file: ExtractionFile, job: ExtractionJob, tally: Tally) -> None:
    members = _members(job)
    provenance = warehouse.Provenance(
        connection_id=job.connection_id,
        job_id=job.pk,
        retrieved_at=clock().now(),
        source_url=file.url,
        scope=job.granted_scope,
    )
    for chunk in _chunks(_source(file, job), settings.EXTRACT_CHUNK):
        problems: list[ExtractionProblem] = []
        rows = [row for line in chunk if (row := _row(file, job, line, members, problems))]
        for problem in problems:
            tally.problems[problem.kind] = tally.count(problem.kind) + 1
        began = time.perf_counter()
        with transaction.atomic():
            if rows:
                warehouse.load(rows, provenance, track_seen=job.full)
            ExtractionProblem.objects.bulk_create(problems, ignore_conflicts=True)
        tally.load_s += time.perf_counter() - began
        tally.loaded += len(rows)
        tally.lines = chunk[-1].number
        tally.bytes += sum(len(line.raw) + 1 for line in chunk)
        _renew(file, tally)


def _source(file: ExtractionFile, job: ExtractionJob) -> Iterator[bulk_client.Line]:
    if job.method == "search":
        return search_files.lines(file, job)
    token = backend_token.system_token(job.connection).access_token if job.requires_token else None
    return bulk_client.lines(
        file.url,
        job.connection.iss,
        token,
        max_line_bytes=settings.EXTRACT_MAX_LINE_BYTES,
        read_timeout_s=float(settings.FHIR_READ_TIMEOUT_S),
    )


def _chunks(lines: Iterable[bulk_client.Line], size: int) -> Iterator[list[bulk_client.Line]]:
    """`size` lines at a time, or fewer once they reach CHUNK_BYTES: large resources (a
    document with its content inline) must not make a chunk of 500 lines gigabytes."""
    chunk: list[bulk_client.Line] = []
    held = 0
    for line in lines:
        chunk.append(line)
        held += len(line.raw)
        if len(chunk) >= size or held >= CHUNK_BYTES:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _members(job: ExtractionJob) -> frozenset[str] | None:
    if job.level != bulk.ExportLevel.GROUP:
        return None
    return search_files.group_members(job)


def _row(
    file: ExtractionFile,
    job: ExtractionJob,
    line: bulk_client.Line,
    members: frozenset[str] | None,
    problems: list[ExtractionProblem],
) -> Any:
    def problem(kind: str, reason: str) -> None:
        problems.append(
            ExtractionProblem(job=job, file=file, line=line.number, kind=kind, reason=reason)
        )

    if line.too_long:
        problem("malformed", "line longer than EXTRACT_MAX_LINE_BYTES")
        return None
    if b"\\u0000" in line.raw:
        # JSON allows it; PostgreSQL's jsonb and text cannot store it, and would refuse the
        # whole chunk: this one resource is refused instead.
        problem("refused", "contains a NUL character (\\u0000), which the store cannot hold")
        return None
    parsed = bulk.parse_line(line.raw, line.number)
    if parsed is None:
        return None
    if isinstance(parsed, bulk.MalformedLine):
        problem("malformed", parsed.reason)
        return None
    if parsed["resourceType"] not in job.types:
        problem("refused", f"{str(parsed['resourceType'])[:40]}: a type this job did not ask for")
        return None
    try:
        row = canonical.canonical_row(parsed)
    except canonical.NotCanonical as exc:
        problem("refused", str(exc)[:200])
        return None
    outside = members is not None and canonical.patient_of(parsed) not in members
    if outside and parsed["resourceType"] != "Medication":
        problem("refused", "outside the group's members")
        return None
    return row


def _renew(file: ExtractionFile, tally: Tally) -> None:
    """Extend the lease and show progress; LeaseLost if the file is no longer ours."""
    mine = ExtractionFile.objects.filter(
        pk=file.pk, attempts=file.attempts, state=FileState.LOADING, job__state=JobState.DOWNLOADING
    )
    if not mine.update(
        lease_until=clock().now() + timedelta(seconds=settings.EXTRACT_FILE_LEASE_S),
        lines_read=tally.lines,
        bytes_read=tally.bytes,
    ):
        raise LeaseLost(str(file.pk))


def _settle(file: ExtractionFile, state: FileState, tally: Tally, error: str = "") -> bool:
    """Write the outcome once: only the attempt that still owns the file may."""
    with transaction.atomic():
        settled = ExtractionFile.objects.filter(
            pk=file.pk, attempts=file.attempts, state=FileState.LOADING
        ).update(
            state=state,
            lease_until=None,
            resources_loaded=tally.loaded,
            malformed=tally.count("malformed"),
            refused=tally.count("refused"),
            lines_read=tally.lines,
            bytes_read=tally.bytes,
            load_seconds=tally.load_s,
            total_seconds=file.total_seconds,
            error=error[:300],
            finished=clock().now(),
        )
        if settled and state is FileState.DONE:
            ExtractionJob.objects.filter(pk=file.job_id).update(
                resources_loaded=F("resources_loaded") + tally.loaded,
                lines_malformed=F("lines_malformed") + tally.count("malformed"),
                resources_refused=F("resources_refused") + tally.count("refused"),
            )
    return bool(settled)


def _retry_or_fail(file: ExtractionFile, error: bulk_client.ExtractionError) -> None:
    if isinstance(error, bulk_client.Unauthorized):
        backend_token.forget(file.job.connection)
    if error.transient and file.attempts < settings.EXTRACT_FILE_ATTEMPTS:
        back = ExtractionFile.objects.filter(
            pk=file.pk, attempts=file.attempts, state=FileState.LOADING
        ).update(
            state=FileState.PENDING, lease_until=None, error=error.detail, queued_at=clock().now()
        )
        if back:
            wait = min(error.retry_after_s or 2.0**file.attempts, settings.EXTRACT_POLL_CAP_S)
            dispatch.enqueue(jobs.TASK_FILE, str(file.pk), countdown=wait)
        return
    if _settle(file, FileState.FAILED, Tally(), error=f"{error.code}: {error.detail}"):
        jobs.files_changed(str(file.job_id))


def supervise() -> dict[str, int]:
    """Give back what stalled, and re-queue it: files whose worker stopped renewing its lease
    (it died), files queued long ago and never taken (their message went with a dead worker
    that had reserved it), and job steps whose task never ran. Each file is re-queued at most
    once per REQUEUE_LEASES leases; a duplicate message finds the file taken or done and does
    nothing. Idempotent; beat runs it every minute."""
    now = clock().now()
    lease = timedelta(seconds=settings.EXTRACT_FILE_LEASE_S)
    live = Q(job__state=JobState.DOWNLOADING)
    _give_up_on_crashing_files(now)
    dead = Q(state=FileState.LOADING, lease_until__lt=now)
    forgotten = Q(state=FileState.PENDING, queued_at__lt=now - REQUEUE_LEASES * lease)
    stale = ExtractionFile.objects.filter(live & (dead | forgotten))
    files = [str(pk) for pk in stale.values_list("pk", flat=True)]
    ExtractionFile.objects.filter(pk__in=files).update(queued_at=now)
    for file_id in files:
        dispatch.enqueue(jobs.TASK_FILE, file_id)
    overdue = now - timedelta(seconds=max(60.0, 2 * float(settings.EXTRACT_POLL_CAP_S)))
    steps = {JobState.QUEUED: jobs.TASK_KICK_OFF, JobState.KICKED_OFF: jobs.TASK_POLL}
    steps[JobState.POLLING] = jobs.TASK_POLL
    waiting = ExtractionJob.objects.filter(state__in=list(steps), next_check_at__lt=overdue)
    for job_id, state in waiting.values_list("pk", "state"):
        dispatch.enqueue(steps[JobState(state)], str(job_id))
    return {"files": len(files), "jobs": len(waiting)}


def _give_up_on_crashing_files(now: datetime) -> None:
    """A file whose every attempt ended with its worker dead (it crashes the worker, or the
    host keeps dying) fails rather than being handed on for ever."""
    doomed = ExtractionFile.objects.filter(
        state=FileState.LOADING,
        lease_until__lt=now,
        attempts__gte=settings.EXTRACT_FILE_ATTEMPTS,
        job__state=JobState.DOWNLOADING,
    )
    for file_id, job_id in list(doomed.values_list("pk", "job_id")):
        gave_up = ExtractionFile.objects.filter(pk=file_id, state=FileState.LOADING).update(
            state=FileState.FAILED, lease_until=None, error="every attempt's worker died"
        )
        if gave_up:
            jobs.files_changed(str(job_id))
