"""SMART Backend Services access tokens for extraction, one request in flight per connection.

SMART App Launch 2.x "backend-services.html": the client_credentials grant (RFC 6749 4.4)
authenticated with a private_key_jwt assertion (RFC 7523; `smart.client_auth` signs a fresh
one per request, RS384 or ES384, `exp` at most five minutes ahead, a new `jti` each time),
`system/` scopes (v2 syntax, or v1 `.read` for SMART 1.0-era servers), no refresh token.

The token is kept until shortly before it expires, encrypted (`smartapp.secretbox`, bound
to the connection) in the shared cache, so every worker on every host uses one token. When it
must be renewed, `vault.lock.single_flight` lets one caller ask while the others wait and
then read what it stored (the refresh lock's design: lock, re-read, then decide).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache

from smart import bulk
from smart.errors import SmartAppError
from smart.scopes import for_server
from smartapp import discovery, token_endpoint
from smartapp.clock import clock
from smartapp.lock_objects import connection_qs_for_update
from smartapp.models import EhrConnection
from smartapp.registry import backend_credentials_for
from smartapp.secretbox import binding, secret_box
from smartapp.vault.lock import single_flight

log = logging.getLogger(__name__)

RENEW_BEFORE_S = 60  # a token this close to expiry is renewed, not handed out
LOCK_WAIT_S = 20.0
LOCK_TTL_S = 45.0  # longer than a token request can take (token_endpoint's own limit is 30)


class BackendServicesMissing(SmartAppError):
    code = "backend_services_missing"
    title = "Extraction is not set up for this EHR"
    message = (
        "This connection has no backend services client: register one with "
        "`manage.py ehr_register --backend-key FILE`."
    )


@dataclass(frozen=True)
class SystemToken:
    access_token: str = field(repr=False)
    scope: str
    expires_at: datetime

    def fresh(self, now: datetime, margin_s: float = RENEW_BEFORE_S) -> bool:
        return self.expires_at - timedelta(seconds=margin_s) > now


def default_scopes() -> str:
    """Read (and search) of every type the canonical store keeps, at system level, and of
    Group (a Group-level export reads its members to check what it is sent)."""
    return " ".join(f"system/{rtype}.rs" for rtype in (*bulk.CANONICAL_TYPES, "Group"))


def requested_scope(connection: EhrConnection, *, supports_v2: bool) -> str:
    return for_server(connection.system_scopes or default_scopes(), supports_v2=supports_v2)


def _key(connection: EhrConnection) -> str:
    return f"backend-token:{connection.pk}"


def _bound(connection: EhrConnection) -> str:
    return binding("backend-token", connection.pk, "access_token")


def _cached(connection: EhrConnection) -> SystemToken | None:
    sealed = cache.get(_key(connection))
    if not isinstance(sealed, str):
        return None
    try:
        data = json.loads(secret_box().decrypt(sealed, bound_to=_bound(connection)))
        return SystemToken(
            data["access_token"], data["scope"], datetime.fromisoformat(data["expires_at"])
        )
    except (ValueError, KeyError, TypeError):
        return None


def _store(connection: EhrConnection, token: SystemToken, lifetime_s: int) -> None:
    plain = json.dumps(
        {
            "access_token": token.access_token,
            "scope": token.scope,
            "expires_at": token.expires_at.isoformat(),
        }
    )
    sealed = secret_box().encrypt(plain, bound_to=_bound(connection))
    cache.set(_key(connection), sealed, timeout=max(1, lifetime_s - RENEW_BEFORE_S))


def forget(connection: EhrConnection) -> None:
    """Drop the cached token (the EHR answered 401 to it)."""
    cache.delete(_key(connection))


def system_token(connection: EhrConnection) -> SystemToken:
    """A token with at least RENEW_BEFORE_S to live: the cached one, or a new one."""
    if not connection.has_backend_services:
        raise BackendServicesMissing(f"connection {connection.slug} has no backend client")
    now = clock().now()
    found = _cached(connection)
    if found is not None and found.fresh(now):
        return found
    with single_flight(
        _key(connection),
        lambda: connection_qs_for_update(connection.pk).first(),
        LOCK_WAIT_S,
        LOCK_TTL_S,
    ):
        found = _cached(connection)  # another worker may have renewed it meanwhile
        if found is not None and found.fresh(clock().now()):
            return found
        return _request(connection)


def _request(connection: EhrConnection) -> SystemToken:
    config = discovery.discover(connection)
    scope = requested_scope(connection, supports_v2=config.supports_v2_scopes)
    answer = token_endpoint.request_token(
        backend_credentials_for(connection),
        config.token_endpoint,
        grant_type="client_credentials",
        scope=scope,
    )
    issued = clock().now()
    token = SystemToken(
        answer.access_token, answer.scope, issued + timedelta(seconds=answer.expires_in)
    )
    _store(connection, token, answer.expires_in)
    log.info(
        "backend services token issued",
        extra={"connection": connection.slug, "expires_in": answer.expires_in},
    )
    return token
