"""The authorization server for service clients: RFC 6749 4.4 (client credentials) on
Authlib's Django server.

- Client authentication (RFC 6749 2.3.1): `client_secret_basic` and `client_secret_post`,
  our own functions rather than Authlib's, so that a header that is not base64 or not UTF-8
  is `invalid_client` rather than an exception, and every failure is the same 401 with the
  same words (no telling an unknown client from a wrong secret or a revoked client).
- Only `client_credentials`; no refresh tokens (the client asks again).
- `scope` is optional; when given it must be a subset of the client's scopes, else
  `invalid_scope` (RFC 6749 5.2); when omitted the token carries all of them (RFC 6749 3.3
  lets the server pick a default).
- Only the token's SHA-256 is stored. Authlib's grant logs the issued token at DEBUG, so the
  grant's response is ours and logs nothing about it.
- Parameters come from the form body only (RFC 6749 4.4.2); a secret in a query string, which
  ends up in logs, is never read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import unquote_plus

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Payload, DjangoOAuth2Request
from authlib.oauth2.rfc6749 import InvalidClientError, InvalidScopeError, OAuth2Request, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from django.db import transaction
from django.http import HttpRequest

from smartapp.api_clients import api_settings
from smartapp.api_clients.credentials import SECRET_BYTES, digest
from smartapp.api_clients.models import ApiClient, ApiToken
from smartapp.api_clients.scopes import API_SCOPES, MAX_SCOPE_CHARS, scope_text
from smartapp.clock import clock

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
GRANT_TYPE = "client_credentials"
FAILED = "client authentication failed"


class OAuthClient:
    """Authlib's view of an `ApiClient` (its ClientMixin methods)."""

    def __init__(self, row: ApiClient) -> None:
        self.row = row
        self.client_id = row.client_id

    def check_client_secret(self, secret: str) -> bool:
        return hmac.compare_digest(digest(secret), self.row.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def get_allowed_scope(self, scope: str) -> str:
        return scope  # already checked by the grant's validate_requested_scope


def _authenticated(query_client: Any, client_id: str, secret: str) -> OAuthClient:
    client: OAuthClient | None = query_client(client_id)
    if client is None or not client.check_client_secret(secret):
        raise InvalidClientError(status_code=401, description=FAILED)
    return client


def client_secret_basic(query_client: Any, request: OAuth2Request) -> OAuthClient | None:
    """RFC 6749 2.3.1: HTTP Basic with the form-urlencoded client id and secret."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClientError(status_code=401, description=FAILED) from None
    client_id, _, secret = decoded.partition(":")
    return _authenticated(query_client, unquote_plus(client_id), unquote_plus(secret))


def client_secret_post(query_client: Any, request: OAuth2Request) -> OAuthClient | None:
    """RFC 6749 2.3.1: `client_id` and `client_secret` in the form body."""
    client_id = request.form.get("client_id")
    secret = request.form.get("client_secret")
    if client_id is None and secret is None:
        return None
    return _authenticated(query_client, client_id or "", secret or "")


class _FormPayload(DjangoOAuth2Payload):  # type: ignore[misc]
    """The request's parameters from the form body only, never the query string."""

    @property
    def data(self) -> dict[str, str]:
        form: dict[str, str] = self._request.POST.dict()
        return form

    @property
    def datalist(self) -> dict[str, list[str]]:
        return {key: self._request.POST.getlist(key) for key in self._request.POST}


class ApiClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = AUTH_METHODS
    granted = ""

    def validate_requested_scope(self) -> None:
        allowed: frozenset[str] = self.request.client.row.scope_set
        requested = (self.request.payload.scope or "").split()
        if len(self.request.payload.scope or "") > MAX_SCOPE_CHARS:
            raise InvalidScopeError(description="scope too long")
        if not requested:
            requested = list(allowed)
        if any(item not in API_SCOPES for item in requested):
            raise InvalidScopeError(description="unknown scope")
        if not set(requested) <= allowed or not requested:
            raise InvalidScopeError(description="scope not granted to this client")
        self.granted = scope_text(requested)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token: dict[str, Any] = self.generate_token(scope=self.granted, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


MAX_LIVE_TOKENS = 20  # per client; the oldest go when a client asks for more


def _keep_newest(client: ApiClient, keep: int) -> None:
    """Delete the client's tokens beyond the `keep` newest (under the client's row lock)."""
    stale = client.tokens.order_by("-issued").values_list("pk", flat=True)[keep:]
    ApiToken.objects.filter(pk__in=list(stale)).delete()


class ApiAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(ApiClient, ApiToken)
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(SECRET_BYTES),
                expires_generator=lambda client, grant_type: api_settings.token_ttl_s(),
            ),
        )
        self.register_grant(ApiClientCredentialsGrant)
        for method, authenticate in zip(
            AUTH_METHODS, (client_secret_basic, client_secret_post), strict=True
        ):
            self.register_client_auth_method(method, authenticate)

    def query_client(self, client_id: str) -> OAuthClient | None:
        """A live client: a revoked one authenticates as no client at all."""
        row = ApiClient.objects.filter(client_id=client_id, revoked_at__isnull=True).first()
        return None if row is None else OAuthClient(row)

    def create_oauth2_request(self, request: HttpRequest) -> OAuth2Request:
        oauth_request = DjangoOAuth2Request(request)
        oauth_request.payload = _FormPayload(request)
        return oauth_request

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> ApiToken:
        """Save the token under the client's row lock, only if the client is still as it was
        authenticated: a rotation or revocation that committed in between (it takes the same
        lock, and deletes the tokens it finds) refuses this one too."""
        authenticated = request.client.row
        with transaction.atomic():
            current = ApiClient.objects.select_for_update().get(pk=authenticated.pk)
            if current.secret_hash != authenticated.secret_hash or current.revoked_at:
                raise InvalidClientError(status_code=401, description=FAILED)
            now = clock().now()
            _keep_newest(current, MAX_LIVE_TOKENS - 1)
            return ApiToken.objects.create(
                token_hash=digest(token["access_token"]),
                client=current,
                scope=token.get("scope", ""),
                issued=now,
                expires=now + timedelta(seconds=int(token["expires_in"])),
            )
