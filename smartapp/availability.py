"""PostgreSQL or Redis out of reach: a 503 with the app's own page, never a 500.

An infrastructure fault can surface anywhere: in a view, in the session middleware loading or
saving a session, in the cache. Django turns an exception from any layer into a 500 response
at that layer (and sends `got_request_exception` while the exception is at hand), so the
outer middleware never sees the exception itself. Here the signal notes which service failed
on the request, and `AvailabilityMiddleware`, near the top of the stack, answers that request
with 503, `Retry-After` and the "temporarily unavailable" page (JSON for JSON callers)
instead of the 500. Nothing is lost: the browser keeps its session cookie, and the session
itself lives in the database (Redis only caches it, `smartapp.tolerant_cache`), so when the
service is back the same browser carries on without signing in again.

Failures are logged once a minute per service and process, not once per request; /readyz
names the service that is down.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import redis
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError, close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_redis.exceptions import ConnectionInterrupted

from smart.errors import NextStep, SmartAppError
from smartapp import problem_details
from smartapp.clock import clock
from smartapp.middleware import framing_csp, render_error
from smartapp.request_id import current_request_id

log = logging.getLogger(__name__)

RETRY_AFTER_S = 10
LOG_EVERY_S = 60.0
JSON_PATHS = ("/readyz", "/healthz")


class ServiceUnavailable(SmartAppError):
    """A service the app needs (the database, the cache) is not answering."""

    code = "service_unavailable"
    status = 503
    title = "The app is temporarily unavailable"
    message = (
        "A service the app relies on is not answering. Nothing was lost and you are still "
        "signed in."
    )
    next_step = NextStep.TRY_AGAIN
    retry_after_s = RETRY_AFTER_S

    def __init__(self, service: str, detail: str | None = None) -> None:
        super().__init__(detail or f"{service} unavailable")
        self.service = service


def outage_of(exc: BaseException | None) -> str | None:
    """Which service `exc` (or what caused it) says is out of reach: database, cache, or None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ServiceUnavailable):
            return exc.service
        if isinstance(exc, OperationalError | InterfaceError):
            return "database"
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | ConnectionInterrupted):
            return "cache"
        exc = exc.__cause__ or exc.__context__
    return None


_logged: dict[str, float] = {}
_logged_lock = threading.Lock()


def note(service: str, exc: BaseException | None) -> None:
    """Log an outage at most once a minute per service (the error's class, never its text:
    a database or Redis message can carry a URL with credentials)."""
    now = clock().monotonic()
    with _logged_lock:
        last = _logged.get(service)
        if last is not None and now - last < LOG_EVERY_S:
            return
        _logged[service] = now
    log.error(
        "service unavailable",
        extra={"service": service, "error": type(exc).__name__ if exc else None},
    )


def _on_request_exception(sender: Any, request: HttpRequest | None = None, **_: Any) -> None:
    exc = sys.exc_info()[1]
    service = outage_of(exc)
    if service is not None and request is not None:
        request._smartapp_outage = service  # type: ignore[attr-defined]
        note(service, exc)


got_request_exception.connect(_on_request_exception, dispatch_uid="smartapp.availability")


def wants_json(request: HttpRequest) -> bool:
    if request.path in JSON_PATHS or request.path.endswith(".json"):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def unavailable_response(request: HttpRequest, service: str) -> HttpResponse:
    """The 503 answer: the error page, or a JSON body for JSON callers. The service is not
    named to the caller (/readyz tells operators)."""
    error = ServiceUnavailable(service)
    response: HttpResponse
    if problem_details.is_api(request):
        response = problem_details.for_error(error)
    elif wants_json(request):
        body = {"status": "unavailable", "error": error.code, "request_id": current_request_id()}
        response = JsonResponse(body, status=503)
        response["Cache-Control"] = "no-store"
    else:
        response = render_error(request, error)
    response["Retry-After"] = str(RETRY_AFTER_S)
    framing = framing_csp(request)
    response["Content-Security-Policy"] = framing.policy
    if not framing.allowed:
        response["X-Frame-Options"] = "DENY"
    return response


class AvailabilityMiddleware:
    """Outside the session, cache and view layers: a 500 caused by an outage becomes a 503."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        service: str | None = getattr(request, "_smartapp_outage", None)
        if service is None or response.status_code != 500:
            if response.status_code == 503 and not response.has_header("Retry-After"):
                response["Retry-After"] = str(RETRY_AFTER_S)  # every "try again" says when
            return response
        if service == "database":
            close_old_connections()  # drop the broken connection: the next request reconnects
        return unavailable_response(request, service)
