"""One builder per section: the queries it sends and the mapping that turns them into a
`Section`. A builder asks the EHR only through the `Fetch` methods (`read`, `search`,
`may_read`); EHR failures propagate to the service, which turns them into `unavailable`.
The mappers read fhirclient R4 models: `search` hands them over parsed (`SearchResult.models`),
and `read` answers are parsed here (`resources.parse`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import date
from typing import Any, Protocol, TypeVar

from smart.errors import EhrUnavailable, PatientUnavailable
from smartapp.fhir.resources import FhirModel, parse
from smartapp.fhir.search import SearchResult
from smartapp.observability import tracing
from smartapp.summary import (
    allergies,
    demographics,
    documents,
    encounters,
    immunizations,
    medications,
    observations,
    problems,
)
from smartapp.summary.contract import Json, Section, SectionStatus, now_iso


class Fetch(Protocol):
    """What a builder may ask of the EHR: the methods of smartapp.summary.fetch.Fetch."""

    @property
    def patient(self) -> str: ...

    # Whether independent queries may run on other threads at once (the EHR: yes; the
    # canonical store: no, its reads must stay on the thread holding the tenant session).
    @property
    def concurrent(self) -> bool: ...

    def read(self, resource_type: str, resource_id: str) -> Json: ...

    def search(self, rtype: str, **params: str) -> SearchResult: ...

    def may_read(self, rtype: str) -> bool: ...


T = TypeVar("T")
NOTHING = SearchResult((), {}, False, 0)


class _InThisThread(Executor):
    """An executor that runs each call at once, on the caller's thread."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        done: Future[T] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to whoever reads the result, as a pool would
            done.set_exception(error)
        return done


def _side_by_side(fetch: Fetch, name: str) -> Executor:
    """Two threads for two independent queries (one round trip instead of two), or the
    caller's own thread when the fetch must stay on it."""
    if fetch.concurrent:
        return ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"summary-{name}")
    return _InThisThread()


def section(
    name: str, items: tuple[Any, ...], truncated: bool = False, dropped: int = 0
) -> Section:
    status = SectionStatus.OK if items else SectionStatus.EMPTY
    if truncated or dropped:
        status = SectionStatus.PARTIAL
    return Section(name, status, items, now_iso(), None, truncated)


def _read_model(fetch: Fetch, resource_type: str, resource_id: str) -> FhirModel:
    model = parse(fetch.read(resource_type, resource_id))
    assert model is not None  # `read` answers only well-formed resources of the asked type
    return model


def demographics_section(fetch: Fetch) -> Section:
    patient = _read_model(fetch, "Patient", fetch.patient)
    return section("demographics", (demographics.demographics(patient, date.today()),))


def problems_section(fetch: Fetch) -> Section:
    found = fetch.search("Condition", _count="100")
    return section(
        "problems", problems.active_problems(found.models), found.truncated, found.dropped
    )


MAX_MEDICATION_READS = 20  # Medications read one by one when `_include` left them out


def _read_medications(fetch: Fetch, wanted: tuple[str, ...]) -> tuple[dict[str, FhirModel], int]:
    """Medications the search did not include, read by reference (SMART servers drop an
    `_include` the token's scopes do not cover, and some ignore `_include` altogether).
    Returns those read and how many could not be (the section is then partial)."""
    if not wanted or not fetch.may_read("Medication"):
        return {}, len(wanted)
    found: dict[str, FhirModel] = {}
    missed = max(0, len(wanted) - MAX_MEDICATION_READS)
    for reference in wanted[:MAX_MEDICATION_READS]:
        try:
            found[reference] = _read_model(fetch, "Medication", reference.split("/", 1)[1])
        except (PatientUnavailable, EhrUnavailable):  # gone, forbidden, malformed, slow
            missed += 1
    return found, missed


def medications_section(fetch: Fetch) -> Section:
    # Orders and patient-reported medications do not depend on each other: ask for both at
    # once, so the section costs one round trip, not two. Each runs in a copy of this context:
    # its span belongs to the section's and its reads to the page's PHI access record.
    with _side_by_side(fetch, "medications") as pool:
        pending_requests = (
            pool.submit(
                tracing.in_context(fetch.search),
                "MedicationRequest",
                _count="100",
                _include="MedicationRequest:medication",
            )
            if fetch.may_read("MedicationRequest")
            else None
        )
        pending_statements = (
            pool.submit(tracing.in_context(fetch.search), "MedicationStatement", _count="100")
            if fetch.may_read("MedicationStatement")
            else None
        )
        requests = pending_requests.result() if pending_requests else NOTHING
        statements = pending_statements.result() if pending_statements else NOTHING
    known = dict(requests.included_models)
    wanted = medications.unresolved_medications((*requests.models, *statements.models), known)
    read, missed = _read_medications(fetch, wanted)
    known.update(read)
    items = medications.active_medications(requests.models, statements.models, known)
    return section(
        "medications",
        items,
        requests.truncated or statements.truncated,
        requests.dropped + statements.dropped + missed,
    )


def allergies_section(fetch: Fetch) -> Section:
    found = fetch.search("AllergyIntolerance", _count="100")
    return section("allergies", allergies.allergies(found.models), found.truncated, found.dropped)


def immunizations_section(fetch: Fetch) -> Section:
    found = fetch.search("Immunization", _count="100", _sort="-date")
    return section(
        "immunizations",
        immunizations.immunizations(found.models),
        found.truncated,
        found.dropped,
    )


def patient_age(fetch: Fetch) -> int | None:
    """The patient's age for the adult vital-sign ranges (None when Patient is not shared or
    cannot be read: then only the EHR's own interpretation flags a reading)."""
    if not fetch.may_read("Patient"):
        return None
    try:
        patient = _read_model(fetch, "Patient", fetch.patient)
    except (PatientUnavailable, EhrUnavailable):
        return None
    return demographics.demographics(patient, date.today()).age


def vitals_section(fetch: Fetch) -> Section:
    # Newest first, so the first pages hold the latest reading of each kind even when the
    # page cap stops before older ones; `truncated` still says older readings were left out.
    found = fetch.search("Observation", category="vital-signs", _sort="-date", _count="100")
    return section(
        "vitals",
        observations.latest_vitals(found.models, patient_age(fetch)),
        found.truncated,
        found.dropped,
    )


def labs_section(fetch: Fetch) -> Section:
    found = fetch.search("Observation", category="laboratory", _sort="-date", _count="100")
    return section("labs", observations.recent_labs(found.models), found.truncated, found.dropped)


def encounters_section(fetch: Fetch) -> Section:
    found = fetch.search("Encounter", _sort="-date", _count="20")
    return section(
        "encounters",
        encounters.recent_encounters(found.models),
        found.truncated,
        found.dropped,
    )


def documents_section(fetch: Fetch) -> Section:
    # Notes and reports do not depend on each other: one round trip for both, as medications.
    with _side_by_side(fetch, "documents") as pool:
        pending = {
            rtype: pool.submit(tracing.in_context(fetch.search), rtype, _sort="-date", _count="100")
            for rtype in documents.DOCUMENT_TYPES
            if fetch.may_read(rtype)
        }
        found = {rtype: future.result() for rtype, future in pending.items()}
    notes = found.get("DocumentReference", NOTHING)
    reports = found.get("DiagnosticReport", NOTHING)
    return section(
        "documents",
        documents.recent_documents(notes.models, reports.models),
        notes.truncated or reports.truncated,
        notes.dropped + reports.dropped,
    )
