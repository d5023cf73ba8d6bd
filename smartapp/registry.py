"""The issuer registry: which EHRs this app talks to, and with which credentials.

SMART "best practices" and RFC 9700 4.4 (mix-up): the app accepts an `iss` only if it is
registered and enabled, compared exactly. An unknown `iss` never triggers discovery, a
redirect or the use of any credential.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwk

from smart.url_policy import is_secure_url
from smartapp.models import ClientAuth, EhrConnection
from smart.scopes import LaunchKind
from smartapp.token_client import ClientCredentials

KEY_ALGORITHMS = {"RSA": "RS384", "EC": "ES384"}  # SMART asymmetric: RS384 or ES384 (P-384)


class RegistrationError(ValueError):
    """A registration that would not work; the message says which field."""


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if not is_secure_url(value) or parts.query or parts.fragment:
        raise RegistrationError(f"{name}: an absolute https URL without query or fragment")


def _check_origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/"):
        raise RegistrationError(f"frame origin {value!r}: scheme://host[:port], nothing more")
    return f"{parts.scheme}://{parts.netloc}"


def import_private_pem(pem: str) -> jwk.Key:
    """An RSA or EC private key from PEM, typed explicitly (never guessed as a symmetric key)."""
    for key_type in (jwk.RSAKey, jwk.ECKey):
        try:
            return key_type.import_key(pem)
        except Exception:  # noqa: S112 - not this type; try the next
            continue
    raise RegistrationError("private key: not an RSA or EC PEM private key")


def _signing_key(pem: str) -> tuple[jwk.Key, str]:
    key = import_private_pem(pem)
    if not key.is_private:
        raise RegistrationError("private key: a public key was given")
    alg = KEY_ALGORITHMS.get(key.key_type)
    if alg is None or (key.key_type == "EC" and key.as_dict().get("crv") != "P-384"):
        raise RegistrationError("private key: RSA (RS384) or EC P-384 (ES384) only")
    return key, alg


def register_connection(
    *,
    slug: str,
    name: str,
    iss: str,
    client_id: str,
    client_auth: str,
    client_secret: str | None = None,
    private_key_pem: str | None = None,
    scopes: dict[LaunchKind, str] | None = None,
    frame_origins: Sequence[str] = (),
    enabled: bool = True,
) -> EhrConnection:
    """Create or update (by slug) a connection; secrets are encrypted before they are stored."""
    _check_url("iss", iss)
    if client_auth not in ClientAuth.values:
        raise RegistrationError(f"client_auth: one of {', '.join(ClientAuth.values)}")
    if client_auth == ClientAuth.SECRET_BASIC and not client_secret:
        raise RegistrationError("client_secret_basic needs a client secret")
    if client_auth == ClientAuth.PRIVATE_KEY_JWT and not private_key_pem:
        raise RegistrationError("private_key_jwt needs a private key")
    connection = EhrConnection.objects.filter(slug=slug).first() or EhrConnection(slug=slug)
    connection.name, connection.iss, connection.client_id = name, iss, client_id
    connection.client_auth, connection.enabled = client_auth, enabled
    connection.frame_origins = [_check_origin(origin) for origin in frame_origins]
    for kind, scope in (scopes or {}).items():
        setattr(connection, f"scopes_{kind.value}", " ".join(scope.split()))
    connection.set_secret(
        "client_secret", client_secret if client_auth == ClientAuth.SECRET_BASIC else None
    )
    if client_auth == ClientAuth.PRIVATE_KEY_JWT and private_key_pem:
        key, alg = _signing_key(private_key_pem)
        connection.set_secret("private_key", private_key_pem)
        connection.key_id, connection.signing_alg = key.thumbprint(), alg
    elif client_auth != ClientAuth.PRIVATE_KEY_JWT:
        connection.set_secret("private_key", None)
        connection.key_id = ""
    connection.save()
    return connection


def enabled_connection(iss: str) -> EhrConnection | None:
    """The enabled connection whose FHIR base is exactly `iss`, if any."""
    return EhrConnection.objects.filter(iss=iss, enabled=True).first()


def credentials_for(connection: EhrConnection) -> ClientCredentials:
    if connection.client_auth == ClientAuth.PRIVATE_KEY_JWT:
        return ClientCredentials(
            connection.client_id,
            "private_key_jwt",
            private_key=connection.private_jwk(),
            key_id=connection.key_id,
            alg=connection.signing_alg,
        )
    if connection.client_auth == ClientAuth.SECRET_BASIC:
        return ClientCredentials(
            connection.client_id,
            "client_secret_basic",
            secret=connection.get_secret("client_secret"),
        )
    return ClientCredentials(connection.client_id, "none")


def public_jwks() -> dict[str, Any]:
    """The public halves of every enabled connection's signing key (our JWKS URL)."""
    keys = []
    for connection in EhrConnection.objects.filter(
        enabled=True, client_auth=ClientAuth.PRIVATE_KEY_JWT
    ):
        public = connection.public_jwk()
        if public is not None:
            keys.append(public)
    return {"keys": keys}
