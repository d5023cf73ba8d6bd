"""`manage.py extract --connection SLUG [--full | --since ISO-INSTANT] [--group ID |
--patients] [--type T ...] [--wait]`: start an extraction job (docs/extraction.md).

Incremental by default (from the last finished run's transactionTime, `jobs.start`); `--full`
re-reads everything and, at system or patient level, marks what the EHR no longer holds as
deleted at the source. Without `--wait` the job id is printed and the workers run it.
With `--wait` the command stays until the job ends, showing its progress: with a broker it
watches the job's row (and gives back stalled work every 30 s, as beat would); without one
(the demo) it runs the steps itself in this process. Nothing printed ever holds a token.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q, Sum
from django.utils import dateparse, timezone

from smart import bulk
from smartapp.clock import clock
from smartapp.extraction import dispatch, files, jobs
from smartapp.extraction.progress import Progress, redraw_due
from smartapp.extraction.records import ExtractionJob
from smartapp.extraction.states import TERMINAL, FileState, JobState
from smartapp.models import EhrConnection

POLL_S = 1.0  # how often a watched job's row is read (broker mode)
SUPERVISE_S = 30.0  # how often stalled files and steps are given back while watching
INLINE_MAX_WAIT_S = 30.0  # the longest wait honoured between in-process steps


def since_instant(value: str | None) -> Any:
    """`--since`: an ISO 8601 instant with its offset (`2024-05-01T00:00:00Z`), or None.
    A date or a local time is refused: `_since` is compared with the server's clock."""
    if value is None:
        return None
    try:
        parsed = dateparse.parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None or not timezone.is_aware(parsed):
        raise CommandError(
            f"--since {value!r} is not an ISO 8601 instant with a time zone "
            "(for example 2024-05-01T00:00:00Z or 2024-05-01T02:00:00+02:00)"
        )
    return parsed


def snapshot(job: ExtractionJob) -> Progress:
    """Read the job's counts now. Files still loading count the lines read so far."""
    sums = job.files.aggregate(
        done=Count("pk", filter=Q(state=FileState.DONE)),
        unknown=Count("pk", filter=Q(expected=None)),
        expected=Sum("expected"),
        in_flight=Sum("lines_read", filter=Q(state=FileState.LOADING)),
    )
    end = job.finished or clock().now()
    started = job.started or job.created
    return Progress(
        state=job.state,
        files_done=sums["done"],
        files_total=job.files_total,
        resources=job.resources_loaded + (sums["in_flight"] or 0),
        expected_total=sums["expected"] if job.files_total and not sums["unknown"] else None,
        elapsed_s=max(0.0, (end - started).total_seconds()),
        malformed=job.lines_malformed,
        refused=job.resources_refused,
    )


class Command(BaseCommand):
    help = "Start an extraction job (Bulk Data $export) for one EHR connection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", metavar="SLUG", required=True)
        run = parser.add_mutually_exclusive_group()
        run.add_argument("--full", action="store_true", help="everything, and reconcile deletions")
        run.add_argument(
            "--since",
            metavar="ISO-INSTANT",
            help="only what changed since this instant (default: the last finished run)",
        )
        level = parser.add_mutually_exclusive_group()
        level.add_argument("--group", metavar="ID", help="a Group-level export of this Group")
        level.add_argument("--patients", action="store_true", help="a Patient-level export")
        parser.add_argument(
            "--type",
            dest="types",
            metavar="T",
            nargs="+",
            action="extend",
            default=[],
            help=f"resource types (default: all of {', '.join(bulk.CANONICAL_TYPES)})",
        )
        parser.add_argument("--wait", action="store_true", help="stay and show progress")

    def handle(self, *args: Any, **options: Any) -> None:
        start = self._start_arguments(options)
        if (options["wait"] and dispatch.inline_mode()) or settings.CELERY_TASK_ALWAYS_EAGER:
            if not options["wait"]:
                self.stdout.write("no task broker (REDIS_URL unset): running in this process")
            job = self._run_inline(start)
        else:
            job = self._start(start)
            if not options["wait"]:
                self.stdout.write(f"started extraction job {job.pk} ({job.state})")
                self.stdout.write(f"watch it: manage.py extract_status --job {job.pk}")
                return
            self.stdout.write(f"started extraction job {job.pk}; waiting (Ctrl-C to stop)")
            if not self._watch(job):
                return
        self._report(job)

    def _start_arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        slug = options["connection"]
        connection = EhrConnection.objects.filter(slug=slug).first()
        if connection is None:
            raise CommandError(f"no EHR connection {slug!r} (register one with ehr_register)")
        level = bulk.ExportLevel.SYSTEM
        if options["group"] is not None:
            level = bulk.ExportLevel.GROUP
        elif options["patients"]:
            level = bulk.ExportLevel.PATIENT
        return {
            "connection": connection,
            "full": options["full"],
            "since": since_instant(options["since"]),
            "level": level,
            "group_id": options["group"] or "",
            "types": tuple(options["types"]),
            "requested_by": "manage.py extract",
        }

    def _start(self, start: dict[str, Any]) -> ExtractionJob:
        connection = start.pop("connection")
        try:
            return jobs.start(connection, **start)
        except jobs.JobRefused as error:
            raise CommandError(f"cannot start: {error}") from None

    def _run_inline(self, start: dict[str, Any]) -> ExtractionJob:
        """No broker: the steps run here, in order of when they fall due."""
        drawer = _Drawer(self)
        with dispatch.inline():
            job = self._start(start)  # its kick-off is queued on commit, into this queue
            self.stdout.write(f"started extraction job {job.pk}; running it in this process")
            try:
                dispatch.drain(tick=lambda: drawer.tick(job), max_wait_s=INLINE_MAX_WAIT_S)
            except KeyboardInterrupt:
                drawer.end()
                cancelled = jobs.cancel(str(job.pk))
                what = "cancelled" if cancelled else "already finished"
                raise CommandError(f"interrupted: job {job.pk} {what}", returncode=130) from None
        drawer.draw(job, force=True)
        drawer.end()
        return job

    def _watch(self, job: ExtractionJob) -> bool:
        """A broker and workers: read the row every second until the job ends (True) or
        the operator stops watching (False; the job goes on)."""
        drawer, supervised = _Drawer(self), time.monotonic()
        try:
            while drawer.draw(job) not in TERMINAL:
                time.sleep(POLL_S)
                if time.monotonic() - supervised >= SUPERVISE_S:
                    files.supervise()
                    supervised = time.monotonic()
            drawer.draw(job, force=True)
        except KeyboardInterrupt:
            drawer.end()
            self.stdout.write(
                f"stopped watching: job {job.pk} continues on the workers "
                f"(manage.py extract_status --job {job.pk}; extract_cancel --job {job.pk})"
            )
            return False
        drawer.end()
        return True

    def _report(self, job: ExtractionJob) -> None:
        job.refresh_from_db()
        if job.state != JobState.DONE:
            detail = f": {job.error_detail}" if job.error_detail else ""
            raise CommandError(f"job {job.pk} {job.state}: {job.error_code or '-'}{detail}")
        summary = snapshot(job).summary(job.deleted_at_source)
        self.stdout.write(self.style.SUCCESS(f"job {job.pk} done: {summary}"))


class _Drawer:
    """The progress line: redrawn in place on a terminal, one line every few seconds else."""

    def __init__(self, command: BaseCommand) -> None:
        self.out = command.stdout
        self.tty = self.out.isatty()
        self.last: float | None = None
        self.width = 0

    def draw(self, job: ExtractionJob, *, force: bool = False) -> str:
        """Re-read the job, draw its line when due; returns the job's state."""
        job.refresh_from_db()
        now = time.monotonic()
        if force or redraw_due(self.last, now, self.tty):
            line = snapshot(job).line()
            if self.tty:
                self.out.write("\r" + line.ljust(self.width), ending="")
                self.out.flush()
            else:
                self.out.write(line)
            self.last, self.width = now, len(line)
        return str(job.state)

    def tick(self, job: ExtractionJob) -> None:
        """After each in-process step."""
        self.draw(job)

    def end(self) -> None:
        """Leave the terminal's line as it is and move below it."""
        if self.tty and self.last is not None:
            self.out.write("")
            self.last = None
