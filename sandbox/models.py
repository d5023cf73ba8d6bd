"""The sandbox authorization server's records: clients, codes, tokens, launches, keys.

Tokens are stored in the clear on purpose: this is a test EHR, and the browser tests read the
real token values from here to prove the app never leaks them. Nothing in it is a secret of a
real system. (The app's own token vault encrypts everything it stores.)
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from django.db import models

AUTH_METHODS = {
    "none": ("none",),
    "client_secret": ("client_secret_basic", "client_secret_post"),
    "private_key_jwt": ("private_key_jwt",),
}


USER_GRANT_TYPES = ("authorization_code", "refresh_token")
BACKEND_GRANT_TYPES = ("client_credentials",)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def default_grant_types() -> list[str]:
    """An app launched by a user: authorization code, then refresh tokens."""
    return list(USER_GRANT_TYPES)


class Client(models.Model, ClientMixin):  # type: ignore[misc]
    """A registered SMART app. Redirect URIs are compared exactly (RFC 9700 4.1.3).

    A SMART Backend Services client (`grant_types` ["client_credentials"]) has no redirect
    URI and authenticates with `private_key_jwt` against `jwks_uri` or the inline `jwks`.
    """

    client_id = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=200, blank=True)
    auth_method = models.CharField(
        max_length=20, choices=[(key, key) for key in AUTH_METHODS], default="none"
    )
    secret_hash = models.CharField(max_length=64, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)
    jwks = models.JSONField(default=dict, blank=True, help_text="inline JWKS; wins over jwks_uri")
    grant_types = models.JSONField(default=default_grant_types)
    redirect_uris = models.JSONField(default=list)
    launch_uri = models.URLField(max_length=500, blank=True)
    scope = models.TextField(blank=True, help_text="allowed scopes; blank allows any")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        if "client_credentials" in self.grant_types:
            return scope  # already narrowed by `sandbox.grants.system_scope_grant`
        if not self.scope:
            return scope
        allowed = set(self.scope.split())
        return " ".join(item for item in scope.split() if item in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.secret_hash:
            return False
        return hmac.compare_digest(hash_secret(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS[self.auth_method]

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class AuthorizationCode(models.Model, AuthorizationCodeMixin):  # type: ignore[misc]
    """A one-time code; deleted when exchanged, useless after `expires_at`."""

    code = models.CharField(max_length=120, unique=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.TextField()
    scope = models.TextField()
    user_ref = models.CharField(max_length=200)
    base = models.TextField(help_text="the FHIR base (iss) the code was issued for")
    nonce = models.CharField(max_length=255, blank=True)
    code_challenge = models.CharField(max_length=128)
    code_challenge_method = models.CharField(max_length=10)
    context = models.JSONField(default=dict)
    expires_at = models.FloatField()

    def __str__(self) -> str:
        return f"code for {self.client_id}"

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class Token(models.Model, TokenMixin):  # type: ignore[misc]
    """One issued access token and, optionally, its refresh token.

    Rows of one authorization share a `family`; rotation marks the spent row `rotated`.
    """

    client_id = models.CharField(max_length=200)
    user_ref = models.CharField(max_length=200)
    base = models.TextField()
    token_type = models.CharField(max_length=40, default="Bearer")
    scope = models.TextField()
    access_token = models.CharField(max_length=255, unique=True)
    presented_as_refresh = False  # set per lookup by introspection and revocation; not stored
    # NULL, not "": an empty string presented as a refresh token must never match a row.
    refresh_token = models.CharField(max_length=255, null=True, blank=True, db_index=True)  # noqa: DJ001
    id_token = models.TextField(blank=True)
    issued_at = models.FloatField(default=time.time)
    expires_in = models.IntegerField()
    access_revoked = models.BooleanField(default=False)
    refresh_revoked = models.BooleanField(default=False)
    rotated = models.BooleanField(default=False)
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    context = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"token for {self.client_id} ({self.user_ref})"

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.access_revoked

    def get_user(self) -> str:
        return self.user_ref

    def get_client(self) -> Any:
        return Client.objects.filter(client_id=self.client_id).first()


class Launch(models.Model):
    """An EHR launch context, addressed by the opaque `launch` value sent to the app."""

    launch_id = models.CharField(max_length=64, unique=True)
    base = models.TextField()
    client_id = models.CharField(max_length=200)
    patient = models.CharField(max_length=64, blank=True)
    encounter = models.CharField(max_length=64, blank=True)
    user_ref = models.CharField(max_length=200, blank=True)
    created = models.FloatField(default=time.time)

    def __str__(self) -> str:
        return f"launch {self.launch_id[:6]}... for {self.client_id}"


class UsedJti(models.Model):
    """`jti` values of client assertions already accepted (RFC 7523 3, replay)."""

    client_id = models.CharField(max_length=200)
    jti = models.CharField(max_length=255)
    expires_at = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_id", "jti"], name="unique_jti")]

    def __str__(self) -> str:
        return f"jti {self.jti} of {self.client_id}"


class SigningKey(models.Model):
    """The RSA key that signs id_tokens; made on first use, published at the JWKS URL."""

    kid = models.CharField(max_length=64, unique=True)
    private_jwk = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"signing key {self.kid}"
