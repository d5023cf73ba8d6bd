"""The in-memory span exporter behind the same redaction as the OTLP one, with tracing on for
the test (Django's middleware joins the chain of a test client made after this starts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from smartapp.observability import tracing
from smartapp.observability.span_redaction import RedactingExporter


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracing.configure(SimpleSpanProcessor(RedactingExporter(memory)))
    try:
        yield memory
    finally:
        tracing.unconfigure()
