"""Giving tokens back to the EHR (RFC 7009), off the user's path.

Sign-out forgets the tokens here at once (the grant row and cached PHI are deleted before the
user's page is answered) and hands the revocation to the background: a slow or hung
revocation endpoint must not hold a user on a spinner, and a failed one must not block the
sign-out (RFC 7009 2.2 leaves nothing for the client to do about it but log).

What travels to the background is a `Revocation`: the connection's id and the tokens sealed
with the app's key (AES-GCM, bound to this job and the token's hint), never a token in the
clear, so a broker or a log that sees the message learns nothing usable. With a broker the
Celery task `smartapp.tasks.revoke_tokens` runs it (sent by name: services never import
tasks); with none (the embedded default runs tasks eagerly), or when the broker refuses it, a
daemon thread of this process does, so the user does not wait either way.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import connection as db_connection

from smart.errors import SmartAppError
from smartapp import discovery, registry, token_endpoint
from smartapp.models import EhrConnection
from smartapp.secretbox import DecryptionError, secret_box

log = logging.getLogger(__name__)

TASK = "smartapp.tasks.revoke_tokens"
HINTS = ("refresh_token", "access_token")  # refresh first: it should end the grant (7009 2.1)


def _binding(job: str, hint: str) -> str:
    return f"smartapp.revocation:{job}:{hint}"


@dataclass(frozen=True)
class Revocation:
    """Tokens to give back to one EHR, sealed; safe to put in a task message."""

    connection_id: str
    job: str
    sealed: tuple[tuple[str, str], ...]  # (token_type_hint, ciphertext), refresh token first

    @classmethod
    def seal(
        cls, connection: EhrConnection, tokens: Iterable[tuple[str, str | None]]
    ) -> Revocation:
        job = uuid.uuid4().hex
        box = secret_box()
        sealed = tuple(
            (hint, box.encrypt(token, bound_to=_binding(job, hint)))
            for hint, token in tokens
            if token
        )
        return cls(str(connection.pk), job, sealed)

    def as_message(self) -> dict[str, Any]:
        return {"connection": self.connection_id, "job": self.job, "sealed": list(self.sealed)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Revocation:
        sealed = tuple((str(hint), str(text)) for hint, text in message["sealed"])
        return cls(str(message["connection"]), str(message["job"]), sealed)

    def tokens(self) -> list[tuple[str, str]]:
        box = secret_box()
        return [
            (hint, box.decrypt(text, bound_to=_binding(self.job, hint)))
            for hint, text in self.sealed
        ]


def perform(job: Revocation) -> int:
    """Revoke each token at the EHR; how many it accepted. Failures are logged, never raised:
    the tokens are already forgotten here, and the EHR will expire them."""
    found = EhrConnection.objects.filter(pk=job.connection_id).first()
    if found is None or not job.sealed:
        return 0
    try:
        endpoint = discovery.discover(found).revocation_endpoint
        tokens = job.tokens()
    except (SmartAppError, DecryptionError) as exc:
        log.warning("revocation skipped", extra={"error": type(exc).__name__})
        return 0
    if not endpoint:
        return 0
    credentials = registry.credentials_for(found)
    revoked = 0
    for hint, token in tokens:
        try:
            token_endpoint.revoke(credentials, endpoint, token, hint)
            revoked += 1
        except Exception as exc:  # log and go on: the other token still deserves its try
            log.warning("revocation failed", extra={"hint": hint, "error": type(exc).__name__})
    log.info("tokens revoked", extra={"revoked": revoked, "of": len(tokens)})
    return revoked


_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def _in_thread(job: Revocation) -> None:
    def run() -> None:
        try:
            perform(job)
        except Exception:  # a background thread has nobody to raise to
            log.exception("revocation crashed")
        finally:
            db_connection.close()  # this thread's own connection
            with _threads_lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="revocation", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def queue(job: Revocation) -> None:
    """Revoke in the background: the Celery task with a broker, else a thread of this process."""
    if not job.sealed:
        return
    if _via_broker():
        try:  # by name: no import of the tasks module, and no registry lookup needed
            current_app.send_task(TASK, args=[job.as_message()], retry=False)
            return
        except Exception as exc:  # the broker is down: revoke from here instead
            log.warning("revocation not queued", extra={"error": type(exc).__name__})
    _in_thread(job)


def _via_broker() -> bool:
    """Whether a Celery worker will run the job: a broker configured, and not known down."""
    return not current_app.conf.task_always_eager and not _redis_known_down()


def _redis_known_down() -> bool:
    """The broker is the cache's Redis: when the cache already knows it is down, do not spend
    seconds of the user's sign-out on the broker's connection retries."""
    outage = getattr(cache, "outage", None)
    return bool(outage is not None and outage.is_down)


def wait_idle(timeout_s: float = 30.0) -> bool:
    """Wait for this process's revocation threads (tests, and a clean shutdown)."""
    with _threads_lock:
        running = list(_threads)
    for thread in running:
        thread.join(timeout_s)
    return not any(thread.is_alive() for thread in running)
