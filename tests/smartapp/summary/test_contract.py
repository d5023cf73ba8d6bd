"""smartapp.summary.contract: the cache format."""

from __future__ import annotations

from smartapp.summary.contract import (
    Coding,
    Concept,
    Demographics,
    EncounterItem,
    LabResult,
    Section,
    SectionStatus,
    section_from_json,
    section_to_json,
)

LOINC = "http://loinc.org"


def test_section_round_trips_through_the_cache_format() -> None:
    items = (
        EncounterItem("Check-up", "ambulatory", "2026-01-01", None, "finished"),
        LabResult(
            Concept((Coding(LOINC, "2345-7", None),)),
            "131",
            "mg/dL",
            "2026-01-01",
            "70-99 mg/dL",
            "H",
            True,
            "reference range",
            "131.0",
            "mg/dL",
            "corrected",
        ),
        Demographics("A", (), "1958-07", 68, "female", ("MRN-1",), True, "2020-05", False),
    )
    section = Section("labs", SectionStatus.PARTIAL, items, "2026-11-21T10:00:00+00:00", None, True)
    assert section_from_json(section_to_json(section)) == section
