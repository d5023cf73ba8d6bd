"""The store in the Django admin, read-only: an operator can look a row up (by resource or
patient id) and see where it came from; nobody edits clinical data here (extraction owns it)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartapp.warehouse.models import MODELS, PatientLink


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClinicalRowAdmin(ReadOnlyAdmin):
    list_display = [
        "resource_id",
        "patient_id",
        "status",
        "code",
        "code_display",
        "effective_start",
        "deleted_at_source",
    ]
    list_filter = ["status", "deleted_at_source"]
    search_fields = ["resource_id", "patient_id", "code"]
    date_hierarchy = "effective_start"


for _model in MODELS.values():
    admin.site.register(_model, ClinicalRowAdmin)


@admin.register(PatientLink)
class PatientLinkAdmin(ReadOnlyAdmin):
    list_display = ["patient_id", "link_type", "other_id", "connection_id"]
    search_fields = ["patient_id", "other_id"]
