"""Extraction's Celery tasks: thin wrappers, named so `dispatch.enqueue` can send them by
name. Each carries ids only; each is safe to run twice (the services re-check state under
a lock). `smartapp.tasks` imports this module so the worker registers them."""

from __future__ import annotations

import logging

from celery import shared_task

from smart import bulk
from smartapp.extraction import files, jobs
from smartapp.extraction.jobs import TASK_FILE, TASK_KICK_OFF, TASK_POLL
from smartapp.models import EhrConnection

log = logging.getLogger(__name__)


@shared_task(name=TASK_KICK_OFF, ignore_result=True)
def kick_off(job_id: str) -> None:
    jobs.kick_off(job_id)


@shared_task(name=TASK_POLL, ignore_result=True)
def poll(job_id: str) -> None:
    jobs.poll(job_id)


# Acknowledged after it ran, and given back to the broker if its worker process dies: with
# the lease (files.py) a crashed worker's file is loaded again, once in effect.
@shared_task(name=TASK_FILE, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def load_file(file_id: str) -> None:
    files.load_file(file_id)


@shared_task(name="extraction.supervise", ignore_result=True)
def supervise() -> dict[str, int]:
    return files.supervise()


@shared_task(name="extraction.nightly", ignore_result=True)
def nightly() -> int:
    """An incremental run per enabled connection with backend services (CELERY_BEAT_SCHEDULE);
    a connection with a run still going is skipped."""
    started = 0
    for connection in EhrConnection.objects.filter(enabled=True).exclude(backend_client_id=""):
        if connection.extraction_jobs.exclude(state__in=("done", "failed", "cancelled")).exists():
            continue
        try:
            jobs.start(connection, level=bulk.ExportLevel.SYSTEM, requested_by="nightly")
            started += 1
        except jobs.JobRefused as exc:
            log.warning("nightly extraction not started", extra={"why": str(exc)})
    return started
