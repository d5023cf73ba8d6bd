"""Authlib requests as the sandbox's authorization server sees them.

Per-request facts (which simulated EHR, its options, the consented scope) ride on the
OAuth2Request as `request.sandbox` and `request.pending`. The authorize pages replay the
request from their signed `txn` as a `StoredAuthorizationRequest` once the user has signed in
and consented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from django.http import HttpRequest

from sandbox.site import SandboxSite


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


def site_of(request: Any) -> SandboxSite:
    """The simulated EHR an Authlib request is talking to."""
    site: SandboxSite = request.sandbox
    return site


def oauth_request_for(request: HttpRequest, site: SandboxSite) -> HttpRequest:
    """Attach the simulated EHR to a Django request before Authlib sees it."""
    request.sandbox = site  # type: ignore[attr-defined]
    return request
