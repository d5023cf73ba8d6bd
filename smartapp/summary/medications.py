"""Active medications: orders and patient-reported medications, one row per drug (pure)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from smartapp.summary.codes import concept, first_date
from smartapp.summary.contract import Concept, Json, MedicationItem

ACTIVE_REQUEST = ("active", "on-hold")
ACTIVE_STATEMENT = ("active", "intended")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _medication_concept(resource: Json, medications: Mapping[str, Json]) -> Concept:
    if resource.get("medicationCodeableConcept"):
        return concept(resource["medicationCodeableConcept"])
    reference = (resource.get("medicationReference") or {}).get("reference", "")
    referenced = medications.get(reference)
    if referenced is not None:
        return concept(referenced.get("code"))
    display = (resource.get("medicationReference") or {}).get("display")
    return Concept((), display or "(medication not shown)")


def _dosage(items: Sequence[Json] | None) -> str | None:
    texts = [str(d["text"]) for d in items or [] if isinstance(d, Mapping) and d.get("text")]
    return "; ".join(texts) or None


def _same_drug_key(item: Concept) -> str:
    """De-duplication: the same RxNorm code is the same drug; without one, the same label."""
    rxnorm = item.code_in(RXNORM)
    return f"rxnorm:{rxnorm}" if rxnorm else f"label:{item.label.casefold()}"


def active_medications(
    requests: Iterable[Json], statements: Iterable[Json], medications: Mapping[str, Json]
) -> tuple[MedicationItem, ...]:
    """Active orders and active patient-reported medications, one row per drug.

    An order and a statement for the same drug (same RxNorm code, else same label) merge
    into one row listing both sources; the order's details win.
    """
    rows: dict[str, MedicationItem] = {}
    for source, resources, active, date_paths, dosage_key in (
        ("order", requests, ACTIVE_REQUEST, ("authoredOn",), "dosageInstruction"),
        (
            "patient-reported",
            statements,
            ACTIVE_STATEMENT,
            ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
            "dosage",
        ),
    ):
        for resource in resources:
            if resource.get("status") not in active:
                continue
            item = MedicationItem(
                _medication_concept(resource, medications),
                str(resource["status"]),
                first_date(resource, *date_paths),
                _dosage(resource.get(dosage_key)),
                (source,),
            )
            key = _same_drug_key(item.concept)
            if key in rows:
                merged = rows[key]
                rows[key] = dataclasses.replace(merged, sources=(*merged.sources, source))
            else:
                rows[key] = item
    return tuple(sorted(rows.values(), key=lambda m: m.concept.label.casefold()))
