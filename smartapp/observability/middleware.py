"""Request metrics: one count and one timing per request, by view (its URL name, never its
path: paths carry launch handles) and status class."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from smartapp.observability import metrics

METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS"})


def view_name(request: HttpRequest) -> str:
    """`namespace:name` of the view that answered, or `unmatched` (a 404 before routing)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or "unnamed"


class RequestMetricsMiddleware:
    """Near the top of the chain: it sees every answer, error pages included. A streamed page
    is timed to its first byte here; the summary times its own completion."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        view = view_name(request)
        method = request.method if request.method in METHODS else "other"
        metrics.HTTP_REQUESTS.labels(view, method, metrics.status_class(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(view).observe(time.perf_counter() - started)
        return response
