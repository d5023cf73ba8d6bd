"""Extraction jobs: start, kick off, poll, finish, cancel (docs/extraction.md).

Each step is a Celery task (`smartapp.extraction.tasks`). A step first claims the job for
STEP_LEASE_S (a conditional UPDATE: one claimant at a time, and a crashed one's claim runs
out), talks to the EHR with no transaction open, then saves under the job's row lock only if
the state is still the one it started from: a step delivered twice does nothing the second
time, and a job cancelled meanwhile stays cancelled. What a step queues next, or writes
beside the job (its files), is done in that same transaction, after the check.
The state table is `smartapp.extraction.states`; output files are `smartapp.extraction.files`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from smart import bulk
from smart.fhir_ids import is_fhir_id
from smartapp.clock import clock
from smartapp.extraction import backend_token, bulk_client, dispatch, reconciliation, search_files
from smartapp.extraction.records import ExtractionFile, ExtractionJob
from smartapp.extraction.states import TERMINAL, FileState, JobEvent, JobState, advance
from smartapp.lock_objects import job_qs_for_update
from smartapp.models import EhrConnection
from smartapp.warehouse import load as warehouse

log = logging.getLogger(__name__)

KICKOFF_ATTEMPTS = 6
STATUS_FAILURES = 6
DEFAULT_POLL_S = 2.0
MIN_WAIT_S = 1.0
MAX_POLLING = timedelta(hours=24)  # an export with no manifest by then is given up
CLOCK_SKEW = timedelta(minutes=5)
TASK_KICK_OFF, TASK_POLL, TASK_FILE = "extraction.kick_off", "extraction.poll", "extraction.file"


class JobRefused(ValueError):
    """A job that cannot start (said to the operator; nothing is written)."""


STEP_LEASE_S = 120.0  # longer than a step's requests can take (token + kick-off or status)


def _claim(job_id: str, *states: JobState) -> ExtractionJob | None:
    """The job, if it is in one of `states` and no other step holds it."""
    now = clock().now()
    free = Q(claimed_until=None) | Q(claimed_until__lt=now)
    claimed = ExtractionJob.objects.filter(free, pk=job_id, state__in=states).update(
        claimed_until=now + timedelta(seconds=STEP_LEASE_S)
    )
    if not claimed:
        return None
    job = ExtractionJob.objects.select_related("connection").get(pk=job_id)
    job.after = []
    return job


def _save(job: ExtractionJob, expected: JobState) -> bool:
    """Save what the step decided, if the job is still in `expected`; then its follow-ups."""
    with transaction.atomic():
        current = job_qs_for_update(job.pk).values_list("state", flat=True).first()
        if current != expected:
            log.info("extraction step outrun", extra={"job": str(job.pk), "state": current})
            return False
        job.claimed_until = None
        job.save()
        for follow_up in getattr(job, "after", []):
            follow_up()
    return True


def _move(job: ExtractionJob, event: JobEvent) -> None:
    job.state = advance(JobState(job.state), event)
    if job.state in TERMINAL:
        job.finished = clock().now()


def _fail(job: ExtractionJob, code: str, detail: str) -> None:
    """Mark the job failed (the caller saves); what it saw for reconciliation is dropped."""
    _move(job, JobEvent.FAILED)
    job.error_code, job.error_detail = code, detail[:300]
    job.after.append(lambda: transaction.on_commit(partial(_forget_seen, job.pk)))
    job.after.append(partial(_delete_at_server_later, job.pk))
    log.warning("extraction failed", extra={"job": str(job.pk), "code": code})


def last_transaction_time(connection: EhrConnection, level: str, group_id: str) -> datetime | None:
    """Where an incremental run starts: the last finished run's transactionTime."""
    done = ExtractionJob.objects.filter(
        connection=connection, state=JobState.DONE, level=level, group_id=group_id
    ).exclude(transaction_time=None)
    return done.order_by("-transaction_time").values_list("transaction_time", flat=True).first()


def start(
    connection: EhrConnection,
    *,
    full: bool = False,
    since: datetime | None = None,
    level: bulk.ExportLevel = bulk.ExportLevel.SYSTEM,
    group_id: str = "",
    types: Sequence[str] = (),
    requested_by: str = "",
) -> ExtractionJob:
    """Record a job and queue its kick-off. Incremental by default: from the last finished
    run of the same level and group, or a full run when there is none."""
    if not connection.enabled:
        raise JobRefused(f"connection {connection.slug} is disabled")
    if not connection.has_backend_services:
        raise JobRefused(f"connection {connection.slug} has no backend services client")
    if level is bulk.ExportLevel.GROUP and not is_fhir_id(group_id):
        raise JobRefused("a Group-level export needs --group with a FHIR id")
    unknown = sorted(set(types) - set(bulk.CANONICAL_TYPES))
    if unknown:
        raise JobRefused(f"types the canonical store does not keep: {', '.join(unknown)}")
    if not full and since is None:
        since = last_transaction_time(connection, level.value, group_id)
    running = connection.extraction_jobs.exclude(state__in=TERMINAL).values_list("pk", flat=True)
    if (other := running.first()) is not None:
        raise JobRefused(f"job {other} is still running for {connection.slug}")
    try:
        with transaction.atomic():
            job = _create(connection, full, since, level, group_id, types, requested_by)
    except IntegrityError as exc:  # another start won the race (one active job each)
        raise JobRefused(f"another job started for {connection.slug} meanwhile") from exc
    transaction.on_commit(lambda: dispatch.enqueue(TASK_KICK_OFF, str(job.pk)))
    return job


def _create(
    connection: EhrConnection,
    full: bool,
    since: datetime | None,
    level: bulk.ExportLevel,
    group_id: str,
    types: Sequence[str],
    requested_by: str,
) -> ExtractionJob:
    return ExtractionJob.objects.create(
        connection=connection,
        level=level.value,
        group_id=group_id,
        full=since is None,
        since=since,
        types=list(types or bulk.default_types(level)),
        requested_by=requested_by[:100],
        started=clock().now(),
        next_check_at=clock().now(),
    )


def _retry(job: ExtractionJob, task: str, wait_s: float) -> None:
    job.next_check_at = clock().now() + timedelta(seconds=wait_s)
    job.after.append(
        lambda: transaction.on_commit(
            partial(dispatch.enqueue, task, str(job.pk), countdown=wait_s)
        )
    )


def _token(job: ExtractionJob, error: Exception | None = None) -> str:
    if isinstance(error, bulk_client.Unauthorized):
        backend_token.forget(job.connection)
    token = backend_token.system_token(job.connection)
    job.granted_scope = token.scope
    return token.access_token


def kick_off(job_id: str) -> None:
    job = _claim(job_id, JobState.QUEUED)
    if job is not None:
        _kick_off(job)
        _save(job, JobState.QUEUED)


def _kick_off(job: ExtractionJob) -> None:
    level = bulk.ExportLevel(job.level)
    job.kickoff_url = bulk.kickoff_url(
        job.connection.iss, level, group_id=job.group_id, types=job.types, since=job.since
    )
    job.kickoff_attempts += 1
    try:
        try:
            status_url = bulk_client.kick_off(job.kickoff_url, job.connection.iss, _token(job))
        except bulk_client.Unauthorized as error:
            status_url = bulk_client.kick_off(
                job.kickoff_url, job.connection.iss, _token(job, error)
            )
    except bulk_client.ExportUnsupported as error:
        _search_instead(job, error)
        return
    except bulk_client.ExtractionError as error:
        if error.transient and job.kickoff_attempts < KICKOFF_ATTEMPTS:
            _retry(job, TASK_KICK_OFF, _backoff(error.retry_after_s, job.kickoff_attempts))
            return
        _fail(job, error.code, error.detail)
        return
    except Exception as error:  # discovery, the token endpoint: said on the job, not lost
        _fail(job, getattr(error, "code", "kickoff_failed"), f"kick-off: {error}")
        return
    job.status_url = status_url
    _move(job, JobEvent.KICKED_OFF)
    _retry(job, TASK_POLL, DEFAULT_POLL_S)


def _backoff(asked: float | None, attempt: int) -> float:
    """The server's Retry-After, else exponential; never under MIN_WAIT_S (a server saying 0
    must not get a tight loop of requests), never over EXTRACT_POLL_CAP_S."""
    cap = float(settings.EXTRACT_POLL_CAP_S)
    wait = asked if asked is not None else 2.0 ** min(attempt, 6)
    return max(min(wait, cap), min(MIN_WAIT_S, cap))


def _polling_too_long(job: ExtractionJob) -> bool:
    started = job.started or job.created
    return started is not None and clock().now() - started > MAX_POLLING


def _search_instead(job: ExtractionJob, why: Exception) -> None:
    """No `$export` here: per-type searches with `_lastUpdated` (system level only)."""
    if job.level == bulk.ExportLevel.GROUP and "404" in str(why):
        _fail(job, "group_not_found", f"{why} (or no Group-level $export on this server)")
        return
    if job.level != bulk.ExportLevel.SYSTEM:
        _fail(job, "export_unsupported", f"{why}; searches stand in for system level only")
        return
    job.method = "search"
    job.transaction_time = clock().now()
    files = search_files.plan(job)
    _move(job, JobEvent.SEARCHING)
    _add_files(job, files)


def _add_files(job: ExtractionJob, files: Sequence[ExtractionFile]) -> None:
    """The job's files, written and queued when the job is saved (`_save`)."""
    job.files_total = len(files)
    job.next_check_at = clock().now()

    def write() -> None:
        for file in files:
            file.queued_at = clock().now()
        ExtractionFile.objects.bulk_create(files, ignore_conflicts=True)
        ids = [str(pk) for pk in job.files.values_list("pk", flat=True)]
        if not ids:
            transaction.on_commit(partial(files_changed, str(job.pk)))
        for file_id in ids:
            transaction.on_commit(partial(dispatch.enqueue, TASK_FILE, file_id))

    job.after.append(write)


def poll(job_id: str) -> None:
    job = _claim(job_id, JobState.KICKED_OFF, JobState.POLLING)
    if job is not None:
        before = JobState(job.state)
        _poll(job)
        _save(job, before)


def _poll(job: ExtractionJob) -> None:
    try:
        try:
            answer = bulk_client.status(job.status_url, job.connection.iss, _token(job))
        except bulk_client.Unauthorized as error:
            answer = bulk_client.status(job.status_url, job.connection.iss, _token(job, error))
    except bulk_client.ExtractionError as error:
        answer = bulk.StatusAnswer(bulk.StatusKind.FAILED, detail=error.detail, transient=True)
    except Exception as error:  # the token endpoint, discovery, a lock: retried, then said
        detail = f"status: {getattr(error, 'code', type(error).__name__)}"
        answer = bulk.StatusAnswer(bulk.StatusKind.FAILED, detail=detail, transient=True)
    job.polls += 1
    if _polling_too_long(job):
        _fail(job, "export_timeout", f"no manifest after {MAX_POLLING}; the export was dropped")
    elif answer.kind is bulk.StatusKind.IN_PROGRESS:
        job.progress = answer.progress
        _move(job, JobEvent.POLLED)
        _retry(job, TASK_POLL, _backoff(answer.retry_after_s, job.polls))
    elif answer.kind is bulk.StatusKind.COMPLETE and answer.manifest is not None:
        _manifest(job, answer.manifest)
    elif answer.gone:
        _fail(job, "export_expired", answer.detail or "the server no longer knows this export")
    elif answer.transient and job.poll_failures + 1 < STATUS_FAILURES:
        job.poll_failures += 1
        _retry(job, TASK_POLL, _backoff(answer.retry_after_s, job.poll_failures))
    else:
        _fail(job, "export_failed", answer.detail or f"status answered {answer.status}")


def _manifest(job: ExtractionJob, manifest: bulk.Manifest) -> None:
    # The next incremental run starts here. A transactionTime in the future (a server's
    # clock, or a hostile one) would make every later run skip what changed until then: the
    # kick-off instant stands in for it (an earlier `_since` only reads more again).
    now = clock().now()
    stated = manifest.transaction_time
    job.transaction_time = stated if stated <= now + CLOCK_SKEW else job.started or now
    job.requires_token = manifest.requires_access_token
    job.progress = "complete"
    job.server_error_files = len(manifest.error)
    if manifest.error:
        job.error_detail = f"the server listed {len(manifest.error)} error file(s)"
    _move(job, JobEvent.MANIFEST)
    files = [
        ExtractionFile(
            job=job, index=index, resource_type=item.type, url=item.url, expected=item.count
        )
        for index, item in enumerate(manifest.output)
    ]
    _add_files(job, files)


def files_changed(job_id: str) -> None:
    """After a file finished or failed: once every file has, finish the job (database work
    only, under the row lock; the server is told afterwards)."""
    with transaction.atomic():
        job = job_qs_for_update(job_id).first()
        if job is None or job.state != JobState.DOWNLOADING:
            return
        job.after = []
        states = set(job.files.values_list("state", flat=True))
        if states & {FileState.PENDING, FileState.LOADING}:
            return
        failed = job.files.filter(state=FileState.FAILED).count()
        if failed:
            _fail(job, "files_failed", f"{failed} of {job.files_total} files could not be loaded")
        else:
            _move(job, JobEvent.FILES_DONE)
            _finish(job)
        job.save()
        for follow_up in job.after:
            follow_up()


def _finish(job: ExtractionJob) -> None:
    """A full run of every patient: rows it did not see are marked deleted at the source,
    for the types whose every line arrived and loaded (`unreconciled` says why not)."""
    job.unreconciled = reconciliation.unreconciled(job) if job.full else {}
    if job.full and job.level != bulk.ExportLevel.GROUP:
        clean = [rtype for rtype in job.types if rtype not in job.unreconciled]
        counts = warehouse.reconcile(job.connection_id, job.pk, clean, at=clock().now())
        job.deleted_at_source = sum(counts.values())
    warehouse.forget_seen(job.pk)
    _move(job, JobEvent.FINISHED)
    job.after.append(partial(_delete_at_server_later, job.pk))
    log.info(
        "extraction done",
        extra={"job": str(job.pk), "resources": job.resources_loaded, "files": job.files_total},
    )


def _forget_seen(job_id: Any) -> None:
    warehouse.forget_seen(job_id)


def _delete_at_server_later(job_id: Any) -> None:
    transaction.on_commit(partial(delete_at_server, str(job_id)))


def delete_at_server(job_id: str) -> None:
    """Ask the EHR to delete a finished job's files ("Bulk Data Delete Request"); best
    effort, with no transaction open (the EHR expires jobs in any case)."""
    job = ExtractionJob.objects.select_related("connection").filter(pk=job_id).first()
    if job is None or not job.status_url or job.server_job_deleted:
        return
    try:
        token: str | None = backend_token.system_token(job.connection).access_token
    except Exception:  # best effort: deleting without a token may still work
        token = None
    if bulk_client.delete(job.status_url, job.connection.iss, token):
        ExtractionJob.objects.filter(pk=job.pk).update(server_job_deleted=True)


def cancel(job_id: str) -> bool:
    """Stop a job: its files stop at their next chunk, the server is asked to delete it."""
    with transaction.atomic():
        job = job_qs_for_update(job_id).first()
        if job is None or job.state in TERMINAL:
            return False
        _move(job, JobEvent.CANCELLED)
        job.claimed_until = None
        job.save()
        job.files.exclude(state=FileState.DONE).update(state=FileState.FAILED, error="cancelled")
        transaction.on_commit(partial(_forget_seen, job.pk))
        _delete_at_server_later(job.pk)
    return True
