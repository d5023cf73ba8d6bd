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
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

from django.conf import settings

from smart.errors import GrantLost, SmartAppError
from smart.scopes import GrantedScopes
from smartapp.fhir.search import SearchResult
from smartapp.fhir.session import SmartSession
from smartapp.fhir.transport import Deadline, EhrTooSlow, FhirForbidden
from smartapp.models import Launch
from smartapp.summary import cache as section_cache
from smartapp.summary import sections
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
    "timeout": "The EHR took too long to answer.",
    "forbidden": "The EHR did not allow the app to read this.",
    "error": "The EHR could not answer just now.",
}


def _build(name: str, fetch: Fetch) -> Section:
    """One section, with EHR trouble turned into a user-safe `unavailable` section."""
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
            workers = int(getattr(settings, "SUMMARY_WORKERS", 8))
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
        return _build(name, fetch)
    finally:
        with _pool_lock:
            _busy -= 1


def _collect(futures: dict[Future[Section], str], deadline: Deadline) -> dict[str, Section]:
    """Sections as they finish; those still running at the deadline are `unavailable`."""
    done: dict[str, Section] = {}
    pending = set(futures)
    while pending and deadline.remaining() > 0:
        finished, pending = wait(pending, timeout=deadline.remaining(), return_when=FIRST_EXCEPTION)
        for future in finished:
            name = futures[future]
            try:
                done[name] = future.result()
            except GrantLost:
                raise
            except Exception:  # a bug in a builder must not take the page down
                log.exception("summary section crashed", extra={"section": name})
                done[name] = _unavailable(name, "error")
    for future in pending:
        done[futures[future]] = _unavailable(futures[future], "timeout")
    return done


def _run(names: list[str], fetch: Fetch, deadline: Deadline) -> dict[str, Section]:
    """Build sections in parallel, within the deadline. A 401 in any of them is handled by the
    launch's session (one refresh, one retry); a refused refreshed token raises GrantLost."""
    if not names:
        return {}
    pool = _shared_pool()
    futures = {pool.submit(_tracked, name, fetch): name for name in names}
    try:
        return _collect(futures, deadline)
    finally:
        for future in futures:
            future.cancel()  # not started yet: never will; running ones stop at the deadline


def build_summary(
    launch: Launch, *, refresh: bool = False, only: tuple[str, ...] | None = None
) -> PatientSummary:
    """The summary of the launch's patient: cached sections, fresh ones for the rest.

    `only` names the sections wanted (all of the registry's, in its order, by default).
    """
    only = sections.section_names() if only is None else only
    granted = GrantedScopes.parse(launch.granted_scope)
    scope = section_cache.cache_scope(launch)
    # Even a page served wholly from the cache first proves the grant is alive: it refreshes
    # an expiring token, and a grant the EHR has ended shows no cached PHI.
    session = SmartSession(launch)
    session.ensure_token()
    deadline = session.deadline = Deadline.after(float(getattr(settings, "SUMMARY_BUDGET_S", 8)))
    built: dict[str, Section] = {}
    wanted = []
    for name in only:
        if not _shared(name, granted):
            built[name] = Section(name, SectionStatus.NOT_SHARED)
        elif not refresh and (hit := section_cache.get(scope, name)) is not None:
            built[name] = hit
        else:
            wanted.append(name)
    if wanted:
        fetched = _run(wanted, Fetch(session), deadline)
        for section in fetched.values():
            if section.status in (SectionStatus.OK, SectionStatus.EMPTY, SectionStatus.PARTIAL):
                section_cache.put(scope, section)
        built.update(fetched)
    return PatientSummary(SCHEMA_VERSION, launch.patient_id, {n: built[n] for n in only})


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
