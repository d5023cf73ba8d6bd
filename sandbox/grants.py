"""The authorization code, refresh token and client credentials grants, with SMART's additions.

- Token responses carry the launch context (`patient`, `encounter`, `fhirContext`,
  `need_patient_banner`, `smart_style_url`) and, for `openid fhirUser`, an id_token.
- Codes live 60 seconds and are single use, even under a race.
- Refresh tokens rotate; presenting a spent one is reuse: refused, and with
  `refresh: reuse_revokes_family` every token of that authorization is revoked.
- SMART Backend Services (https://hl7.org/fhir/smart-app-launch/backend-services.html):
  `client_credentials` for `private_key_jwt` clients registered for it, `system/` scopes
  only, no refresh token, no launch context.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidScopeError, grants

from sandbox import stats
from sandbox.client_auth import CLIENT_AUTH_METHODS
from sandbox.id_tokens import make_id_token
from sandbox.models import AuthorizationCode, Client, Token
from sandbox.oauth_requests import SandboxUser, site_of
from sandbox.site import SandboxSite
from smart.scopes import ResourceScope, is_known_scope, parse_resource_scope

log = logging.getLogger(__name__)

CODE_TTL_S = 60


class SmartTokenMixin:
    """Token lifetime from the simulated EHR's options, and SMART's extra response fields."""

    request: Any

    def smart_token(self, token: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        site = site_of(self.request)
        token["expires_in"] = site.options.token_ttl
        for name in ("patient", "encounter", "need_patient_banner", "smart_style_url"):
            if context.get(name) not in (None, ""):
                token[name] = context[name]
        if context.get("fhirContext"):
            token["fhirContext"] = context["fhirContext"]
        return token


def wants_refresh_token(scope: str, site: SandboxSite) -> bool:
    granted = set(scope.split())
    return site.options.refresh != "none" and bool(granted & {"offline_access", "online_access"})


class SmartAuthorizationCodeGrant(SmartTokenMixin, grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        pending = request.pending
        AuthorizationCode.objects.create(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri,
            scope=pending["granted"],
            user_ref=pending["user"],
            base=site_of(request).fhir_base,
            nonce=request.payload.data.get("nonce") or "",
            code_challenge=request.payload.data["code_challenge"],
            code_challenge_method=request.payload.data["code_challenge_method"],
            context=pending["context"],
            expires_at=time.time() + CODE_TTL_S,
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        row = AuthorizationCode.objects.filter(
            code=code, client_id=client.client_id, base=site_of(self.request).fhir_base
        ).first()
        # Single use even under a race: only the request that deletes the row may use it.
        if row is None or AuthorizationCode.objects.filter(pk=row.pk).delete()[0] != 1:
            return None
        if row.expires_at < time.time():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Already deleted when it was looked up."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> SandboxUser:
        return SandboxUser(authorization_code.user_ref)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        code: AuthorizationCode = self.request.authorization_code
        site = site_of(self.request)
        token = self.generate_token(
            user=SandboxUser(code.user_ref),
            scope=code.scope,
            include_refresh_token=wants_refresh_token(code.scope, site),
        )
        self.smart_token(token, code.context)
        granted = set(code.scope.split())
        if {"openid", "fhirUser"} <= granted:
            token["id_token"] = make_id_token(site, code.client_id, code.user_ref, code.nonce)
        self.request.user = SandboxUser(code.user_ref)
        self.server.save_token(token, self.request)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class SmartRefreshTokenGrant(SmartTokenMixin, grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        site = site_of(self.request)
        row = Token.objects.filter(refresh_token=refresh_token, base=site.fhir_base).first()
        if row is None or row.refresh_revoked:
            return None
        if row.rotated:
            # Reuse of a spent refresh token: a stolen copy, or a client racing itself.
            stats.record(stats.REFRESH_REUSE_REJECTED, row.client_id)
            if site.options.refresh == "reuse_revokes_family":
                revoke_family(row.family)
            log.info("refresh token reuse refused", extra={"client": row.client_id})
            return None
        return row

    def authenticate_user(self, refresh_token: Token) -> SandboxUser:
        return SandboxUser(refresh_token.user_ref)

    def issue_token(self, user: SandboxUser, refresh_token: Token) -> dict[str, Any]:
        site = site_of(self.request)
        scope = self.request.payload.scope or refresh_token.get_scope()
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=site.options.refresh != "static"
        )
        return self.smart_token(token, refresh_token.context)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if site_of(self.request).options.refresh != "static":
            refresh_token.rotated = True
            refresh_token.save(update_fields=["rotated"])


def revoke_family(family: uuid.UUID) -> None:
    Token.objects.filter(family=family).update(access_revoked=True, refresh_revoked=True)


class SmartClientCredentialsGrant(SmartTokenMixin, grants.ClientCredentialsGrant):  # type: ignore[misc]
    """SMART Backend Services: a system-level token for a client, no user in the loop.

    Only `private_key_jwt` ("client-confidential-asymmetric": the assertion's 5-minute `exp`
    and single-use `jti` rules apply here as at every grant), only clients registered for
    `client_credentials`, only `system/` scopes. The spec: the server SHALL NOT issue a
    refresh token; the client asks again with a fresh assertion.
    """

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["private_key_jwt"]
    granted = ""

    def validate_requested_scope(self) -> None:
        site = site_of(self.request)
        self.granted = system_scope_grant(
            self.request.payload.scope or "", self.request.client.scope, site.options.smart
        )

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        token = self.generate_token(scope=self.granted, include_refresh_token=False)
        self.smart_token(token, {})
        self.server.save_token(token, self.request)
        return 200, token, self.TOKEN_RESPONSE_HEADER


def system_scope_grant(requested: str, allowed: str, smart_version: str) -> str:
    """The scope a backend client gets: each requested `system/` scope an allowed one covers.

    Raises invalid_scope (RFC 6749 5.2) for a missing scope, anything but a `system/` resource
    scope (user, patient and launch scopes mean nothing without a user), v2 syntax on a v1
    server, or nothing left once `allowed` (blank: anything) has been applied.
    """
    items = requested.split()
    if not items:
        raise InvalidScopeError("a 'scope' of system/ scopes is required")
    parsed = [parse_resource_scope(item) for item in items]
    wrong = [
        item
        for item, scope in zip(items, parsed, strict=True)
        if scope is None
        or scope.level != "system"
        or not is_known_scope(item, smart_version="v1" if smart_version == "v1" else "v2")
    ]
    if wrong:
        raise InvalidScopeError(f"only system/ resource scopes: refused {' '.join(wrong)}")
    limits = [scope for scope in map(parse_resource_scope, allowed.split()) if scope]
    kept = [
        item
        for item, scope in zip(items, parsed, strict=True)
        if not allowed.strip() or any(_covers(limit, scope) for limit in limits if scope)
    ]
    if not kept:
        raise InvalidScopeError("none of the requested scopes is allowed for this client")
    return " ".join(dict.fromkeys(kept))


def _covers(limit: ResourceScope, scope: ResourceScope) -> bool:
    """Whether an allowed scope admits a requested one (same level, type, permissions, or wider)."""
    return (
        limit.level == scope.level
        and limit.resource_type in ("*", scope.resource_type)
        and scope.permissions <= limit.permissions
        and set(limit.restrictions) <= set(scope.restrictions)
    )
