"""Checks on the authorization request beyond RFC 6749, as SMART App Launch 2.x asks of an EHR.

- PKCE is mandatory and S256 only (Authlib lets confidential clients skip it and allows
  `plain`; SMART 2 "app-launch" says servers SHALL require S256).
- `aud` must equal the FHIR base; `state` is required; `launch` must name a live launch
  context for this client; every scope must be one the server understands (`smart.scopes`:
  v2 syntax is refused by a v1-only server).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError
from authlib.oauth2.rfc7636 import CodeChallenge

from sandbox.launch_context import find_launch
from sandbox.oauth_requests import site_of
from smart.scopes import is_known_scope


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
        site = site_of(request)
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
