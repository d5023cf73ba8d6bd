"""OpenTelemetry traces: one trace per page, a span per summary section and per FHIR call.

Off by default. The standard variables turn it on and configure it, as the OpenTelemetry SDK
specifies ("SDK environment variables"): `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER=otlp|console`) switches
tracing on, `OTEL_SERVICE_NAME` names the process, `OTEL_TRACES_SAMPLER(_ARG)` samples, and
`OTEL_SDK_DISABLED=true` wins over everything. Spans leave through OTLP/HTTP, cleaned by
`span_redaction.RedactingExporter` (no PHI, no tokens, no id-bearing URLs).

Instrumented: Django (the server span of each request; probes and /metrics excluded), httpx
(each attempt of each outbound call), Celery, psycopg and Redis. The app adds its own spans
(`summary`, `section <name>`, `fhir <interaction> <type>`) through `tracer()`, and
`TraceLogFilter` puts the current trace and span ids on every log line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import copy_context
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from smartapp.observability.span_redaction import RedactingExporter

log = logging.getLogger(__name__)
T = TypeVar("T")
NOT_TRACED = "-"
EXCLUDED_URLS = "healthz,readyz,metrics,static/"

_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()  # the provider's, made once per configure
_instrumentors: list[Any] = []


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces (see the module docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter in {"otlp", "console"}:
        return True
    if exporter == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporter_from_env() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: the OTEL_EXPORTER_OTLP_* variables


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    options: dict[str, dict[str, Any]] = {
        "django": {"excluded_urls": EXCLUDED_URLS},
        "psycopg": {"capture_parameters": False, "skip_dep_check": True},
    }
    for name, instrumentor in (
        ("django", DjangoInstrumentor()),
        ("httpx", HTTPXClientInstrumentor()),
        ("celery", CeleryInstrumentor()),  # type: ignore[no-untyped-call]
        ("psycopg", PsycopgInstrumentor()),
        ("redis", RedisInstrumentor()),
    ):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, **options.get(name, {}))
            _instrumentors.append(instrumentor)


def configure(processor: SpanProcessor | None = None) -> TracerProvider:
    """Start tracing in this process: a provider, its exporter, the instrumentations.

    Production calls it with nothing (the exporter comes from the environment, behind a
    batching processor and the redaction wrapper); tests pass their own processor (an
    in-memory exporter, wrapped the same way). Must run before Django builds its middleware
    chain (SmartAppConfig.ready does), since the Django instrumentation adds one.
    """
    global _provider, _tracer
    if _provider is not None:
        return _provider
    provider = TracerProvider(resource=Resource.create())  # OTEL_SERVICE_NAME, _RESOURCE_...
    provider.add_span_processor(
        processor or BatchSpanProcessor(RedactingExporter(_exporter_from_env()))
    )
    _instrument(provider)
    _provider, _tracer = provider, provider.get_tracer("smartapp")
    log.info("tracing on", extra={"exporter": os.environ.get("OTEL_TRACES_EXPORTER", "otlp")})
    return provider


def unconfigure() -> None:
    """Stop tracing in this process (tests): instrumentations removed, spans flushed."""
    global _provider, _tracer
    while _instrumentors:
        _instrumentors.pop().uninstrument()
    if _provider is not None:
        _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


def tracer() -> trace.Tracer:
    """The app's tracer: a no-op one while tracing is off."""
    return _tracer


@contextmanager
def untraced() -> Iterator[None]:
    """No spans inside: for the background writers (`smartapp.batching`), whose queries
    belong to no page and would otherwise each start a trace of their own."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield


def in_context(function: Callable[..., T]) -> Callable[..., T]:
    """`function` to run on another thread in a copy of the caller's context: its spans are
    children of the caller's, and its log lines carry the caller's request id."""
    context = copy_context()  # one copy per call: a context can be entered by one thread

    def run(*args: Any, **kwargs: Any) -> T:
        return context.run(function, *args, **kwargs)

    return run


class TraceLogFilter(logging.Filter):
    """Stamps the current trace and span ids onto every record ("-" outside a trace)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = trace.format_trace_id(context.trace_id)
            record.span_id = trace.format_span_id(context.span_id)
        else:
            record.trace_id = record.span_id = NOT_TRACED
        return True
