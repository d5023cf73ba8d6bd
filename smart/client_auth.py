"""Client authentication at the token endpoint, one registered class per method.

RFC 6749 2.3.1 (`client_secret_basic`, `client_secret_post`), RFC 7523 2.2 and SMART App
Launch 2.x "client-confidential-asymmetric" (`private_key_jwt`: a fresh RS384/ES384 assertion
per request, `exp` at most five minutes ahead, a unique `jti`), and public clients (`none`:
the client_id in the body, PKCE the only proof). Authlib does the encoding; each class here
adds what the method needs from a registration and nothing else.

Adding a method = one class with `@register`; `method_for(name)` and the admin's choices find
it. Each method turns a `TokenRequest` into the authenticated one, with no I/O; the time (for
an assertion's `iat` and `exp`) is an input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT as AuthlibPrivateKeyJWT
from joserfc import jwk

ASSERTION_LIFETIME_S = 300  # SMART: the assertion's exp no more than five minutes ahead


@dataclass(frozen=True)
class TokenRequest:
    """A POST to the token or revocation endpoint, as client authentication leaves it."""

    uri: str
    headers: dict[str, str] = field(repr=False)  # may carry Basic credentials
    body: str = field(repr=False)  # may carry a secret or a signed assertion


@dataclass(frozen=True)
class ClientCredentials:
    """How this app is registered at one EHR, secrets decrypted for the call at hand."""

    client_id: str
    method: str
    secret: str | None = field(default=None, repr=False)
    private_key: jwk.Key | None = field(default=None, repr=False)
    key_id: str = ""
    alg: str = "RS384"


class ClientAuthMethod:
    """One way of proving the client's identity at the token and revocation endpoints."""

    name: ClassVar[str]
    label: ClassVar[str]
    needs_secret: ClassVar[bool] = False
    needs_private_key: ClassVar[bool] = False

    def prepare(
        self, credentials: ClientCredentials, request: TokenRequest, now: float
    ) -> TokenRequest:
        raise NotImplementedError


def _apply(auth: Any, request: TokenRequest) -> TokenRequest:
    """Authlib's (method, uri, headers, body) hook convention, on a TokenRequest."""
    uri, headers, body = auth.prepare("POST", request.uri, dict(request.headers), request.body)
    return TokenRequest(uri, headers, body)


_METHODS: dict[str, ClientAuthMethod] = {}


def register(cls: type[ClientAuthMethod]) -> type[ClientAuthMethod]:
    _METHODS[cls.name] = cls()
    return cls


def method_for(name: str) -> ClientAuthMethod:
    try:
        return _METHODS[name]
    except KeyError:
        raise ValueError(f"unknown client authentication method {name!r}") from None


def methods() -> dict[str, ClientAuthMethod]:
    """Every registered method, by its RFC 7591 `token_endpoint_auth_method` name."""
    return dict(_METHODS)


class _AuthlibEncoded(ClientAuthMethod):
    """A method Authlib's ClientAuth encodes from the client id and secret."""

    def prepare(
        self, credentials: ClientCredentials, request: TokenRequest, now: float
    ) -> TokenRequest:
        auth = ClientAuth(credentials.client_id, credentials.secret, self.name)
        return _apply(auth, request)


@register
class Public(_AuthlibEncoded):
    name = "none"
    label = "public (PKCE only)"


@register
class ClientSecretBasic(_AuthlibEncoded):
    name = "client_secret_basic"
    label = "client_secret_basic"
    needs_secret = True


@register
class ClientSecretPost(_AuthlibEncoded):
    name = "client_secret_post"
    label = "client_secret_post"
    needs_secret = True


@register
class PrivateKeyJwt(ClientAuthMethod):
    name = "private_key_jwt"
    label = "private_key_jwt"
    needs_private_key = True

    def prepare(
        self, credentials: ClientCredentials, request: TokenRequest, now: float
    ) -> TokenRequest:
        if credentials.private_key is None:
            raise ValueError("private_key_jwt without a private key")
        issued = int(now)
        signer = AuthlibPrivateKeyJWT(
            request.uri,
            claims={"iat": issued, "exp": issued + ASSERTION_LIFETIME_S},
            headers={"kid": credentials.key_id, "typ": "JWT"},
            alg=credentials.alg,
        )
        return _apply(ClientAuth(credentials.client_id, credentials.private_key, signer), request)
