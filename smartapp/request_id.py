"""Correlation ids: one per request, on every log line it causes and in its response.

An incoming `X-Request-ID` is kept when it is sane (a proxy or the EHR may have set it, and
carrying it lets a support call be traced across systems); anything else is replaced, because
the value lands in every log line and a hostile one could forge or break log entries.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
ATTRIBUTE = "request_id"  # on the HttpRequest, for lines logged after the middleware returns
_SANE = re.compile(r"[A-Za-z0-9._:-]{8,128}")
NO_REQUEST = "-"

_current: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

access_log = logging.getLogger("smartapp.access")


def current_request_id() -> str:
    """The correlation id of the request being served here, or "-" outside one."""
    return _current.get()


def accept_or_make(incoming: str | None) -> str:
    if incoming is not None and _SANE.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Outermost middleware: sets the id, echoes it, and writes one access line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accept_or_make(request.headers.get(HEADER))
        token = _current.set(request_id)
        # Django logs 4xx/5xx (`django.request`) after this middleware has returned; the
        # record names the request, so the id travels on it (RequestIdLogFilter reads it).
        setattr(request, ATTRIBUTE, request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            access_log.info(
                "request finished",
                extra={
                    "method": request.method,
                    # The path only: query strings can carry OAuth codes and state.
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            _current.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Stamps the current correlation id onto every record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            known = getattr(getattr(record, "request", None), ATTRIBUTE, None)
            record.request_id = known if isinstance(known, str) else current_request_id()
        return True
