"""A patient-data page as the operator and the security reviewer see it: one trace span, the
journey's timings, and the PHI access record, begun when the page starts and finished however
it ends (the last section, a failure half-way, a client that went away).

    journey = Journey.begin(request, launch, "summary")
    with journey.inside():          # the page's span is current; FHIR reads are noted
        run = start_summary(launch)
    ...                             # the stream, later, outside the view
    journey.section_shown(section)  # each one, as it goes out
    journey.finish("success")       # exactly once (later calls do nothing)

The summary's two journey metrics are here: time to the first section shown and time to the
last, from the moment the request reached the view.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.http import HttpRequest
from opentelemetry import trace

from smart.errors import SmartAppError
from smartapp import audit
from smartapp.models import Launch
from smartapp.observability import metrics, tenant, tracing
from smartapp.summary.contract import Section, SectionStatus

# Statuses that mean the section is not what the EHR holds (the page is partial).
SHORT = frozenset({SectionStatus.UNAVAILABLE, SectionStatus.PARTIAL})


@dataclass
class Journey:
    launch: Launch
    what: str
    access: audit.Access
    span: trace.Span
    started: float = field(default_factory=time.perf_counter)
    first_shown: float | None = None
    short: bool = False
    finished: bool = False

    @classmethod
    def begin(cls, request: HttpRequest, launch: Launch, what: str) -> Journey:
        span = tracing.tracer().start_span(what)
        span.set_attribute("smartapp.connection", launch.connection.slug)
        span.set_attribute("smartapp.page", what)
        return cls(launch, what, audit.open_access(request, launch, what), span)

    @property
    def connection(self) -> str:
        return str(self.launch.connection.slug)

    @contextmanager
    def inside(self) -> Iterator[None]:
        """The page's span current, its connection the tenant, its FHIR reads noted."""
        with (
            trace.use_span(self.span, end_on_exit=False),
            tenant.working_for(self.connection),
            audit.recording(self.access),
        ):
            yield

    def sections_shown(self, sections: Iterable[Section]) -> None:
        shown = list(sections)
        if not shown:
            return
        if self.first_shown is None:
            self.first_shown = time.perf_counter()
            metrics.SUMMARY_FIRST_SECTION.labels(self.connection).observe(
                self.first_shown - self.started
            )
        self.short = self.short or any(section.status in SHORT for section in shown)
        self.access.add_sections(
            section.name for section in shown if section.status != SectionStatus.NOT_SHARED
        )

    def finish(self, outcome: str | None = None) -> None:
        """End the journey: `outcome` ("success", "ended", "failed:<code>"), or success /
        partial from the sections shown. The access record is written here."""
        if self.finished:
            return
        self.finished = True
        outcome = outcome or ("partial" if self.short else "success")
        if outcome in ("success", "partial") and self.what == "summary":
            metrics.SUMMARY_COMPLETE.labels(self.connection).observe(
                time.perf_counter() - self.started
            )
        self.span.set_attribute("smartapp.outcome", outcome)
        self.access.close(outcome)
        self.span.end()


def failure(error: BaseException) -> str:
    """The outcome of a page that failed with `error`: `failed:<its code>`."""
    return f"failed:{error.code if isinstance(error, SmartAppError) else 'error'}"
