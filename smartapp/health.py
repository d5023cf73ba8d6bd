"""Liveness and readiness probes.

`/healthz` answers without I/O: the process is up and serving. `/readyz` checks what a
request needs (the database, the cache, the Celery broker when one is configured) and answers
503 naming each dependency that is not reachable, so an orchestrator stops routing traffic
here and an operator sees which service to look at. Errors are reported by class name only:
an exception message can carry a connection URL with credentials.

Anyone gets the status and each check's name and ok. The details (backends, error classes,
the per-EHR circuit breakers, which name every connected EHR's FHIR base) are for staff: a
signed-in staff user (Django admin) sees them. An orchestrator needs only the status code.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from smartapp.fhir.breaker import circuit_states

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    backend: str
    ok: bool
    error: str | None = None

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"name": self.name, "backend": self.backend, "ok": self.ok}
        if self.error:
            body["error"] = self.error
        return body


def _run(name: str, backend: str, probe: Callable[[], None]) -> CheckResult:
    try:
        probe()
    except Exception as exc:  # a probe reports every failure; it never raises
        log.warning("readiness check failed", extra={"check": name, "error": type(exc).__name__})
        return CheckResult(name, backend, ok=False, error=type(exc).__name__)
    return CheckResult(name, backend, ok=True)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise LookupError("cache did not return what was stored")
    cache.delete(key)


def _broker() -> None:
    import redis

    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    finally:
        client.close()


def _cache_backend() -> str:
    return "redis" if "redis" in settings.CACHES["default"]["BACKEND"].lower() else "in-process"


def readiness_checks() -> list[CheckResult]:
    results = [
        _run("database", connection.vendor, _database),
        _run("cache", _cache_backend(), _cache),
    ]
    if settings.REDIS_URL:
        results.append(_run("broker", "redis", _broker))
    return results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _is_staff(request: HttpRequest) -> bool:
    """A signed-in staff user; False when the user cannot be loaded (the database or the
    session store may be the very thing that is down)."""
    try:
        return bool(request.user.is_authenticated and request.user.is_staff)
    except Exception:  # readiness must answer whatever is broken
        return False


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = readiness_checks()
    status = 503 if any(not result.ok for result in results) else 200
    body: dict[str, object] = {"status": "ok" if status == 200 else "unavailable"}
    if not _is_staff(request):
        body["checks"] = [{"name": result.name, "ok": result.ok} for result in results]
        return JsonResponse(body, status=status)
    body["failing"] = [f"{result.name} ({result.backend})" for result in results if not result.ok]
    body["checks"] = [result.as_json() for result in results]
    # Per-EHR circuit breakers of this process: detail, not readiness (an EHR being down does
    # not make this app unable to serve its other EHRs).
    body["ehr_circuits"] = circuit_states()
    return JsonResponse(body, status=status)
