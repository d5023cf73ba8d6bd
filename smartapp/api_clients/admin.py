"""API clients in the admin: read-only. Issuing, rotating and revoking are on the staff
pages (`/staff/api-clients/`), which show a new secret once."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from smartapp.api_clients.models import ApiClient


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("client_id", "name", "scopes", "created", "rotated_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("client_id", "name")
    exclude = ("secret_hash",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
