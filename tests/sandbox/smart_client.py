"""An independent SMART client for testing the sandbox over real HTTP.

Written from the specs (SMART App Launch 2.x, RFC 6749, RFC 7636, RFC 7523), sharing no code
with the app's launch engine, so a bug in one cannot hide a bug in the other.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwk, jwt

from sandbox.walk import walk_authorization
from tests.fixtures.http import new_http_client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)  # 64 characters
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@dataclass
class Callback:
    """What came back to the redirect URI."""

    params: dict[str, str]
    verifier: str
    nonce: str
    state: str

    @property
    def code(self) -> str:
        return self.params["code"]


@dataclass
class SmartClient:
    base: str  # the FHIR base (iss)
    client_id: str
    redirect_uri: str = "http://localhost:8000/smart/callback"
    secret: str | None = None
    secret_in_body: bool = False
    key: jwk.Key | None = None  # private_key_jwt signing key (with kid)
    alg: str = "RS384"
    http: httpx.Client = field(default_factory=lambda: new_http_client())
    config: dict[str, Any] = field(default_factory=dict)

    # --- discovery ----------------------------------------------------------------------

    def discover(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base}/.well-known/smart-configuration")
        response.raise_for_status()
        self.config = response.json()
        return self.config

    def endpoint(self, name: str) -> str:
        if not self.config:
            self.discover()
        return str(self.config[name])

    # --- authorization ------------------------------------------------------------------

    def authorize_url(
        self,
        scope: str,
        *,
        state: str,
        challenge: str | None,
        nonce: str = "",
        method: str | None = "S256",
        aud: str | None = None,
        launch: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri or self.redirect_uri,
            "scope": scope,
            "state": state,
            "aud": self.base if aud is None else aud,
        }
        if challenge is not None:
            params["code_challenge"] = challenge
        if method is not None:
            params["code_challenge_method"] = method
        if nonce:
            params["nonce"] = nonce
        if launch:
            params["launch"] = launch
        return f"{self.endpoint('authorization_endpoint')}?{urlencode(params)}"

    def authorize(
        self,
        scope: str,
        *,
        user: str | None = "Patient/pat-01",
        patient: str | None = None,
        untick: tuple[str, ...] = (),
        deny: bool = False,
        launch: str | None = None,
        **url_options: Any,
    ) -> Callback | httpx.Response:
        """Walk the sandbox's pages like a user; the callback, or the page where it stopped."""
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        url = self.authorize_url(
            scope, state=state, challenge=challenge, nonce=nonce, launch=launch, **url_options
        )
        redirect_uri = url_options.get("redirect_uri") or self.redirect_uri
        landed = walk_authorization(
            self.http, url, redirect_uri, user=user, patient=patient, untick=untick, deny=deny
        )
        if isinstance(landed, httpx.Response):
            return landed
        query = {k: v[0] for k, v in parse_qs(urlsplit(landed).query).items()}
        return Callback(query, verifier, nonce, state)

    # --- token endpoint -----------------------------------------------------------------

    def _client_auth(self) -> tuple[dict[str, str], Any]:
        if self.key is not None:
            now = int(time.time())
            claims = {
                "iss": self.client_id,
                "sub": self.client_id,
                "aud": self.endpoint("token_endpoint"),
                "exp": now + 120,
                "iat": now,
                "jti": uuid.uuid4().hex,
            }
            assertion = jwt.encode(
                {"alg": self.alg, "kid": self.key.kid, "typ": "JWT"},
                claims,
                self.key,
                algorithms=[self.alg],
            )
            return {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            }, httpx.USE_CLIENT_DEFAULT
        if self.secret is not None and not self.secret_in_body:
            return {}, httpx.BasicAuth(self.client_id, self.secret)
        if self.secret is not None:
            return {
                "client_id": self.client_id,
                "client_secret": self.secret,
            }, httpx.USE_CLIENT_DEFAULT
        return {"client_id": self.client_id}, httpx.USE_CLIENT_DEFAULT

    def post_token(self, form: dict[str, str], url: str | None = None) -> httpx.Response:
        extra, auth = self._client_auth()
        return self.http.post(
            url or self.endpoint("token_endpoint"), data={**form, **extra}, auth=auth
        )

    def exchange(self, callback: Callback, **override: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": callback.code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": callback.verifier,
        }
        form.update(override)
        return self.post_token({k: v for k, v in form.items() if v is not None})

    def refresh(self, refresh_token: str) -> httpx.Response:
        return self.post_token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token: str, hint: str | None = None) -> httpx.Response:
        form = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return self.post_token(form, self.endpoint("revocation_endpoint"))

    def introspect(self, token: str) -> dict[str, Any]:
        response = self.post_token({"token": token}, self.endpoint("introspection_endpoint"))
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def launch(self, scope: str, **kwargs: Any) -> dict[str, Any]:
        """Authorize and exchange in one go; the token response."""
        callback = self.authorize(scope, **kwargs)
        assert isinstance(callback, Callback), getattr(callback, "text", callback)
        response = self.exchange(callback)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    # --- FHIR ---------------------------------------------------------------------------

    def fhir(self, path: str, access_token: str, **params: Any) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base}/{path}"
        return self.http.get(
            url,
            params=params or None,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/fhir+json"},
        )
