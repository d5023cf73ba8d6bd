"""One builder per section: the queries it sends and the mapping that turns them into a
`Section`. A builder asks the EHR only through the `Fetch` methods (`read`, `search`,
`may_read`); EHR failures propagate to the service, which turns them into `unavailable`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, Protocol

from smartapp.fhir.search import SearchResult
from smartapp.summary import (
    allergies,
    demographics,
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

    def read(self, resource_type: str, resource_id: str) -> Json: ...

    def search(self, rtype: str, **params: str) -> SearchResult: ...

    def may_read(self, rtype: str) -> bool: ...


NOTHING = SearchResult((), {}, False, 0)


def section(
    name: str, items: tuple[Any, ...], truncated: bool = False, dropped: int = 0
) -> Section:
    status = SectionStatus.OK if items else SectionStatus.EMPTY
    if truncated or dropped:
        status = SectionStatus.PARTIAL
    return Section(name, status, items, now_iso(), None, truncated)


def demographics_section(fetch: Fetch) -> Section:
    patient = fetch.read("Patient", fetch.patient)
    return section("demographics", (demographics.demographics(patient, date.today()),))


def problems_section(fetch: Fetch) -> Section:
    found = fetch.search("Condition", _count="100")
    return section(
        "problems", problems.active_problems(found.resources), found.truncated, found.dropped
    )


def medications_section(fetch: Fetch) -> Section:
    # Orders and patient-reported medications do not depend on each other: ask for both at
    # once, so the section costs one round trip, not two.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="summary-medications") as pool:
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
    items = medications.active_medications(
        requests.resources, statements.resources, requests.included
    )
    return section(
        "medications",
        items,
        requests.truncated or statements.truncated,
        requests.dropped + statements.dropped,
    )


def allergies_section(fetch: Fetch) -> Section:
    found = fetch.search("AllergyIntolerance", _count="100")
    return section(
        "allergies", allergies.allergies(found.resources), found.truncated, found.dropped
    )


def immunizations_section(fetch: Fetch) -> Section:
    found = fetch.search("Immunization", _count="100", _sort="-date")
    return section(
        "immunizations",
        immunizations.immunizations(found.resources),
        found.truncated,
        found.dropped,
    )


def vitals_section(fetch: Fetch) -> Section:
    # Newest first, so the first pages hold the latest reading of each kind even when the
    # page cap stops before older ones; `truncated` still says older readings were left out.
    found = fetch.search("Observation", category="vital-signs", _sort="-date", _count="100")
    return section(
        "vitals", observations.latest_vitals(found.resources), found.truncated, found.dropped
    )


def labs_section(fetch: Fetch) -> Section:
    found = fetch.search("Observation", category="laboratory", _sort="-date", _count="100")
    return section(
        "labs", observations.recent_labs(found.resources), found.truncated, found.dropped
    )


def encounters_section(fetch: Fetch) -> Section:
    found = fetch.search("Encounter", _sort="-date", _count="20")
    return section(
        "encounters",
        encounters.recent_encounters(found.resources),
        found.truncated,
        found.dropped,
    )
