"""Liveness and readiness probes.

`/healthz` answers without I/O: the process is up and serving. `/readyz` checks what a
request needs (the database, the cache, the Celery broker when one is configured) and answers
503 naming each dependency that is not reachable, so an orchestrator stops routing traffic
here and an operator sees which service to look at. Errors are reported by class name only:
an exception message can carry a connection URL with credentials.
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


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results = readiness_checks()
    failing = [f"{result.name} ({result.backend})" for result in results if not result.ok]

    return JsonResponse(
        {
            "status": "unavailable" if failing else "ok",
            "failing": failing,
            "checks": [result.as_json() for result in results],
            # Per-EHR circuit breakers of this process: detail, not readiness (an EHR being
            # down does not make this app unable to serve its other EHRs).
            "ehr_circuits": circuit_states(),
        },
        status=503 if failing else 200,
    )
