"""The app's records: registered EHR connections, launches and their token grants.

Every secret is stored as AES-GCM ciphertext bound to its row and field
(`smartapp.secretbox`): client secrets and private keys here, the PKCE verifier on the launch,
access and refresh tokens on the grant. Primary keys are UUIDs made in Python, so a row's
binding is known before its first save.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from joserfc import jwk

import smartapp.diagnostics.recorder as recorder
from smart import client_auth
from smart.keys import import_private_pem
from smart.launch_states import LaunchEvent, LaunchState, advance
from smart.profiles import profiles
from smart.scopes import DEFAULT_SCOPES, LaunchKind
from smartapp.clock import clock
from smartapp.secretbox import binding, secret_box


class EncryptedFields:
    """get/set helpers for `<name>_encrypted` text fields holding SecretBox ciphertext."""

    pk: Any

    def _binding(self, name: str) -> str:
        return binding(self._meta.label, self.pk, name)  # type: ignore[attr-defined]

    def set_secret(self, name: str, value: str | None) -> None:
        ciphertext = secret_box().encrypt(value, bound_to=self._binding(name)) if value else ""
        setattr(self, f"{name}_encrypted", ciphertext)

    def get_secret(self, name: str) -> str | None:
        ciphertext = getattr(self, f"{name}_encrypted")
        return (
            secret_box().decrypt(ciphertext, bound_to=self._binding(name)) if ciphertext else None
        )

    def secret_fields(self) -> list[str]:
        return [
            f.name.removesuffix("_encrypted")
            for f in self._meta.fields  # type: ignore[attr-defined]
            if f.name.endswith("_encrypted")
        ]


def _client_auth_choices() -> list[tuple[str, str]]:
    return [(name, method.label) for name, method in client_auth.methods().items()]


def _profile_choices() -> list[tuple[str, str]]:
    return [(name, profile.label) for name, profile in profiles().items()]


class EhrConnection(EncryptedFields, models.Model):
    """One organisation's EHR: its FHIR base (the `iss`) and how this app is registered there."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    iss = models.URLField("FHIR base (iss)", max_length=500, unique=True)
    client_id = models.CharField(max_length=200)
    client_auth = models.CharField(
        max_length=30, choices=_client_auth_choices, default="client_secret_basic"
    )
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    private_key_encrypted = models.TextField(blank=True, editable=False)
    key_id = models.CharField(max_length=64, blank=True, editable=False)
    signing_alg = models.CharField(max_length=10, default="RS384", editable=False)
    scopes_ehr = models.TextField("scopes for EHR launch", default=DEFAULT_SCOPES[LaunchKind.EHR])
    scopes_patient = models.TextField(
        "scopes for standalone patient launch", default=DEFAULT_SCOPES[LaunchKind.PATIENT]
    )
    scopes_provider = models.TextField(
        "scopes for standalone provider launch", default=DEFAULT_SCOPES[LaunchKind.PROVIDER]
    )
    profile = models.CharField(
        max_length=40,
        choices=_profile_choices,
        default="generic",
        help_text="EHR profile: the quirks of this server (smart/profiles.py)",
    )
    # SMART Backend Services (extraction): a client of its own, private_key_jwt only.
    backend_client_id = models.CharField(
        max_length=200, blank=True, help_text="backend services client id (blank: none)"
    )
    backend_key_encrypted = models.TextField(blank=True, editable=False)
    backend_key_id = models.CharField(max_length=64, blank=True, editable=False)
    backend_alg = models.CharField(max_length=10, default="RS384", editable=False)
    system_scopes = models.TextField(
        blank=True, help_text="system/ scopes for extraction (blank: the built-in set)"
    )
    frame_origins = models.JSONField(
        default=list, blank=True, help_text="EHR origins allowed to show the app in an iframe"
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.iss})"

    def scopes_for(self, kind: LaunchKind) -> str:
        return {
            LaunchKind.EHR: self.scopes_ehr,
            LaunchKind.PATIENT: self.scopes_patient,
            LaunchKind.PROVIDER: self.scopes_provider,
        }[kind]

    def private_jwk(self) -> jwk.Key | None:
        pem = self.get_secret("private_key")
        if not pem:
            return None
        key = import_private_pem(pem)
        key.ensure_kid()
        return key

    def public_jwk(self) -> dict[str, Any] | None:
        return _public(self.private_jwk(), self.key_id, self.signing_alg)

    def backend_jwk(self) -> jwk.Key | None:
        """The backend services signing key (SMART Backend Services), if registered."""
        pem = self.get_secret("backend_key")
        if not pem:
            return None
        key = import_private_pem(pem)
        key.ensure_kid()
        return key

    def backend_public_jwk(self) -> dict[str, Any] | None:
        return _public(self.backend_jwk(), self.backend_key_id, self.backend_alg)

    @property
    def has_backend_services(self) -> bool:
        return bool(self.backend_client_id and self.backend_key_encrypted)


def _public(key: jwk.Key | None, kid: str, alg: str) -> dict[str, Any] | None:
    if key is None:
        return None
    return {**key.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}


class Launch(EncryptedFields, models.Model):
    """One SMART launch, from the redirect to the EHR until it ends. See launch_states.py."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    handle = models.CharField(max_length=64, unique=True)
    connection = models.ForeignKey(EhrConnection, on_delete=models.PROTECT, related_name="launches")
    kind = models.CharField(max_length=10, choices=[(k.value, k.value) for k in LaunchKind])
    state = models.CharField(
        max_length=20,
        choices=[(s.value, s.value) for s in LaunchState],
        default=LaunchState.STARTED,
    )
    browser = models.CharField(
        max_length=64, help_text="SHA-256 of the secret in the launch's own browser cookie"
    )
    # The authorization request: `state` is stored only as its SHA-256.
    state_hash = models.CharField(max_length=64, unique=True)
    state_used_at = models.DateTimeField(null=True, blank=True)
    state_expires_at = models.DateTimeField()
    launch_param = models.TextField(blank=True)
    redirect_uri = models.TextField()
    verifier_encrypted = models.TextField()
    nonce = models.CharField(max_length=64)
    authorization_endpoint = models.TextField()
    token_endpoint = models.TextField()
    expected_issuer = models.TextField()
    iss_required = models.BooleanField(default=False)
    requested_scope = models.TextField()
    # What the EHR granted and told us.
    granted_scope = models.TextField(blank=True)
    patient_id = models.CharField(max_length=200, blank=True)
    encounter_id = models.CharField(max_length=200, blank=True)
    fhir_user = models.TextField(blank=True)
    need_patient_banner = models.BooleanField(default=True)
    smart_style_url = models.TextField(blank=True)
    fhir_context = models.JSONField(default=list, blank=True)
    intent = models.CharField(max_length=200, blank=True)
    tenant = models.CharField(max_length=200, blank=True)
    # The EHR's `locale` launch context (a checked language tag; "" when none was sent). Its
    # pages use it when the app has that language (portal.common.launch_for).
    locale = models.CharField(max_length=35, blank=True, default="")
    failure_code = models.CharField(max_length=60, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "state_expires_at"])]

    _moves: list[tuple[str, LaunchEvent, str, Any]]  # transitions not yet saved

    def __str__(self) -> str:
        return f"{self.kind} launch {self.handle[:6]}... ({self.state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        for before, event, after, at in getattr(self, "_moves", []):
            recorder.record(
                self.pk, "state", outcome=str(after), at=at, detail={"from": before, "event": event}
            )
        self._moves = []

    def transition(self, event: LaunchEvent) -> LaunchState:
        """The only writer of `state`: the table in smart.launch_states decides, or raises
        IllegalTransition. The caller holds the row lock and saves; the move is recorded for
        the launch debugger once it is saved."""
        before = self.state
        self.state = advance(LaunchState(self.state), event)
        self._moves = [*getattr(self, "_moves", []), (before, event, self.state, clock().now())]
        return LaunchState(self.state)


class TokenGrant(EncryptedFields, models.Model):
    """The tokens of one launch. Decrypted only in memory, for the call that needs them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    launch = models.OneToOneField(Launch, on_delete=models.CASCADE, related_name="grant")
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField(blank=True)
    id_token_claims = models.JSONField(default=dict, blank=True)
    scope = models.TextField()
    expires_at = models.DateTimeField()
    lifetime_s = models.PositiveIntegerField(default=300, help_text="expires_in as issued")
    version = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"grant of {self.launch_id}"


from smartapp.audit.records import AccessRecord, AuditHead, AuditSegment  # noqa: E402,F401
from smartapp.diagnostics.records import LaunchStep  # noqa: E402,F401
from smartapp.extraction.records import (  # noqa: E402,F401
    ExtractionFile,
    ExtractionJob,
    ExtractionProblem,
)
