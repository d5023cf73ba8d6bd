"""Django admin for the issuer registry. Secrets are write-only: the form takes a new client
secret or private key and stores it encrypted; it never shows one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from smartapp.models import EhrConnection, Launch
from smartapp.registry import RegistrationError, checked_signing_key


class EhrConnectionForm(forms.ModelForm):  # type: ignore[type-arg]
    iss = forms.URLField(
        label="FHIR base (iss)",
        max_length=500,
        assume_scheme="https",
        help_text="Exactly as the EHR sends it in launches.",
    )
    new_client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        help_text="Leave empty to keep the stored secret.",
    )
    new_private_key = forms.CharField(
        required=False,
        widget=forms.Textarea,
        help_text="PEM (RSA or EC P-384). Leave empty to keep.",
    )

    class Meta:
        model = EhrConnection
        fields = [
            "slug",
            "name",
            "iss",
            "client_id",
            "client_auth",
            "profile",
            "scopes_ehr",
            "scopes_patient",
            "scopes_provider",
            "frame_origins",
            "enabled",
        ]

    def clean_new_private_key(self) -> str:
        pem: str = self.cleaned_data["new_private_key"].strip()
        if pem:
            try:
                checked_signing_key(pem)
            except RegistrationError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return pem


@admin.register(EhrConnection)
class EhrConnectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = EhrConnectionForm
    list_display = ["name", "slug", "iss", "client_auth", "profile", "enabled"]
    readonly_fields = ["key_id", "signing_alg", "has_secret", "has_private_key"]

    @admin.display(boolean=True)
    def has_secret(self, obj: EhrConnection) -> bool:
        return bool(obj.client_secret_encrypted)

    @admin.display(boolean=True)
    def has_private_key(self, obj: EhrConnection) -> bool:
        return bool(obj.private_key_encrypted)

    def save_model(self, request: HttpRequest, obj: EhrConnection, form: Any, change: bool) -> None:
        if form.cleaned_data.get("new_client_secret"):
            obj.set_secret("client_secret", form.cleaned_data["new_client_secret"])
        if pem := form.cleaned_data.get("new_private_key"):
            key, alg = checked_signing_key(pem)
            obj.set_secret("private_key", pem)
            obj.key_id, obj.signing_alg = key.thumbprint(), alg
        super().save_model(request, obj, form, change)


@admin.register(Launch)
class LaunchAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: for support, to see where a launch stopped (no secrets are shown)."""

    list_display = ["handle", "connection", "kind", "state", "failure_code", "created"]
    list_filter = ["state", "kind", "connection"]
    fields = (
        "connection",
        "kind",
        "state",
        "failure_code",
        "requested_scope",
        "granted_scope",
        "patient_id",
        "created",
        "updated",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


from smartapp.audit.admin import AccessRecordAdmin  # noqa: E402,F401  (the PHI access trail)
from smartapp.extraction.admin import ExtractionJobAdmin  # noqa: E402,F401  (extraction jobs)
