"""`manage.py extract_status [--job ID] [--connection SLUG] [--limit N]`: extraction jobs.

Without `--job`, a table of the most recent jobs. With `--job` (the full id or a prefix of
at least 6 characters, as the table shows it), that job's details, its files and its skipped
lines. Shown: counts, states, error codes; never a token, and never an output file's URL (a
server that does not require a token may sign its file URLs: the URL is then a credential).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartapp.extraction.records import ExtractionJob
from smartapp.management.commands.extract import snapshot

ID_PREFIX = re.compile(r"^[0-9a-fA-F-]{6,36}$")
PROBLEMS_SHOWN = 200
JOB_COLUMNS = (
    "job connection level run state files resources malformed refused started finished error"
)
FILE_COLUMNS = "index type state attempts resources expected malformed refused error"


def find_job(ref: str) -> ExtractionJob:
    """The job whose id is `ref` or starts with it; CommandError when none or several."""
    if not ID_PREFIX.match(ref):
        raise CommandError(f"--job {ref!r} is not a job id (hexadecimal, 6 characters or more)")
    matches = list(
        ExtractionJob.objects.select_related("connection").filter(id__startswith=ref.lower())[:2]
    )
    if not matches:
        raise CommandError(f"no extraction job {ref!r} (see manage.py extract_status)")
    if len(matches) > 1:
        raise CommandError(f"--job {ref!r} matches more than one job: give more of the id")
    return matches[0]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; `None` is shown as `-`."""
    cells = [[_cell(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _run(job: ExtractionJob) -> str:
    return "full" if job.full else f"since {_cell(job.since)}"


class Command(BaseCommand):
    help = "Show recent extraction jobs, or one job's files and skipped lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", metavar="ID", help="one job: its details, files, problems")
        parser.add_argument("--connection", metavar="SLUG", help="only this connection's jobs")
        parser.add_argument("--limit", type=int, default=20, help="how many jobs (20)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["job"]:
            self._detail(find_job(options["job"]))
            return
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        recent = ExtractionJob.objects.select_related("connection").order_by("-created")
        if options["connection"]:
            recent = recent.filter(connection__slug=options["connection"])
        self.stdout.write(self._jobs(list(recent[: options["limit"]])))

    def _jobs(self, recent: Sequence[ExtractionJob]) -> str:
        if not recent:
            return "no extraction jobs"
        header = JOB_COLUMNS.split()
        rows = []
        for job in recent:
            counts = snapshot(job)
            rows.append(
                (
                    str(job.pk)[:8],
                    job.connection.slug,
                    job.level,
                    _run(job),
                    job.state,
                    f"{counts.files_done}/{job.files_total}",
                    job.resources_loaded,
                    job.lines_malformed,
                    job.resources_refused,
                    job.started,
                    job.finished,
                    job.error_code,
                )
            )
        return table(header, rows)

    def _detail(self, job: ExtractionJob) -> None:
        counts = snapshot(job)
        facts = [
            ("job", job.pk),
            ("connection", job.connection.slug),
            ("method", job.method),
            ("level", job.level + (f" (Group/{job.group_id})" if job.group_id else "")),
            ("run", _run(job)),
            ("types", ", ".join(job.types)),
            ("state", job.state),
            ("server progress", job.progress),
            ("requested by", job.requested_by),
            ("granted scope", job.granted_scope),
            ("transaction time", job.transaction_time),
            ("progress", counts.line()),
            ("deleted at source", job.deleted_at_source),
            ("not reconciled", "; ".join(f"{t}: {why}" for t, why in job.unreconciled.items())),
            ("server error files", job.server_error_files),
            ("started", job.started),
            ("finished", job.finished),
            ("error", f"{job.error_code}: {job.error_detail}".strip(": ")),
        ]
        width = max(len(name) for name, _ in facts)
        for name, value in facts:
            self.stdout.write(f"{name.ljust(width)}  {_cell(value)}")
        self.stdout.write("\nfiles")
        self.stdout.write(self._files(job))
        self.stdout.write("\nproblems (skipped lines; their content is never stored)")
        self.stdout.write(self._problems(job))

    def _files(self, job: ExtractionJob) -> str:
        rows = [
            (
                file.index,
                file.resource_type,
                file.state,
                file.attempts,
                file.resources_loaded,
                file.expected,
                file.malformed,
                file.refused,
                file.error,
            )
            for file in job.files.order_by("index")
        ]
        if not rows:
            return "none yet"
        header = FILE_COLUMNS.split()
        return table(header, rows)

    def _problems(self, job: ExtractionJob) -> str:
        problems = job.problems.select_related("file").order_by("file__index", "line")
        total = problems.count()
        if not total:
            return "none"
        rows = [
            (problem.file.index if problem.file else None, problem.line, problem.kind,
             problem.reason)
            for problem in problems[:PROBLEMS_SHOWN]
        ]  # fmt: skip
        more = f"\n… and {total - PROBLEMS_SHOWN} more" if total > PROBLEMS_SHOWN else ""
        return table(("file", "line", "kind", "reason"), rows) + more
