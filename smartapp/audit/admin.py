"""The trail in the Django admin, read-only: a reviewer searches a patient's id or a user and
sees who opened what, when, through which EHR. Nobody can add, change or delete a row here
(the database refuses it anyway, migration 0007)."""

from __future__ import annotations

from django.contrib import admin

from smartapp.audit.records import AccessRecord
from smartapp.read_only_admin import ReadOnlyAdmin


@admin.register(AccessRecord)
class AccessRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "connection", "patient_id", "what", "outcome"]
    search_fields = ["patient_id", "actor"]
    list_filter = ["connection", "outcome", "what"]
    date_hierarchy = "at"
    fields = (
        "seq",
        "at",
        "actor",
        "connection",
        "launch_id",
        "patient_id",
        "what",
        "resource_types",
        "sections",
        "outcome",
        "request_id",
        "client_address",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields
