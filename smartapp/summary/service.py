"""Building a PatientSummary: which queries, in parallel, cached, within a time budget.

The sections, their types, builders and cache times come from the registry
(smartapp/summary/sections.py); the cache is smartapp/summary/cache.py.

- A section whose resource types were not granted is `not_shared` and its query is never sent.
- The remaining sections are fetched in parallel, so the summary costs about its slowest
  query, not the sum, on one thread pool per process (SUMMARY_WORKERS threads, never one pool
  per request: a hung EHR cannot pile up threads however often the page is reloaded). Each
  section has the same deadline; one that misses it is `unavailable` ("took too long") with a
  retry link, and the page does not wait for it. What the deadline abandons stops: sections
  not yet started are cancelled, and the FHIR calls of running ones carry the deadline
  (`transport.Deadline`), so they end with it instead of holding a thread for the read
  timeout.
- A 401 on any section refreshes the token once (the vault, single-flight) and reruns the
  sections that got it, once.
- Every build first gets a valid access token from the vault, even when every section comes
  from the cache: the grant must still be alive for PHI to be shown.
- Sections are cached per organisation, patient, user and granted scopes, with a time-to-live
  chosen by how fast the data changes. Cached values are PHI: AES-GCM encrypted, bound to
  their key, and dropped at sign-out and when the grant ends.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_noop

from smart.errors import GrantLost, SmartAppError
from smart.scopes import GrantedScopes
from smartapp.diagnostics import recorder
from smartapp.fhir.search import SearchResult
from smartapp.fhir.session import SmartSession
from smartapp.fhir.transport import Deadline, EhrTooSlow, FhirForbidden
from smartapp.models import Launch
from smartapp.observability import metrics, tracing
from smartapp.summary import cache as section_cache
from smartapp.summary import sections
from smartapp.summary.builders import Fetch as SectionFetch
from smartapp.summary.contract import (
    SCHEMA_VERSION,
    PatientSummary,
    Section,
    SectionStatus,
    now_iso,
)
from smartapp.summary.fetch import Fetch

log = logging.getLogger(__name__)

UNAVAILABLE_REASONS = {
    "timeout": gettext_noop("The EHR took too long to answer."),
    "forbidden": gettext_noop("The EHR did not allow the app to read this."),
    "error": gettext_noop("The EHR could not answer just now."),
}


def build_section(name: str, fetch: SectionFetch) -> Section:
    """One section, with EHR trouble turned into a user-safe `unavailable` section (`fetch`
    asks the EHR, or the canonical store: smartapp/warehouse/summary.py)."""
    try:
        return sections.spec_for(name).builder(fetch)
    except GrantLost:
        raise  # the EHR refused a refreshed token: the whole page ends, not one section
    except FhirForbidden:
        return Section(
            name, SectionStatus.UNAVAILABLE, (), now_iso(), UNAVAILABLE_REASONS["forbidden"]
        )
    except EhrTooSlow:
        return _unavailable(name, "timeout")
    except SmartAppError as error:
        log.warning(
            "summary section failed",
            extra={"section": name, "error_code": error.code, "detail": error.detail},
        )
        return Section(name, SectionStatus.UNAVAILABLE, (), now_iso(), UNAVAILABLE_REASONS["error"])


# --- orchestration --------------------------------------------------------------------------


def _shared(name: str, granted: GrantedScopes) -> bool:
    return any(granted.can_read(rtype) for rtype in sections.spec_for(name).resource_types)


def _unavailable(name: str, reason: str) -> Section:
    return Section(name, SectionStatus.UNAVAILABLE, (), now_iso(), UNAVAILABLE_REASONS[reason])


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_busy = 0  # sections being built right now, in this process


def _shared_pool() -> ThreadPoolExecutor:
    """The process's one summary pool (made on first use, so after a pre-fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = int(getattr(settings, "SUMMARY_WORKERS", 12))
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="summary")
        return _pool


def busy_workers() -> int:
    """How many sections this process is building now (bounded by SUMMARY_WORKERS)."""
    with _pool_lock:
        return _busy


def _tracked(name: str, fetch: Fetch) -> Section:
    global _busy
    with _pool_lock:
        _busy += 1
    try:
        with tracing.tracer().start_as_current_span(f"section {name}") as span:
            span.set_attribute("smartapp.section", name)
            section = build_section(name, fetch)
            span.set_attribute("smartapp.section.status", section.status.value)
            return section
    finally:
        with _pool_lock:
            _busy -= 1


@dataclass
class SummaryRun:
    """A summary build under way: the sections known at once (from the cache, or not shared)
    and the rest as they arrive, in the order they finish, within the run's deadline.

    The page streams it (the shell with `known` first, then each arrival); `collect` waits for
    all of it. Whatever the deadline abandons stops: sections not started are cancelled and
    running ones end with the deadline their FHIR calls carry."""

    patient_id: str
    order: tuple[str, ...]
    known: dict[str, Section]
    deadline: Deadline
    _scope: str
    connection: str = metrics.UNKNOWN
    launch_id: uuid.UUID | None = None
    started: float = field(default_factory=time.perf_counter)
    _futures: dict[Future[Section], str] = field(default_factory=dict)

    @property
    def pending(self) -> tuple[str, ...]:
        """Sections still being fetched, in the registry's order."""
        fetching = set(self._futures.values())
        return tuple(name for name in self.order if name in fetching)

    def arrivals(self) -> Iterator[Section]:
        """Each fetched section as it finishes; those still running at the deadline come last,
        `unavailable` ("took too long"). GrantLost (the EHR refused a refreshed token) ends the
        run: the whole page ends, not one section."""
        pending = set(self._futures)
        try:
            while pending and self.deadline.remaining() > 0:
                finished, pending = wait(
                    pending, timeout=self.deadline.remaining(), return_when=FIRST_COMPLETED
                )
                for future in finished:
                    yield self.counted(self._arrived(future))
            for future in pending:
                yield self.counted(_unavailable(self._futures[future], "timeout"), "deadline")
        finally:
            self.cancel()

    def counted(self, section: Section, source: str = "fetched") -> Section:
        """`section`, counted by its status (smartapp_summary_sections_total); one fetched from
        the EHR (or given up at the deadline) is noted for the launch debugger with when, after
        the run began, it was ready. Cached and not-shared ones are not: a warm page writes no
        step."""
        metrics.SUMMARY_SECTIONS.labels(self.connection, section.name, section.status.value).inc()
        if self.launch_id is not None and source in ("fetched", "deadline"):
            recorder.record(
                self.launch_id,
                "section",
                outcome=section.status.value,
                duration_s=time.perf_counter() - self.started,
                detail={"section": section.name, "source": source},
            )
        return section

    def cancel(self) -> None:
        """Sections not started yet never will; running ones stop at the deadline their FHIR
        calls carry. (A page that stops reading, a client gone, calls this too.)"""
        for future in self._futures:
            future.cancel()

    def _arrived(self, future: Future[Section]) -> Section:
        name = self._futures[future]
        try:
            section = future.result()
        except GrantLost:
            raise
        except Exception:  # a bug in a builder must not take the page down
            log.exception("summary section crashed", extra={"section": name})
            return _unavailable(name, "error")
        if section.status in (SectionStatus.OK, SectionStatus.EMPTY, SectionStatus.PARTIAL):
            section_cache.put(self._scope, section)
        return section

    def collect(self) -> PatientSummary:
        """Wait for every section (or the deadline): the whole summary."""
        built = dict(self.known)
        built.update((section.name, section) for section in self.arrivals())
        return PatientSummary(
            SCHEMA_VERSION, self.patient_id, {name: built[name] for name in self.order}
        )


def start_summary(
    launch: Launch, *, refresh: bool | Collection[str] = False, only: Sequence[str] | None = None
) -> SummaryRun:
    """Start building the launch's patient summary: cached sections at once, the rest fetched
    in parallel on the process's pool.

    `only` names the sections wanted (all of the registry's, in its order, by default);
    `refresh` bypasses the cache for every section (True) or for those named.
    """
    order = tuple(sections.section_names() if only is None else only)
    granted = GrantedScopes.parse(launch.granted_scope)
    scope = section_cache.cache_scope(launch)
    # Even a page served wholly from the cache first proves the grant is alive: it refreshes
    # an expiring token, and a grant the EHR has ended shows no cached PHI.
    session = SmartSession(launch)
    session.ensure_token()
    deadline = session.deadline = Deadline.after(float(getattr(settings, "SUMMARY_BUDGET_S", 8)))
    run = SummaryRun(
        launch.patient_id, order, {}, deadline, scope, launch.connection.slug, launch.pk
    )
    shared = [name for name in order if _shared(name, granted)]
    cached = _cached(run, [name for name in shared if not _bypassed(refresh, name)])
    wanted = []
    for name in order:
        if name not in shared:
            run.known[name] = run.counted(Section(name, SectionStatus.NOT_SHARED), "not shared")
        elif name in cached:
            run.known[name] = run.counted(cached[name], "cache")
        else:
            wanted.append(name)
    if wanted:
        pool, fetch = _shared_pool(), Fetch(session)
        # Each section runs in a copy of this context: its spans are the page's children and
        # its log lines (and PHI access notes) belong to this request.
        run._futures = {
            pool.submit(tracing.in_context(_tracked), name, fetch): name for name in wanted
        }
    return run


def _bypassed(refresh: bool | Collection[str], name: str) -> bool:
    """`refresh` asks for `name` afresh: every section (True) or this one by name."""
    return refresh is True or (not isinstance(refresh, bool) and name in refresh)


def _cached(run: SummaryRun, names: Sequence[str]) -> dict[str, Section]:
    """The cached sections of `names`, read in one round trip; each hit or miss counted."""
    hits = section_cache.get_many(run._scope, names) if names else {}
    for name in names:
        metrics.SUMMARY_CACHE.labels(run.connection, name, "hit" if name in hits else "miss").inc()
    return hits


def build_summary(
    launch: Launch, *, refresh: bool | Collection[str] = False, only: Sequence[str] | None = None
) -> PatientSummary:
    """The summary of the launch's patient: cached sections, fresh ones for the rest, all of
    it (`start_summary(...).collect()`)."""
    return start_summary(launch, refresh=refresh, only=only).collect()


def drilldown_session(launch: Launch) -> SmartSession:
    """A session for one drill-down page: its FHIR calls end with DRILLDOWN_BUDGET_S, after
    which the page says the EHR is slow (EhrTooSlow, a clear page) rather than stay blank."""
    budget = float(getattr(settings, "DRILLDOWN_BUDGET_S", 8))
    return SmartSession(launch, deadline=Deadline.after(budget))


def fetch_observations(launch: Launch, **params: str) -> SearchResult:
    """For the vital-sign and lab history pages (not cached: drill-downs are on demand)."""
    return drilldown_session(launch).search_all(
        "Observation", {"patient": launch.patient_id, **params}, max_pages=3
    )
