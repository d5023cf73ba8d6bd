"""The connection (tenant) the current work is for: the one label every upstream metric and
span carries. Set by the FHIR session around each call and by the launch services; a
context variable, so the summary's worker threads see it when they run in the page's
context (`tracing.in_context`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from smartapp.observability.metrics import UNKNOWN

_current: ContextVar[str] = ContextVar("connection", default=UNKNOWN)


def current() -> str:
    """The slug of the connection being worked for, or "unknown"."""
    return _current.get()


@contextmanager
def working_for(slug: str) -> Iterator[None]:
    token = _current.set(slug or UNKNOWN)
    try:
        yield
    finally:
        _current.reset(token)
