"""smartapp.summary.contract: the cache format."""

from __future__ import annotations

from smartapp.summary.codes import concept
from smartapp.summary.contract import (
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
            concept({"coding": [{"system": LOINC, "code": "2345-7"}]}),
            "131",
            "mg/dL",
            "2026-01-01",
            "70-99 mg/dL",
            "H",
            True,
            "reference range",
        ),
    )
    section = Section("labs", SectionStatus.PARTIAL, items, "2026-11-21T10:00:00+00:00", None, True)
    assert section_from_json(section_to_json(section)) == section
