"""Spans are cleaned before they leave the process: no PHI, no token, no id-bearing URL.

The instrumentations record what they see: Django's server span the request URL with its
query string (the callback's `code` and `state`, a search's `name=`), httpx's client span the
FHIR URL (`Patient/123`, `?patient=123`), Redis the command with its key. A span exporter is
the one place every span passes, whichever library made it, so this wrapper rewrites them on
their way out:

- URL attributes keep only the origin; a server span's path becomes its route template
  (`launch/<str:handle>/summary`), and query strings go;
- a Redis statement keeps its command name (keys name launches and cache scopes);
- every other string (span name, attribute, event attribute: an exception's message) passes
  the log redaction patterns (bearer tokens, OAuth parameters, JWTs) and loses query strings.

SQL statements keep their text: the ORM sends values as bind parameters, never inline (and
the psycopg instrumentation is not asked to capture parameters).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from smartapp.log_redaction import redact_text, strip_queries

FULL_URLS = frozenset({"http.url", "url.full"})
PATHS = frozenset({"http.target", "url.path"})
DROPPED = frozenset(
    {"url.query", "http.request.header.cookie", "http.request.header.authorization"}
)
STATEMENTS = frozenset({"db.statement", "db.query.text"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return strip_queries(redact_text(value))
    if isinstance(value, tuple | list):
        return tuple(_clean(item) for item in value)
    return value


def clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The attributes of one span (or event), rewritten by the rules above."""
    found = dict(attributes or {})
    route = found.get("http.route")
    cleaned: dict[str, Any] = {}
    for key, value in found.items():
        if key in DROPPED:
            continue
        if key in FULL_URLS and isinstance(value, str):
            cleaned[key] = _origin(value) + (f"/{str(route).lstrip('/')}" if route else "")
        elif key in PATHS:
            cleaned[key] = f"/{str(route).lstrip('/')}" if route else "/[redacted]"
        elif key in STATEMENTS and found.get("db.system") == "redis" and isinstance(value, str):
            cleaned[key] = value.split(" ", 1)[0]
        else:
            cleaned[key] = _clean(value)
    return cleaned


def clean_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of `span` with its name, attributes and events cleaned."""
    events = tuple(
        Event(event.name, clean_attributes(event.attributes), event.timestamp)
        for event in span.events
    )
    return ReadableSpan(
        name=_clean(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=clean_attributes(span.attributes),
        events=events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingExporter(SpanExporter):
    """Wraps the real exporter (OTLP, or the in-memory one in tests): cleaned spans only."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([clean_span(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)
