"""The summary contract as v1 JSON: one `PatientSummary`, built by the same section builders
whether it came from the EHR for a launch or from the canonical store for a service client,
turned into the API's schemas here, and only here.

The use-case views (latest results, medications with status) are selections over the
summary's sections, not second queries: what the API says about a patient is what the page
shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from api import schemas
from smartapp.summary import sections as registry
from smartapp.summary.contract import PatientSummary, Section, SectionStatus

Source = Literal["ehr", "store"]


def section_out(
    section: Section, source: Source, connection: str, items: Sequence[Any] | None = None
) -> schemas.SectionBase:
    """`section` in its v1 schema; `items` replaces its items (a page of them, or none)."""
    schema = schemas.SECTION_SCHEMAS[section.name]
    item_schema = schemas.ITEM_SCHEMAS[section.name]
    shown = section.items if items is None else items
    return schema.model_validate(
        {
            "name": section.name,
            "title": str(registry.spec_for(section.name).title),
            "status": section.status.value,
            "reason": section.reason,
            "truncated": section.truncated,
            "provenance": {
                "source": source,
                "connection": connection,
                "retrieved_at": section.retrieved_at,
            },
            "items": [item_schema.model_validate(item) for item in shown],
        }
    )


def summary_out(summary: PatientSummary, source: Source, connection: str) -> schemas.SummaryOut:
    built = {
        name: section_out(
            summary.sections.get(name) or Section(name, SectionStatus.NOT_SHARED),
            source,
            connection,
        )
        for name in registry.section_names()
    }
    return schemas.SummaryOut(
        schema_version=summary.version,
        patient_id=summary.patient_id,
        sections=schemas.Sections.model_validate(built),
    )


def _lab_codes(item: Any) -> set[str]:
    return {c.code for c in item.concept.codings if c.code}


def latest_results(
    summary: PatientSummary,
    source: Source,
    connection: str,
    category: schemas.Category | None = None,
    code: str | None = None,
) -> schemas.ResultsOut:
    """The latest result of each kind (the vitals and labs sections' items), narrowed to one
    category (`vital-signs`, `laboratory`) and/or one code (any coding's code: a LOINC code
    for vitals and most labs)."""
    vitals = summary.sections["vitals"]
    labs = summary.sections["labs"]
    vital_items = [v for v in vitals.items if code is None or v.code == code]
    lab_items = [lab for lab in labs.items if code is None or code in _lab_codes(lab)]
    if category == "laboratory":
        vital_items = []
    if category == "vital-signs":
        lab_items = []
    return schemas.ResultsOut(
        patient_id=summary.patient_id,
        vitals=[schemas.VitalSignOut.model_validate(v) for v in vital_items],
        labs=[schemas.LabResultOut.model_validate(lab) for lab in lab_items],
        sections=[
            section_out(vitals, source, connection, ()),  # type: ignore[list-item]
            section_out(labs, source, connection, ()),  # type: ignore[list-item]
        ],
    )


def medications(
    summary: PatientSummary, source: Source, connection: str, status: str | None = None
) -> schemas.MedicationsOut:
    """The medications section's items with their status (`active`, `on-hold`...; the
    section keeps the current ones), narrowed to one status when asked."""
    section = summary.sections["medications"]
    items = [m for m in section.items if status is None or m.status == status]
    return schemas.MedicationsOut(
        patient_id=summary.patient_id,
        medications=[schemas.MedicationOut.model_validate(m) for m in items],
        section=section_out(section, source, connection, ()),  # type: ignore[arg-type]
    )
