"""Django admin for extraction jobs: read-only, for operators to see where a run stands.

Jobs are started by `manage.py extract` or the schedule, never from here, so there is no add
or change form; the one thing an operator can do is cancel (`jobs.cancel`), which needs the
change permission on jobs. No token is ever stored on these rows, and an output file's URL
is not shown: a server that serves files without a token may sign their URLs.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from smartapp.extraction import jobs
from smartapp.extraction.records import ExtractionFile, ExtractionJob, ExtractionProblem
from smartapp.read_only_admin import ReadOnlyAdmin

PROBLEMS_SHOWN = 200  # a bad export may skip thousands of lines; the first ones tell the story


class _ReadOnlyInline(admin.TabularInline):  # type: ignore[type-arg]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ExtractionFileInline(_ReadOnlyInline):
    model = ExtractionFile
    fields = (
        "index",
        "resource_type",
        "state",
        "attempts",
        "expected",
        "resources_loaded",
        "malformed",
        "refused",
        "total_seconds",
        "error",
        "worker",
        "finished",
    )
    readonly_fields = fields


class ExtractionProblemInline(_ReadOnlyInline):
    """The first PROBLEMS_SHOWN skipped lines (file, line number, why; never the line)."""

    model = ExtractionProblem
    fields = ("file_index", "line", "kind", "reason")
    readonly_fields = fields
    verbose_name_plural = f"problems (skipped lines; the first {PROBLEMS_SHOWN})"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExtractionProblem]:
        problems = super().get_queryset(request).select_related("file")
        first = problems.order_by("file__index", "line").values("pk")[:PROBLEMS_SHOWN]
        return problems.filter(pk__in=first).order_by("file__index", "line")

    @admin.display(description="file")
    def file_index(self, obj: ExtractionProblem) -> int | None:
        return obj.file.index if obj.file else None


@admin.register(ExtractionJob)
class ExtractionJobAdmin(ReadOnlyAdmin):  # a job's row is the record of what was loaded when
    list_display = [
        "short_id",
        "connection",
        "level",
        "full",
        "state",
        "files_total",
        "resources_loaded",
        "lines_malformed",
        "resources_refused",
        "error_code",
        "created",
        "finished",
    ]
    list_filter = ["state", "connection", "level"]
    list_select_related = ["connection"]
    actions = ["cancel_jobs"]
    fields = (
        "connection",
        "method",
        "level",
        "group_id",
        "full",
        "since",
        "types",
        "state",
        "progress",
        "requested_by",
        "granted_scope",
        "kickoff_url",
        "transaction_time",
        "kickoff_attempts",
        "polls",
        "poll_failures",
        "server_job_deleted",
        "files_total",
        "resources_loaded",
        "lines_malformed",
        "resources_refused",
        "deleted_at_source",
        "error_code",
        "error_detail",
        "created",
        "started",
        "finished",
    )
    readonly_fields = fields
    inlines = (ExtractionFileInline, ExtractionProblemInline)

    @admin.display(description="job", ordering="id")
    def short_id(self, obj: ExtractionJob) -> str:
        return str(obj.pk)[:8]

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        """Cancelling changes a job: the model's change permission, not the change form."""
        opts = self.opts
        return bool(request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[ExtractionJob]) -> None:
        cancelled = list(queryset.values_list("pk", flat=True))
        done = sum(jobs.cancel(str(job_id)) for job_id in cancelled)
        skipped = len(cancelled) - done
        self.message_user(request, f"{done} job(s) cancelled", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} job(s) had already ended: left as they were", messages.INFO
            )
