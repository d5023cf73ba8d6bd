"""`/metrics`: the Prometheus exposition, for the monitoring stack only.

Not public: it answers only a request carrying `Authorization: Bearer <METRICS_TOKEN>`
(compared in constant time), and 404 when no METRICS_TOKEN is configured, so a deployment
that has not chosen a secret exposes nothing. Under gunicorn the values of every worker
process are added up from PROMETHEUS_MULTIPROC_DIR (prometheus_client multiprocess mode).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector


def _authorised(request: HttpRequest, secret: str) -> bool:
    scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        supplied.strip().encode(), secret.encode()
    )


def exposition() -> bytes:
    """The current values, in the Prometheus text format (all workers' in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    secret = getattr(settings, "METRICS_TOKEN", None)
    if not secret:
        return render(request, "404.html", status=404)
    if not _authorised(request, secret):
        response = HttpResponse("A bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
