"""Token revocation (RFC 7009) and introspection (RFC 7662), per simulated EHR.

A token is looked up by its access or refresh value on the base it was issued for. Revoking
a refresh token ends the whole grant (RFC 7009 2.1); revoking an access token only that one.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from sandbox.client_auth import CLIENT_AUTH_METHODS
from sandbox.grants import revoke_family
from sandbox.models import Client, Token
from sandbox.oauth_requests import site_of


def _query_token(request: Any) -> Token | None:
    """The token named by the request's `token` form field, issued for this EHR."""
    token_string = request.form["token"]
    base = site_of(request).fhir_base
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
