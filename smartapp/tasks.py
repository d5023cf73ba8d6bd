"""Celery tasks: housekeeping on a schedule (CELERY_BEAT_SCHEDULE) and token revocation after
sign-out. (There is no summary warm-up: the summary page streams its sections as they arrive,
and a warm-up racing it would double the EHR's load for the first page.)

Tasks carry ids, never a token in the clear or PHI: the revocation task's tokens are sealed
with the app's key (`vault.revocation`), so the broker holds nothing usable. They import the
services they run; services never import tasks (views queue them, or the vault looks the
revocation task up by name), so there is no cycle.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from celery import shared_task
from django.conf import settings

from smartapp.audit.retention import archive_and_delete
from smartapp.launches.housekeeping import purge
from smartapp.vault import revocation

log = logging.getLogger(__name__)


@shared_task(name="smartapp.tasks.purge_expired_sessions")
def purge_expired_sessions() -> None:
    """Delete expired sessions; idempotent, so a missed or doubled run does no harm."""
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore.clear_expired()
    log.info("expired sessions purged")


@shared_task(name="smartapp.tasks.purge_launches")
def purge_launches() -> dict[str, int]:
    """Expire abandoned sign-ins and stale sessions; delete long-ended launches. Idempotent."""
    counts = purge()
    log.info("launches purged", extra=counts)
    return counts


@shared_task(name=revocation.TASK, ignore_result=True)
def revoke_tokens(message: dict[str, Any]) -> None:
    """Give a signed-out launch's tokens back to the EHR (RFC 7009); failures are logged."""
    revocation.perform(revocation.Revocation.from_message(message))


@shared_task(name="smartapp.tasks.audit_retention")
def audit_retention() -> dict[str, int]:
    """Archive and delete PHI access rows past AUDIT_RETENTION_DAYS (smartapp.audit.retention).
    Idempotent: a run with nothing due writes nothing."""
    counts = archive_and_delete()
    log.info("audit retention done", extra=counts)
    return counts


# Extraction's tasks live beside their services; importing them here registers them.
from smartapp.extraction import tasks as extraction_tasks  # noqa: E402,F401
