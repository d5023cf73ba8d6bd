"""Building a PatientSummary: which queries, in parallel, cached, within a time budget.

- A section whose resource types were not granted is `not_shared` and its query is never sent.
- The remaining sections are fetched in parallel (a bounded thread pool), so the summary costs
  about its slowest query, not the sum. Each has the same deadline; a section that misses it is
  `unavailable` ("took too long") with a retry link, and the page does not wait for it.
- A 401 on any section refreshes the token once (the vault, single-flight) and reruns the
  sections that got it, once.
- Every build first gets a valid access token from the vault, even when every section comes
  from the cache: the grant must still be alive for PHI to be shown.
- Sections are cached per organisation, patient, user and granted scopes, with a time-to-live
  chosen by how fast the data changes. Cached values are PHI: AES-GCM encrypted, bound to
  their key, and dropped at sign-out and when the grant ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache

from smartapp import summary, vault
from smart.errors import GrantLost, SmartAppError
from smartapp.fhir_client import FhirForbidden, FhirUnauthorized, SearchResult, read, search
from smartapp.models import Launch
from smart.scopes import GrantedScopes
from smartapp.secretbox import DecryptionError, secret_box
from smartapp.summary import PatientSummary, Section, SectionStatus

log = logging.getLogger(__name__)

SECTIONS = (
    "demographics",
    "problems",
    "medications",
    "allergies",
    "immunizations",
    "vitals",
    "labs",
    "encounters",
)
# A section is shared when the EHR granted read access to any of these types.
SECTION_TYPES = {
    "demographics": ("Patient",),
    "problems": ("Condition",),
    "medications": ("MedicationRequest", "MedicationStatement"),
    "allergies": ("AllergyIntolerance",),
    "immunizations": ("Immunization",),
    "vitals": ("Observation",),
    "labs": ("Observation",),
    "encounters": ("Encounter",),
}
DEFAULT_TTL_S = {
    "demographics": 15 * 60,
    "problems": 5 * 60,
    "allergies": 5 * 60,
    "immunizations": 5 * 60,
    "encounters": 5 * 60,
    "medications": 2 * 60,
    "vitals": 60,
    "labs": 60,
}
UNAVAILABLE_REASONS = {
    "timeout": "The EHR took too long to answer.",
    "forbidden": "The EHR did not allow the app to read this.",
    "error": "The EHR could not answer just now.",
}


class Fetch:
    """The FHIR calls for one launch, with one access token (refreshed once on a 401)."""

    def __init__(self, launch: Launch, access_token: str) -> None:
        self.base = launch.connection.iss
        self.patient = launch.patient_id
        self.token = access_token
        self.granted = GrantedScopes.parse(launch.granted_scope)

    def search(self, rtype: str, **params: str) -> SearchResult:
        return search(self.base, self.token, rtype, {"patient": self.patient, **params})

    def may_read(self, rtype: str) -> bool:
        return self.granted.can_read(rtype)


def _section(
    name: str, items: tuple[Any, ...], truncated: bool = False, dropped: int = 0
) -> Section:
    status = SectionStatus.OK if items else SectionStatus.EMPTY
    if truncated or dropped:
        status = SectionStatus.PARTIAL
    return Section(name, status, items, summary.now_iso(), None, truncated)


def _demographics(fetch: Fetch) -> Section:
    patient = read(fetch.base, fetch.token, "Patient", fetch.patient)
    return _section("demographics", (summary.demographics(patient, date.today()),))


def _problems(fetch: Fetch) -> Section:
    found = fetch.search("Condition", _count="100")
    return _section(
        "problems", summary.active_problems(found.resources), found.truncated, found.dropped
    )


NOTHING = SearchResult((), {}, False, 0)


def _medications(fetch: Fetch) -> Section:
    # Orders and patient-reported medications do not depend on each other: ask for both at
    # once, so the section costs one round trip, not two.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending_requests = (
            pool.submit(
                fetch.search,
                "MedicationRequest",
                _count="100",
                _include="MedicationRequest:medication",
            )
            if fetch.may_read("MedicationRequest")
            else None
        )
        pending_statements = (
            pool.submit(fetch.search, "MedicationStatement", _count="100")
            if fetch.may_read("MedicationStatement")
            else None
        )
        requests = pending_requests.result() if pending_requests else NOTHING
        statements = pending_statements.result() if pending_statements else NOTHING
    items = summary.active_medications(requests.resources, statements.resources, requests.included)
    return _section(
        "medications",
        items,
        requests.truncated or statements.truncated,
        requests.dropped + statements.dropped,
    )


def _allergies(fetch: Fetch) -> Section:
    found = fetch.search("AllergyIntolerance", _count="100")
    return _section("allergies", summary.allergies(found.resources), found.truncated, found.dropped)


def _immunizations(fetch: Fetch) -> Section:
    found = fetch.search("Immunization", _count="100", _sort="-date")
    return _section(
        "immunizations", summary.immunizations(found.resources), found.truncated, found.dropped
    )


def _vitals(fetch: Fetch) -> Section:
    # Newest first, so the first pages hold the latest reading of each kind even when the
    # page cap stops before older ones; `truncated` still says older readings were left out.
    found = fetch.search("Observation", category="vital-signs", _sort="-date", _count="100")
    return _section(
        "vitals", summary.latest_vitals(found.resources), found.truncated, found.dropped
    )


def _labs(fetch: Fetch) -> Section:
    found = fetch.search("Observation", category="laboratory", _sort="-date", _count="100")
    return _section("labs", summary.recent_labs(found.resources), found.truncated, found.dropped)


def _encounters(fetch: Fetch) -> Section:
    found = fetch.search("Encounter", _sort="-date", _count="20")
    return _section(
        "encounters", summary.recent_encounters(found.resources), found.truncated, found.dropped
    )


BUILDERS: dict[str, Callable[[Fetch], Section]] = {
    "demographics": _demographics,
    "problems": _problems,
    "medications": _medications,
    "allergies": _allergies,
    "immunizations": _immunizations,
    "vitals": _vitals,
    "labs": _labs,
    "encounters": _encounters,
}


def _build(name: str, fetch: Fetch) -> Section:
    """One section, with EHR trouble turned into a user-safe `unavailable` section."""
    try:
        return BUILDERS[name](fetch)
    except FhirUnauthorized:
        raise  # the caller refreshes once and retries
    except FhirForbidden:
        return Section(
            name, SectionStatus.UNAVAILABLE, (), summary.now_iso(), UNAVAILABLE_REASONS["forbidden"]
        )
    except SmartAppError as error:
        log.warning(
            "summary section failed",
            extra={"section": name, "code": error.code, "detail": error.detail},
        )
        return Section(
            name, SectionStatus.UNAVAILABLE, (), summary.now_iso(), UNAVAILABLE_REASONS["error"]
        )


# --- cache ----------------------------------------------------------------------------------


def cache_scope(launch: Launch) -> str:
    """Organisation, patient, user and granted scopes: who may see a cached section."""
    material = "|".join(
        [launch.connection.slug, launch.patient_id, launch.fhir_user, launch.granted_scope]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _cache_key(scope: str, name: str) -> str:
    return f"phi:{scope}:{name}"


def _cached(scope: str, name: str) -> Section | None:
    sealed = cache.get(_cache_key(scope, name))
    if sealed is None:
        return None
    try:
        return summary.section_from_json(
            json.loads(secret_box().decrypt(sealed, bound_to=_cache_key(scope, name)))
        )
    except (DecryptionError, ValueError, KeyError, TypeError):
        return None  # old format or key: refetch


def _remember(scope: str, section: Section) -> None:
    ttl = getattr(settings, "SUMMARY_CACHE_TTL_S", DEFAULT_TTL_S).get(section.name, 60)
    body = json.dumps(summary.section_to_json(section))
    key = _cache_key(scope, section.name)
    cache.set(key, secret_box().encrypt(body, bound_to=key), ttl)


def forget(launch: Launch) -> None:
    cache.delete_many([_cache_key(cache_scope(launch), name) for name in SECTIONS])


# --- orchestration --------------------------------------------------------------------------


def _shared(name: str, granted: GrantedScopes) -> bool:
    return any(granted.can_read(rtype) for rtype in SECTION_TYPES[name])


def _run(names: list[str], fetch: Fetch, budget_s: float) -> tuple[dict[str, Section], list[str]]:
    """Build sections in parallel; those still running at the deadline are `unavailable`."""
    done: dict[str, Section] = {}
    unauthorized: list[str] = []
    if not names:
        return done, unauthorized
    pool = ThreadPoolExecutor(
        max_workers=min(len(names), int(getattr(settings, "SUMMARY_WORKERS", 8)))
    )
    futures: dict[Future[Section], str] = {pool.submit(_build, name, fetch): name for name in names}
    deadline = time.monotonic() + budget_s
    pending = set(futures)
    while pending and time.monotonic() < deadline:
        finished, pending = wait(
            pending, timeout=deadline - time.monotonic(), return_when=FIRST_EXCEPTION
        )
        for future in finished:
            name = futures[future]
            try:
                done[name] = future.result()
            except FhirUnauthorized:
                unauthorized.append(name)
            except Exception:  # a bug in a builder must not take the page down
                log.exception("summary section crashed", extra={"section": name})
                done[name] = Section(
                    name,
                    SectionStatus.UNAVAILABLE,
                    (),
                    summary.now_iso(),
                    UNAVAILABLE_REASONS["error"],
                )
    for future in pending:
        name = futures[future]
        done[name] = Section(
            name, SectionStatus.UNAVAILABLE, (), summary.now_iso(), UNAVAILABLE_REASONS["timeout"]
        )
    pool.shutdown(wait=False, cancel_futures=True)  # stragglers finish on their own timeouts
    return done, unauthorized


def build_summary(
    launch: Launch, *, refresh: bool = False, only: tuple[str, ...] = SECTIONS
) -> PatientSummary:
    """The summary of the launch's patient: cached sections, fresh ones for the rest."""
    granted = GrantedScopes.parse(launch.granted_scope)
    scope = cache_scope(launch)
    # Even a page served wholly from the cache first proves the grant is alive: it refreshes
    # an expiring token, and a grant the EHR has ended shows no cached PHI.
    token, grant_version = vault.token_and_version(launch)
    sections: dict[str, Section] = {}
    wanted = []
    for name in only:
        if not _shared(name, granted):
            sections[name] = Section(name, SectionStatus.NOT_SHARED)
        elif not refresh and (hit := _cached(scope, name)) is not None:
            sections[name] = hit
        else:
            wanted.append(name)
    if wanted:
        budget = float(getattr(settings, "SUMMARY_BUDGET_S", 8))
        fetched, unauthorized = _run(wanted, Fetch(launch, token), budget)
        if unauthorized:  # one refresh, one retry (SMART: 401 means the token is no good)
            token = vault.refreshed_after_401(launch, grant_version)
            retried, still = _run(unauthorized, Fetch(launch, token), budget)
            fetched.update(retried)
            if still:
                raise vault.end_grant(launch, GrantLost("FHIR refused the refreshed token"))
        for section in fetched.values():
            if section.status in (SectionStatus.OK, SectionStatus.EMPTY, SectionStatus.PARTIAL):
                _remember(scope, section)
        sections.update(fetched)
    return PatientSummary(summary.SCHEMA_VERSION, launch.patient_id, {n: sections[n] for n in only})


def fetch_observations(launch: Launch, **params: str) -> SearchResult:
    """For the vital-sign and lab history pages (not cached: drill-downs are on demand)."""

    def call(token: str) -> SearchResult:
        return search(
            launch.connection.iss,
            token,
            "Observation",
            {"patient": launch.patient_id, **params},
            max_pages=3,
        )

    return vault.with_access_token(launch, call)
