"""Starting a launch: record it, then send the browser to the EHR's authorization endpoint.

SMART App Launch 2.x "app-launch": an EHR launch arrives as `GET /smart/launch?iss=&launch=`
and is accepted only for a registered, enabled `iss` (RFC 9700 4.4, mix-up); a standalone
launch starts from our own pages. Either way the launch gets a fresh PKCE pair (S256), a
256-bit `state` stored only as its hash, a nonce for the id_token, and the scopes its kind
needs (`launch` for EHR launches, `launch/patient` for patients), in the syntax the EHR's
profile speaks. The launch is bound to the browser by a cookie of its own (`browser`); the one
write a valid launch needs is its row, and nothing is written for an invalid one.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from smart.authorize import authorization_url
from smart.discovery import SmartConfiguration, to_json
from smart.errors import BadLaunchRequest, UnknownIssuer
from smart.launch_states import LaunchEvent
from smart.pkce import new_pair
from smart.profiles import profile_for
from smart.scopes import LaunchKind
from smartapp import discovery, registry
from smartapp.clock import clock
from smartapp.diagnostics import recorder
from smartapp.launches.browser import Binding, sha256
from smartapp.models import EhrConnection, Launch

log = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)
STATE_BYTES = 32  # 256 bits; SMART asks for at least 122
HANDLE_BYTES = 16
CONTEXT_SCOPE = {LaunchKind.EHR: "launch", LaunchKind.PATIENT: "launch/patient"}


def redirect_uri() -> str:
    return f"{settings.APP_BASE_URL}/smart/callback"


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the cookie that binds the launch to it."""

    url: str
    binding: Binding


def _with(scope: str, required: str | None) -> str:
    if required is None or required in scope.split():
        return scope
    return f"{required} {scope}"


def requested_scope(
    connection: EhrConnection, kind: LaunchKind, config: SmartConfiguration, scope: str | None
) -> str:
    """The scopes a launch of this kind asks for: `scope` or the connection's, in the syntax
    of the EHR's profile, with the context scope its kind needs (the QA page shows these)."""
    profile = profile_for(connection.profile)
    return _with(
        profile.request_scope(scope or connection.scopes_for(kind), config),
        CONTEXT_SCOPE.get(kind),
    )


def _noted(launch: Launch, config: SmartConfiguration, began: datetime, took_s: float) -> None:
    """Discovery and the redirect, for the launch debugger (the document is public)."""
    recorder.record(
        launch.pk,
        "discovery",
        duration_s=took_s,
        at=began,
        detail={"source": config.source, "document": to_json(config)},
    )
    recorder.record(
        launch.pk,
        "authorize_redirect",
        detail={
            "kind": launch.kind,
            "authorization_endpoint": launch.authorization_endpoint,
            "launch": "from the EHR" if launch.launch_param else "none (standalone)",
        },
    )


def start(
    *,
    connection: EhrConnection,
    kind: LaunchKind,
    launch_param: str | None = None,
    scope: str | None = None,
    handle: str | None = None,
) -> Started:
    """Record a new launch; the authorization URL and the browser binding to set. `handle`
    is chosen by the caller only for `smart_check --launch`, which watches that launch."""
    began, started = clock().now(), time.perf_counter()
    config = discovery.discover(connection)
    discovered_s = time.perf_counter() - started
    requested = requested_scope(connection, kind, config, scope)
    pkce, state, nonce = new_pair(), secrets.token_urlsafe(STATE_BYTES), secrets.token_urlsafe(24)
    binding = Binding.new(handle or secrets.token_urlsafe(HANDLE_BYTES))
    launch = Launch(
        handle=binding.handle,
        connection=connection,
        kind=kind.value,
        browser=binding.hash,
        state_hash=sha256(state),
        state_expires_at=clock().now() + STATE_TTL,
        launch_param=launch_param or "",
        redirect_uri=redirect_uri(),
        nonce=nonce,
        authorization_endpoint=config.authorization_endpoint,
        token_endpoint=config.token_endpoint,
        expected_issuer=config.oidc_issuer or connection.iss,
        iss_required=config.iss_parameter_supported,
        requested_scope=requested,
    )
    launch.transition(LaunchEvent.REDIRECTED)
    launch.set_secret("verifier", pkce.verifier)
    launch.save()
    _noted(launch, config, began, discovered_s)
    log.info(
        "launch started",
        extra={"launch": launch.handle[:6], "kind": kind.value, "ehr": connection.slug},
    )
    url = authorization_url(
        endpoint=config.authorization_endpoint,
        client_id=connection.client_id,
        redirect_uri=launch.redirect_uri,
        scope=requested,
        state=state,
        aud=connection.iss,
        code_challenge=pkce.challenge,
        nonce=nonce,
        launch=launch_param,
    )
    return Started(url, binding)


def start_ehr_launch(*, iss: str | None, launch_param: str | None) -> Started:
    """`GET /smart/launch?iss=...&launch=...` from the EHR."""
    if not iss:
        raise BadLaunchRequest("no iss")
    connection = registry.enabled_connection(iss)
    if connection is None:
        raise UnknownIssuer(f"unregistered iss {iss[:200]!r}")
    if not launch_param:
        raise BadLaunchRequest("no launch")
    return start(connection=connection, kind=LaunchKind.EHR, launch_param=launch_param)
