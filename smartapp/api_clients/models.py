"""Service clients of the use-case API and the access tokens issued to them.

Neither table holds a credential: `ApiClient.secret_hash` and `ApiToken.token_hash` are the
SHA-256 of high-entropy random strings (`credentials.digest`). A stolen database gives no
way to call the API; a slow hash would add nothing against 256 bits of entropy.
"""

from __future__ import annotations

from django.db import models


class ApiClient(models.Model):
    """A product allowed to call the API: its credentials, tenants and scopes."""

    client_id = models.CharField(max_length=64, unique=True, editable=False)
    name = models.CharField(max_length=200)
    secret_hash = models.CharField(
        max_length=64, editable=False, help_text="SHA-256 hex of the secret, never the secret"
    )
    scopes = models.TextField(help_text="space-separated API scopes (api_clients.scopes)")
    connections = models.ManyToManyField(
        "smartapp.EhrConnection",
        related_name="api_clients",
        blank=True,
        help_text="the tenants whose data it may read",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="calls per minute; blank: API_RATE_LIMIT_PER_MINUTE"
    )
    created = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, help_text='the staff username, or "cli"')

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class ApiToken(models.Model):
    """An access token (RFC 6750 bearer), by its hash only."""

    token_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    scope = models.TextField()
    issued = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.client_id} until {self.expires:%Y-%m-%d %H:%M}"
