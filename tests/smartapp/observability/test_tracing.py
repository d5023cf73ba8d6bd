"""A summary page's trace, recorded with the in-memory exporter behind the same redaction the
OTLP exporter gets: one trace, the page's span under Django's, a span per section, a span per
FHIR call under its section (type, interaction, status, bytes) and httpx's under that."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from opentelemetry.sdk.trace import ReadableSpan

from smartapp.models import Launch
from smartapp.observability import tracing
from smartapp.summary.sections import section_names
from tests.fixtures.app import PageClient


def summary_spans(connect, browser, exporter) -> tuple[list[ReadableSpan], str]:
    connection = connect()
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    handle = Launch.objects.get().handle
    cache.clear()
    client = PageClient()  # made after tracing began: its middleware chain has Django's span
    client.cookies = browser.client.cookies
    exporter.clear()
    assert client.get(f"/l/{handle}/").status_code == 200
    return list(exporter.get_finished_spans()), connection.slug


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_a_summary_trace_has_the_expected_shape(connect, browser, exporter) -> None:
    everything, slug = summary_spans(connect, browser, exporter)
    [page] = [span for span in everything if span.name == "summary"]
    spans = [span for span in everything if span.context.trace_id == page.context.trace_id]
    ours = [span for span in everything if span.name.startswith(("section ", "fhir "))]
    assert set(ours) <= set(spans), "one trace per page: every section and FHIR call in it"
    # (Outside it: the sandbox EHR's own database queries, in the same test process.)
    [server] = [span for span in spans if span.parent is None]
    assert page.parent is not None
    assert page.parent.span_id == server.context.span_id
    assert attrs(server)["http.route"].endswith("l/<str:handle>/")
    assert attrs(page)["smartapp.connection"] == slug
    assert attrs(page)["smartapp.outcome"] == "success"

    sections = {
        attrs(span)["smartapp.section"]: span
        for span in children(spans, page)
        if span.name.startswith("section ")  # (beside them: the page's cache and DB calls)
    }
    assert set(sections) == set(section_names())
    for name, section in sections.items():
        assert attrs(section)["smartapp.section.status"] in {"ok", "empty"}, name
        calls = [span for span in children(spans, section) if span.name.startswith("fhir ")]
        assert calls, f"{name}: no FHIR call under its section"
        for call in calls:
            assert attrs(call)["fhir.status_class"] == "2xx"
            assert attrs(call)["http.response.status_code"] == 200
            assert attrs(call)["fhir.response_bytes"] > 0
            assert attrs(call)["smartapp.connection"] == slug
            assert [
                attrs(s).get("http.method") or attrs(s).get("http.request.method")
                for s in children(spans, call)
            ] == ["GET"]  # httpx's span, one attempt
    assert any(
        attrs(call)["fhir.resource_type"] == "Observation"
        and attrs(call)["fhir.interaction"] == "search-type"
        for call in children(spans, sections["labs"])
    )


def test_log_lines_carry_the_trace_id(connect, browser, exporter, json_logs) -> None:
    spans, _slug = summary_spans(connect, browser, exporter)
    [page] = [span for span in spans if span.name == "summary"]
    trace_id = f"{page.context.trace_id:032x}"
    logging.getLogger("smartapp.test").info("inside no trace")
    lines = json_logs.lines
    assert all("trace_id" in line for line in lines)
    access = [line for line in lines if line.get("logger") == "smartapp.access"]
    assert any(line["trace_id"] == trace_id for line in access), "the page's access line"
    assert lines[-1]["trace_id"] == "-"


def test_tracing_is_off_unless_the_environment_asks() -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_SERVICE_NAME": "x"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    )
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_TRACES_EXPORTER": "none"}
    )


def test_the_background_writers_start_no_traces(connect, browser, exporter) -> None:
    """The audit trail's and the launch steps' batches (smartapp.batching) write for many
    pages at once and belong to none: their queries make no spans (they would each start a
    trace of their own, and cost every page's share of the exporter)."""
    from smartapp.audit import writer as audit_writer
    from smartapp.diagnostics import writer as steps_writer

    summary_spans(connect, browser, exporter)
    assert audit_writer._thread.wait_idle(5)
    assert steps_writer._thread.wait_idle(5)
    writes = [
        span
        for span in exporter.get_finished_spans()
        if "accessrecord" in str(attrs(span).get("db.statement", "")).lower()
        or "launchstep" in str(attrs(span).get("db.statement", "")).lower()
    ]
    assert writes == []
