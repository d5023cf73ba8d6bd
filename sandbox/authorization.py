"""The sandbox's SMART authorization server, built on Authlib's server components.

Authlib supplies RFC 6749 (authorization code and refresh grants, client authentication),
RFC 7636 (PKCE), RFC 7523 (JWT client assertions), RFC 7009 (revocation) and RFC 7662
(introspection). On top, the sandbox adds what SMART App Launch 2.x asks of an EHR, one
module per concern:

- `sandbox.authorize_checks`: PKCE required and S256 only; `aud`, `state`, `launch` and
  scope syntax (v2 syntax is refused by a v1-only server);
- `sandbox.launch_context`: EHR launch contexts;
- `sandbox.client_auth`: `private_key_jwt` with RS384 and ES384 assertions verified against
  the client's JWKS URL, `jti` replay rejected (SMART "client-confidential-asymmetric");
- `sandbox.grants`: token responses with the launch context, and for `openid fhirUser` an
  RS256 id_token (`sandbox.id_tokens`); refresh tokens rotate, and a spent one is reuse:
  refused, and with `refresh: reuse_revokes_family` every token of that authorization is
  revoked;
- `sandbox.grants.SmartClientCredentialsGrant`: SMART Backend Services, `client_credentials`
  with a `private_key_jwt` assertion and `system/` scopes; no user, no context, no refresh;
- `sandbox.revocation_introspection`: RFC 7009 and RFC 7662 endpoints;
- `sandbox.oauth_requests`: the per-request facts (which simulated EHR, its options, the
  consented scope) that ride on the OAuth2Request as `request.sandbox` and `request.pending`.

This module assembles them into the one `server`.
"""

from __future__ import annotations

import uuid
from typing import Any

from authlib.integrations.django_oauth2 import AuthorizationServer
from authlib.integrations.django_oauth2.requests import DjangoOAuth2Request
from authlib.oauth2.rfc6749 import OAuth2Request

from sandbox.authorize_checks import S256Required, SmartAuthorizationChecks
from sandbox.client_auth import PrivateKeyJwt
from sandbox.grants import (
    SmartAuthorizationCodeGrant,
    SmartClientCredentialsGrant,
    SmartRefreshTokenGrant,
)
from sandbox.models import Client, Token
from sandbox.oauth_requests import site_of
from sandbox.revocation_introspection import SmartIntrospectionEndpoint, SmartRevocationEndpoint

SYSTEM_USER = "system"  # `user_ref` of Backend Services tokens: issued to a client, no user


class SandboxAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(Client, Token)
        # Authlib's Django server issues no refresh tokens unless told to.
        self.load_config({"refresh_token_generator": True})
        self.register_grant(
            SmartAuthorizationCodeGrant, [S256Required(required=True), SmartAuthorizationChecks()]
        )
        self.register_grant(SmartRefreshTokenGrant)
        self.register_grant(SmartClientCredentialsGrant)
        self.register_endpoint(SmartRevocationEndpoint)
        self.register_endpoint(SmartIntrospectionEndpoint)
        self.register_client_auth_method("private_key_jwt", self._private_key_jwt)

    @staticmethod
    def _private_key_jwt(query_client: Any, request: Any) -> Client | None:
        authenticate = PrivateKeyJwt(site_of(request).token_url)
        client: Client | None = authenticate(query_client, request)
        return client

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        oauth_request = DjangoOAuth2Request(request)
        oauth_request.sandbox = request.sandbox
        return oauth_request

    def save_token(self, token: dict[str, Any], request: Any) -> Token:
        family, context = uuid.uuid4(), {}  # client_credentials: no user, no launch context
        if request.refresh_token is not None:  # a refresh: same authorization, same family
            previous: Token = request.refresh_token
            family, context = previous.family, previous.context
        elif request.authorization_code is not None:
            context = request.authorization_code.context
        return Token.objects.create(
            client_id=request.client.client_id,
            user_ref=request.user.ref if request.user is not None else SYSTEM_USER,
            base=site_of(request).fhir_base,
            scope=token.get("scope", ""),
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            id_token=token.get("id_token", ""),
            expires_in=token["expires_in"],
            family=family,
            context=context,
        )


server = SandboxAuthorizationServer()
