"""Encounters: the visits, newest first, cancelled and entered-in-error left out (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import FhirModel, concept, first_date
from smartapp.summary.contract import EncounterItem
from smartapp.summary.presentation import date_text, sort_key

# v3 ActEncounterCode (the binding of Encounter.class): EHRs and Synthea often send the code
# with no display.
ENCOUNTER_CLASSES = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "FLD": "field",
    "HH": "home health",
    "IMP": "inpatient",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
}


def recent_encounters(resources: Iterable[FhirModel]) -> tuple[EncounterItem, ...]:
    """Every encounter read, newest first (the card shows the first ten and says of how many)."""
    rows = []
    for resource in resources:
        if resource.status in ("entered-in-error", "cancelled"):
            continue
        types = [concept(t).label for t in resource.type or []]
        klass = resource.class_fhir
        start = first_date(resource, "period.start")
        rows.append(
            (
                sort_key(start),
                EncounterItem(
                    types[0] if types else "Encounter",
                    _class_label(klass),
                    date_text(start),
                    date_text(first_date(resource, "period.end")),
                    str(resource.status),
                ),
            )
        )
    rows.sort(key=lambda row: row[0], reverse=True)
    return tuple(item for _, item in rows)


def _class_label(klass: FhirModel | None) -> str | None:
    if klass is None:
        return None
    label = klass.display or ENCOUNTER_CLASSES.get(klass.code or "", klass.code)
    return str(label) if label else None
