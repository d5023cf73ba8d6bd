"""Housekeeping, idempotent: expire what was abandoned, end stale sessions, delete the old.

Every state change goes through `Launch.transition` under the launch's row lock, like any
other: housekeeping has no back door into the state column.

- `started` / `authorizing` / `exchanging` past the 10-minute authorization window:
  `expired`, and the encrypted PKCE verifier is wiped (an exchange stuck there means the
  process died mid-way);
- `active` but untouched for longer than the session lifetime: the grant ends;
- ended launches older than the retention period: deleted with their grants and the steps
  the launch debugger shows;
- the use-case API's expired service-client access tokens: deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from smart.errors import LaunchEnded
from smart.launch_states import TERMINAL, LaunchEvent, LaunchState
from smartapp.api_clients import credentials
from smartapp.clock import clock
from smartapp.lock_objects import launch_qs_for_update
from smartapp.models import Launch, TokenGrant
from smartapp.vault import tokens

ENDED_RETENTION = timedelta(days=7)  # ended launches kept this long for support, then deleted
UNFINISHED = (LaunchState.STARTED, LaunchState.AUTHORIZING, LaunchState.EXCHANGING)


def _expire_abandoned(now: datetime) -> int:
    expired = 0
    for pk in Launch.objects.filter(state__in=UNFINISHED, state_expires_at__lt=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            launch = launch_qs_for_update(pk).first()
            if launch is None or launch.state not in UNFINISHED:
                continue  # moved on since we looked
            launch.transition(LaunchEvent.TIMED_OUT)
            launch.verifier_encrypted = ""
            launch.save(update_fields=["state", "verifier_encrypted", "updated"])
            expired += 1
    return expired


def purge(now: datetime | None = None) -> dict[str, int]:
    now = now or clock().now()
    expired = _expire_abandoned(now)
    idle = Launch.objects.filter(
        state=LaunchState.ACTIVE, updated__lt=now - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )
    ended = 0
    for launch in idle.select_related("connection"):
        tokens.end_grant(launch, LaunchEnded("session lifetime over"), LaunchEvent.TIMED_OUT)
        ended += 1
    _, removed = Launch.objects.filter(
        state__in=[s.value for s in TERMINAL], updated__lt=now - ENDED_RETENTION
    ).delete()  # their grants and recorded steps go with them
    deleted = removed.get(Launch._meta.label, 0)
    orphans, _ = TokenGrant.objects.exclude(launch__state=LaunchState.ACTIVE).delete()
    api_tokens = credentials.purge_expired(now)
    return {
        "expired": expired,
        "ended": ended,
        "deleted": deleted,
        "orphan_grants": orphans,
        "api_tokens": api_tokens,
    }
