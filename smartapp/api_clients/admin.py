"""API clients in the admin: read-only. Issuing, rotating and revoking are on the staff
pages (`/staff/api-clients/`), which show a new secret once."""

from __future__ import annotations

from django.contrib import admin

from smartapp.api_clients.models import ApiClient
from smartapp.read_only_admin import ReadOnlyAdmin


@admin.register(ApiClient)
class ApiClientAdmin(ReadOnlyAdmin):
    list_display = ("client_id", "name", "scopes", "created", "rotated_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("client_id", "name")
    exclude = ("secret_hash",)
