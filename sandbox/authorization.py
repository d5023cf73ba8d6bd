"""The sandbox's SMART authorization server, built on Authlib's server components.

Authlib supplies RFC 6749 (authorization code and refresh grants, client authentication),
RFC 7636 (PKCE), RFC 7523 (JWT client assertions), RFC 7009 (revocation) and RFC 7662
(introspection). On top, this module adds what SMART App Launch 2.x asks of an EHR:

- PKCE is mandatory and S256 only (Authlib lets confidential clients skip it and allows
  `plain`; SMART 2 "app-launch" says servers SHALL require S256).
- `aud` must equal the FHIR base; `launch` must name a live launch context for this client;
  every scope must be one the server understands (v2 syntax is refused by a v1-only server).
- `private_key_jwt` accepts RS384 and ES384 assertions verified against the client's JWKS URL,
  with `jti` replay rejected (SMART "client-confidential-asymmetric").
- Token responses carry the launch context and, for `openid fhirUser`, an RS256 id_token.
- Refresh tokens rotate; presenting a spent one is reuse: refused, and with
  `refresh: reuse_revokes_family` every token of that authorization is revoked.

Per-request facts (which simulated EHR, its options, the consented scope) ride on the
OAuth2Request as `request.sandbox` and `request.pending`.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from joserfc import jwk, jwt
from joserfc.errors import JoseError

from sandbox import stats
from sandbox.models import AuthorizationCode, Client, Launch, SigningKey, Token, UsedJti
from sandbox.site import SandboxSite
from smart.scopes import is_known_scope

log = logging.getLogger(__name__)

CODE_TTL_S = 60
LAUNCH_TTL_S = 3600
ID_TOKEN_TTL_S = 300
ASSERTION_ALGORITHMS = ["RS384", "ES384"]
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]


@dataclass(frozen=True)
class SandboxUser:
    """The signed-in user: `Practitioner/<id>` or `Patient/<id>`."""

    ref: str

    @property
    def pk(self) -> str:  # Authlib reads `user.pk` in its default save_token
        return self.ref


class StoredAuthorizationRequest(OAuth2Request):  # type: ignore[misc]
    """An authorization request replayed from the session after sign-in and consent."""

    def __init__(self, uri: str, params: dict[str, str]) -> None:
        super().__init__("GET", uri)
        self.payload = BasicOAuth2Payload(params)
        self._params = params

    @property
    def args(self) -> dict[str, str]:
        return self._params

    @property
    def form(self) -> dict[str, str]:
        return {}


def _site(request: Any) -> SandboxSite:
    site: SandboxSite = request.sandbox
    return site


# --- PKCE and SMART checks on the authorization request ---------------------------------


class S256Required(CodeChallenge):  # type: ignore[misc]
    """RFC 7636 with SMART's rule: a challenge is required, and only S256 is accepted."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ("S256",)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: missing 'code_challenge'")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE: 'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class SmartAuthorizationChecks:
    """`aud`, `state`, `launch` and scope syntax, as SMART App Launch 2.x asks."""

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.validate)

    def validate(self, grant: Any, redirect_uri: str) -> None:
        request = grant.request
        site = _site(request)
        data = request.payload.data
        if data.get("aud") != site.fhir_base:
            raise InvalidRequestError("'aud' must be this server's FHIR base URL")
        if not data.get("state"):
            raise InvalidRequestError("'state' is required")
        requested = (data.get("scope") or "").split()
        if not requested:
            raise InvalidScopeError("no scope requested")
        unknown = [s for s in requested if not is_known_scope(s, smart_version=site.options.smart)]
        if unknown:
            raise InvalidScopeError(f"unsupported scopes: {' '.join(unknown)}")
        launch = data.get("launch")
        if launch and "launch" not in requested:
            raise InvalidScopeError("a 'launch' parameter needs the 'launch' scope")
        if "launch" in requested:
            if not launch:
                raise InvalidRequestError("the 'launch' scope needs a 'launch' parameter")
            if find_launch(launch, site, request.client.client_id) is None:
                raise InvalidRequestError("unknown or expired 'launch'")


def find_launch(launch_id: str, site: SandboxSite, client_id: str) -> Launch | None:
    return Launch.objects.filter(
        launch_id=launch_id,
        base=site.fhir_base,
        client_id=client_id,
        created__gt=time.time() - LAUNCH_TTL_S,
    ).first()


# --- client authentication: private_key_jwt ---------------------------------------------


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client assertions per SMART "client-confidential-asymmetric"."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_url: str) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self._audiences = [token_url]

    def get_audiences(self) -> list[str]:
        return self._audiences

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="client assertion rejected") from exc
        self.verify_claims(token.claims)
        if token.claims.get("exp", 0) > time.time() + 300 + self.leeway:
            raise InvalidClientError(description="client assertion lives longer than 5 minutes")
        claims: dict[str, Any] = token.claims
        return claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        try:
            with transaction.atomic():
                UsedJti.objects.create(
                    client_id=claims["sub"], jti=jti, expires_at=float(claims["exp"])
                )
        except IntegrityError:
            return False
        return True

    def resolve_client_public_key(self, client: Client) -> jwk.KeySet:
        if not client.jwks_uri:
            raise InvalidClientError(description="the client has no JWKS URL")
        try:
            response = httpx.get(client.jwks_uri, timeout=5.0)
            response.raise_for_status()
            return jwk.KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise InvalidClientError(description="could not read the client's JWKS") from exc


# --- grants -------------------------------------------------------------------------------


def signing_key() -> jwk.RSAKey:
    row = SigningKey.objects.order_by("created").first()
    if row is None:
        key = jwk.RSAKey.generate_key(2048, private=True)
        kid = uuid.uuid4().hex[:16]
        try:
            with transaction.atomic():
                SigningKey.objects.create(
                    kid=kid, private_jwk={**key.as_dict(private=True), "kid": kid}
                )
        except IntegrityError:
            pass
        row = SigningKey.objects.order_by("created").first()
        assert row is not None
    return jwk.RSAKey.import_key(row.private_jwk)


def public_jwks() -> dict[str, Any]:
    key = signing_key()
    public = key.as_dict(private=False)
    public.update(use="sig", alg="RS256", kid=key.kid or "")
    return {"keys": [public]}


def make_id_token(site: SandboxSite, client_id: str, user_ref: str, nonce: str) -> str:
    """OpenID Connect Core 2: iss, sub, aud, exp, iat (+nonce), plus SMART's fhirUser.

    The `id_token` simulation option spoils one aspect, for testing clients' validation.
    """
    now = int(time.time())
    fault = site.options.id_token
    claims: dict[str, Any] = {
        "iss": site.fhir_base,
        "sub": user_ref.split("/", 1)[1],
        "aud": client_id,
        "iat": now,
        "exp": now + ID_TOKEN_TTL_S,
        "fhirUser": f"{site.fhir_base}/{user_ref}",
    }
    if nonce:
        claims["nonce"] = nonce
    if fault == "wrong_aud":
        claims["aud"] = "some-other-app"
    elif fault == "wrong_nonce":
        claims["nonce"] = "not-the-nonce-you-sent"
    elif fault == "wrong_iss":
        claims["iss"] = "https://elsewhere.example/fhir"
    elif fault == "expired":
        claims["iat"], claims["exp"] = now - 3600, now - 1800
    key = signing_key()
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    if fault == "bad_signature":  # signed by a stranger under our key id
        return str(jwt.encode(header, claims, jwk.RSAKey.generate_key(2048, private=True)))
    return str(jwt.encode(header, claims, key))


class SmartTokenMixin:
    """Token lifetime from the simulated EHR's options, and SMART's extra response fields."""

    request: Any

    def smart_token(self, token: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        site = _site(self.request)
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
            base=_site(request).fhir_base,
            nonce=request.payload.data.get("nonce") or "",
            code_challenge=request.payload.data["code_challenge"],
            code_challenge_method=request.payload.data["code_challenge_method"],
            context=pending["context"],
            expires_at=time.time() + CODE_TTL_S,
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        row = AuthorizationCode.objects.filter(
            code=code, client_id=client.client_id, base=_site(self.request).fhir_base
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
        site = _site(self.request)
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
        site = _site(self.request)
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
        site = _site(self.request)
        scope = self.request.payload.scope or refresh_token.get_scope()
        token: dict[str, Any] = self.generate_token(
            user=user, scope=scope, include_refresh_token=site.options.refresh != "static"
        )
        return self.smart_token(token, refresh_token.context)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        if _site(self.request).options.refresh != "static":
            refresh_token.rotated = True
            refresh_token.save(update_fields=["rotated"])


# --- the server ---------------------------------------------------------------------------


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(Client, Token)
        # Authlib's Django server issues no refresh tokens unless told to.
        self.load_config({"refresh_token_generator": True})
        self.register_grant(
            SmartAuthorizationCodeGrant, [S256Required(required=True), SmartAuthorizationChecks()]
        )
        self.register_grant(SmartRefreshTokenGrant)
        self.register_endpoint(SmartRevocationEndpoint)
        self.register_endpoint(SmartIntrospectionEndpoint)
        self.register_client_auth_method("private_key_jwt", self._private_key_jwt)

    @staticmethod
    def _private_key_jwt(query_client: Any, request: Any) -> Client | None:
        authenticate = PrivateKeyJwt(_site(request).token_url)
        client: Client | None = authenticate(query_client, request)
        return client

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        oauth_request = DjangoOAuth2Request(request)
        oauth_request.sandbox = request.sandbox
        return oauth_request

    def save_token(self, token: dict[str, Any], request: Any) -> Token:
        if request.refresh_token is not None:  # a refresh: same authorization, same family
            previous: Token = request.refresh_token
            family, context = previous.family, previous.context
            refresh = token.get("refresh_token")
        else:
            family, context = uuid.uuid4(), request.authorization_code.context
            refresh = token.get("refresh_token")
        return Token.objects.create(
            client_id=request.client.client_id,
            user_ref=request.user.ref,
            base=_site(request).fhir_base,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=refresh,
            id_token=token.get("id_token", ""),
            expires_in=token["expires_in"],
            family=family,
            context=context,
        )


def revoke_family(family: uuid.UUID) -> None:
    Token.objects.filter(family=family).update(access_revoked=True, refresh_revoked=True)


def _query_token(request: Any) -> Token | None:
    """The token named by the request's `token` form field, issued for this EHR."""
    token_string = request.form["token"]
    base = _site(request).fhir_base
    token = (
        Token.objects.filter(access_token=token_string, base=base).first()
        or Token.objects.filter(refresh_token=token_string, base=base).first()
    )
    if token is not None:
        token.presented_as_refresh = token_string == token.refresh_token
    return token


class SmartRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_token(self, request: Any, client: Client) -> Token | None:
        self.check_params(request, client)
        token = _query_token(request)
        if token is not None and not token.check_client(client):
            raise InvalidGrantError()
        return token

    def revoke_token(self, token: Token, request: Any) -> None:
        # RFC 7009 2.1: revoking a refresh token should end the whole grant.
        if token.presented_as_refresh:
            revoke_family(token.family)
        else:
            Token.objects.filter(pk=token.pk).update(access_revoked=True)


class SmartIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def authenticate_token(self, request: Any, client: Client) -> Token | None:
        self.check_params(request, client)
        token = _query_token(request)
        return token if token is not None and token.check_client(client) else None

    def create_introspection_payload(self, token: Token | None) -> dict[str, Any]:
        if token is None:
            return {"active": False}
        if token.presented_as_refresh:
            active = not (token.refresh_revoked or token.rotated)
        else:
            active = not (token.access_revoked or token.is_expired())
        return self.introspect_token(token) if active else {"active": False}

    def introspect_token(self, token: Token) -> dict[str, Any]:
        body: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": token.token_type,
            "sub": token.user_ref,
            "iat": int(token.issued_at),
            "exp": int(token.issued_at + token.expires_in),
            "iss": token.base,
        }
        if token.context.get("patient"):
            body["patient"] = token.context["patient"]
        return body


server = SandboxAuthorizationServer()


def oauth_request_for(request: HttpRequest, site: SandboxSite) -> HttpRequest:
    """Attach the simulated EHR to a Django request before Authlib sees it."""
    request.sandbox = site  # type: ignore[attr-defined]
    return request


def new_launch_id() -> str:
    return secrets.token_urlsafe(24)
