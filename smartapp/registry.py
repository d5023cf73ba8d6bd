"""The issuer registry: which EHRs this app talks to, and with which credentials.

SMART "best practices" and RFC 9700 4.4 (mix-up): the app accepts an `iss` only if it is
registered and enabled, compared exactly. An unknown `iss` never triggers discovery, a
redirect or the use of any credential. How the app authenticates at each EHR is one of the
registered methods in `smart.client_auth`; its quirks, one of the profiles in
`smart.profiles`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from smart import client_auth
from smart.client_auth import ClientCredentials
from smart.keys import UnusableKey, signing_key
from smart.profiles import profiles
from smart.scopes import LaunchKind
from smart.url_policy import is_secure_url
from smartapp.models import EhrConnection


class RegistrationError(ValueError):
    """A registration that would not work; the message says which field."""


@dataclass(frozen=True)
class Registration:
    """What an administrator says about one EHR (ehr_register, the admin, the demo seed)."""

    slug: str
    name: str
    iss: str
    client_id: str
    client_auth: str
    client_secret: str | None = field(default=None, repr=False)
    private_key_pem: str | None = field(default=None, repr=False)
    scopes: dict[LaunchKind, str] | None = None
    frame_origins: Sequence[str] = ()
    enabled: bool = True
    profile: str = "generic"
    # SMART Backend Services, for extraction: its own client id and signing key.
    backend_client_id: str | None = None
    backend_key_pem: str | None = field(default=None, repr=False)
    system_scopes: str | None = None


def _check_url(name: str, value: str) -> None:
    parts = urlsplit(value)
    if not is_secure_url(value) or parts.query or parts.fragment:
        raise RegistrationError(f"{name}: an absolute https URL without query or fragment")


def _check_origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/"):
        raise RegistrationError(f"frame origin {value!r}: scheme://host[:port], nothing more")
    return f"{parts.scheme}://{parts.netloc}"


def checked_signing_key(pem: str) -> tuple[Any, str]:
    try:
        return signing_key(pem)
    except UnusableKey as exc:
        raise RegistrationError(str(exc)) from exc


_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def _check_fits(registration: Registration) -> None:
    """What the table can hold, said before the database refuses it with a trace."""
    if not _SLUG.fullmatch(registration.slug):
        raise RegistrationError("slug: 1 to 50 letters, digits, '-' or '_'")
    for name, limit in (("iss", 500), ("name", 200), ("client_id", 200)):
        if not 0 < len(getattr(registration, name)) <= limit:
            raise RegistrationError(f"{name}: 1 to {limit} characters")


def _check(registration: Registration) -> client_auth.ClientAuthMethod:
    _check_fits(registration)
    _check_url("iss", registration.iss)
    known = client_auth.methods()
    method = known.get(registration.client_auth)
    if method is None:
        raise RegistrationError(f"client_auth: one of {', '.join(known)}")
    if method.needs_secret and not registration.client_secret:
        raise RegistrationError(f"{method.name} needs a client secret")
    if method.needs_private_key and not registration.private_key_pem:
        raise RegistrationError(f"{method.name} needs a private key")
    if registration.profile not in profiles():
        raise RegistrationError(f"profile: one of {', '.join(profiles())}")
    if bool(registration.backend_client_id) != bool(registration.backend_key_pem):
        raise RegistrationError("backend services: a client id and a private key, together")
    if registration.system_scopes and not all(
        scope.startswith("system/") for scope in registration.system_scopes.split()
    ):
        raise RegistrationError("system scopes: system/... scopes only")
    return method


def _set_backend(connection: EhrConnection, registration: Registration) -> None:
    """SMART Backend Services: private_key_jwt with its own key (RS384 or ES384)."""
    if registration.system_scopes is not None:
        connection.system_scopes = " ".join(registration.system_scopes.split())
    if not registration.backend_client_id or not registration.backend_key_pem:
        return
    key, alg = checked_signing_key(registration.backend_key_pem)
    connection.backend_client_id = registration.backend_client_id
    connection.set_secret("backend_key", registration.backend_key_pem)
    connection.backend_key_id, connection.backend_alg = key.thumbprint(), alg


def register(registration: Registration) -> EhrConnection:
    """Create or update (by slug) a connection; secrets are encrypted before they are stored."""
    method = _check(registration)
    owner = EhrConnection.objects.filter(iss=registration.iss).exclude(slug=registration.slug)
    if taken := owner.values_list("slug", flat=True).first():
        # One iss, one connection: the callback finds its connection by iss alone (mix-up).
        raise RegistrationError(f"iss: already registered as {taken!r}")
    connection = EhrConnection.objects.filter(slug=registration.slug).first()
    connection = connection or EhrConnection(slug=registration.slug)
    connection.name, connection.iss = registration.name, registration.iss
    connection.client_id, connection.client_auth = registration.client_id, method.name
    connection.enabled, connection.profile = registration.enabled, registration.profile
    connection.frame_origins = [_check_origin(origin) for origin in registration.frame_origins]
    for kind, scope in (registration.scopes or {}).items():
        setattr(connection, f"scopes_{kind.value}", " ".join(scope.split()))
    connection.set_secret(
        "client_secret", registration.client_secret if method.needs_secret else None
    )
    if method.needs_private_key and registration.private_key_pem:
        key, alg = checked_signing_key(registration.private_key_pem)
        connection.set_secret("private_key", registration.private_key_pem)
        connection.key_id, connection.signing_alg = key.thumbprint(), alg
    elif not method.needs_private_key:
        connection.set_secret("private_key", None)
        connection.key_id = ""
    _set_backend(connection, registration)
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as exc:  # a registration of the same slug or iss raced this one
        raise RegistrationError("slug or iss: registered by someone else meanwhile") from exc
    return connection


def register_connection(**fields: Any) -> EhrConnection:
    """`register` with keyword arguments (the management command, the demo seed, tests)."""
    return register(Registration(**fields))


def enabled_connection(iss: str) -> EhrConnection | None:
    """The enabled connection whose FHIR base is exactly `iss`, if any."""
    return EhrConnection.objects.filter(iss=iss, enabled=True).first()


def credentials_for(connection: EhrConnection) -> ClientCredentials:
    """The connection's client credentials, secrets decrypted for the call at hand."""
    method = client_auth.method_for(connection.client_auth)
    return ClientCredentials(
        connection.client_id,
        method.name,
        secret=connection.get_secret("client_secret") if method.needs_secret else None,
        private_key=connection.private_jwk() if method.needs_private_key else None,
        key_id=connection.key_id,
        alg=connection.signing_alg,
    )


def backend_credentials_for(connection: EhrConnection) -> ClientCredentials:
    """SMART Backend Services credentials: private_key_jwt with the backend key."""
    return ClientCredentials(
        connection.backend_client_id,
        "private_key_jwt",
        private_key=connection.backend_jwk(),
        key_id=connection.backend_key_id,
        alg=connection.backend_alg,
    )


def public_jwks() -> dict[str, Any]:
    """The public halves of every enabled connection's signing key (our JWKS URL).

    Each key once, however many connections use it: RFC 7517 4.5 asks for distinct `kid`s in
    a set, and authorization servers refuse an assertion whose `kid` matches two keys.
    """
    keys: dict[str, dict[str, Any]] = {}
    for connection in EhrConnection.objects.filter(enabled=True):
        for public in (connection.public_jwk(), connection.backend_public_jwk()):
            if public is not None:
                keys.setdefault(str(public["kid"]), public)
    return {"keys": list(keys.values())}
