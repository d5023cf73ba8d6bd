"""The extraction's records: a job per run, a row per output file, a row per bad line.

Nothing here holds a token or a resource: the access token lives only in the encrypted cache
(`extraction.backend_token`), resources go to the canonical store (`smartapp.warehouse`), and
a problem row names the file and line number, never the line's content (it may be PHI).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.db import models

from smartapp.extraction.states import TERMINAL, FileState, JobState


class ExtractionJob(models.Model):
    """One extraction run against one connection (docs/extraction.md has the state table)."""

    after: list[Callable[[], None]]  # a running step's follow-ups, run when it saves (jobs.py)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(
        "smartapp.EhrConnection", on_delete=models.PROTECT, related_name="extraction_jobs"
    )
    method = models.CharField(
        max_length=10,
        choices=[("bulk", "Bulk Data $export"), ("search", "paged searches")],
        default="bulk",
    )
    level = models.CharField(max_length=10, default="system")  # smart.bulk.ExportLevel
    group_id = models.CharField(max_length=64, blank=True)
    full = models.BooleanField(default=True, help_text="no _since: reconcile deletions")
    since = models.DateTimeField(null=True, blank=True)
    types = models.JSONField(default=list)
    state = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in JobState], default=JobState.QUEUED
    )
    requested_by = models.CharField(max_length=100, blank=True)
    # What the EHR said.
    granted_scope = models.TextField(blank=True)
    kickoff_url = models.TextField(blank=True)
    status_url = models.TextField(blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    requires_token = models.BooleanField(default=True)
    progress = models.CharField(max_length=100, blank=True)
    kickoff_attempts = models.PositiveIntegerField(default=0)
    polls = models.PositiveIntegerField(default=0)
    poll_failures = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)  # a step is running
    server_job_deleted = models.BooleanField(default=False)
    # Totals, written when each file completes (so a retried file is counted once).
    files_total = models.PositiveIntegerField(default=0)
    resources_loaded = models.PositiveBigIntegerField(default=0)
    lines_malformed = models.PositiveIntegerField(default=0)
    resources_refused = models.PositiveIntegerField(default=0)
    deleted_at_source = models.PositiveIntegerField(default=0)
    server_error_files = models.PositiveIntegerField(default=0)  # the manifest's error[]
    unreconciled = models.JSONField(default=dict, blank=True)  # type -> why not reconciled
    error_code = models.CharField(max_length=60, blank=True)
    error_detail = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]  # noqa: RUF012 (Django convention)
        indexes = [models.Index(fields=["connection", "state", "created"])]  # noqa: RUF012 (Django convention)
        constraints = [  # noqa: RUF012 (Django convention)
            # One job at a time per connection: two full runs would reconcile against each
            # other's rows.
            models.UniqueConstraint(
                fields=["connection"],
                condition=~models.Q(state__in=sorted(s.value for s in TERMINAL)),
                name="one_active_extraction_per_connection",
            )
        ]

    def __str__(self) -> str:
        return f"extraction {str(self.id)[:8]} ({self.state})"


class ExtractionFile(models.Model):
    """One output file of a manifest (or one resource type's search, on the fallback)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(ExtractionJob, on_delete=models.CASCADE, related_name="files")
    index = models.PositiveIntegerField()
    resource_type = models.CharField(max_length=64)
    url = models.TextField()
    expected = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(
        max_length=10, choices=[(s.value, s.value) for s in FileState], default=FileState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True)  # last sent to the queue
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    lines_read = models.PositiveBigIntegerField(default=0)  # progress of the current attempt
    bytes_read = models.PositiveBigIntegerField(default=0)
    resources_loaded = models.PositiveBigIntegerField(default=0)  # set once, at completion
    malformed = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    load_seconds = models.FloatField(default=0)
    total_seconds = models.FloatField(default=0)
    error = models.CharField(max_length=300, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]  # noqa: RUF012 (Django convention)
        constraints = [  # noqa: RUF012 (Django convention)
            models.UniqueConstraint(fields=["job", "index"], name="extraction_file_once")
        ]
        indexes = [models.Index(fields=["state", "lease_until"])]  # noqa: RUF012 (Django convention)

    def __str__(self) -> str:
        return f"file {self.index} ({self.resource_type}) of {self.job_id}"


class ExtractionProblem(models.Model):
    """A line that was skipped: malformed, or a resource this job must not load."""

    job = models.ForeignKey(ExtractionJob, on_delete=models.CASCADE, related_name="problems")
    file = models.ForeignKey(
        ExtractionFile, on_delete=models.CASCADE, related_name="problems", null=True
    )
    line = models.PositiveBigIntegerField()
    kind = models.CharField(
        max_length=12, choices=[("malformed", "malformed"), ("refused", "refused")]
    )
    reason = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["file", "line"]  # noqa: RUF012 (Django convention)
        constraints = [  # noqa: RUF012 (Django convention)
            models.UniqueConstraint(fields=["file", "line"], name="extraction_problem_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} line {self.line}"
