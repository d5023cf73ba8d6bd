"""Active medications: orders and patient-reported medications, one row per drug (pure).

The drug's name comes from `medicationCodeableConcept`, else from the Medication that
`medicationReference` points to: a contained one (`#id`), one the search `_include`d, or one
read by reference afterwards (`unresolved_medications` says which to read). Instructions are
the dosage's text, else a sentence built from its structure (dose, timing, route, "as
needed"): US Core's MedicationRequest profile makes `dosageInstruction` structured and many
EHRs (and Synthea) send no text. "As needed" (`asNeededBoolean`, `asNeededCodeableConcept`)
is never dropped: it is added to a text that does not say it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from smart.fhir_ids import is_fhir_id
from smartapp.summary.codes import FhirModel, amount, concept, first_date, number_text
from smartapp.summary.contract import Concept, MedicationItem
from smartapp.summary.presentation import date_text

ACTIVE_REQUEST = ("active", "on-hold")
ACTIVE_STATEMENT = ("active", "intended")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NOT_SHOWN = "(medication not shown)"
UNITS_OF_TIME = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "wk": "week",
    "mo": "month",
    "a": "year",
}


def _local_reference(reference: str) -> str | None:
    """`Medication/123` from a relative or absolute reference (the last two path segments)."""
    parts = reference.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "Medication" and is_fhir_id(parts[-1]):
        return f"Medication/{parts[-1]}"
    return None


def _contained(resource: FhirModel, reference: str) -> FhirModel | None:
    wanted = reference.removeprefix("#")
    for item in resource.contained or []:
        if item.resource_type == "Medication" and item.id == wanted:
            return item
    return None


def medication_concept(resource: FhirModel, medications: Mapping[str, FhirModel]) -> Concept:
    """The drug an order or statement is about; "(medication not shown)" only when neither a
    code, a contained or known Medication, nor the reference's display names it."""
    if resource.medicationCodeableConcept is not None:
        return concept(resource.medicationCodeableConcept)
    ref = resource.medicationReference
    reference = (ref.reference or "") if ref is not None else ""
    found = (
        _contained(resource, reference)
        if reference.startswith("#")
        else medications.get(_local_reference(reference) or "")
    )
    if found is not None and found.code is not None:
        return concept(found.code)
    display = ref.display if ref is not None else None
    return Concept((), display or NOT_SHOWN)


def unresolved_medications(
    resources: Iterable[FhirModel], medications: Mapping[str, FhirModel]
) -> tuple[str, ...]:
    """The `Medication/id` references that neither a code, a contained Medication nor the
    `_include`d ones resolve: what to read by reference (in order, each once)."""
    wanted: dict[str, None] = {}
    for resource in resources:
        if resource.medicationCodeableConcept is not None or resource.medicationReference is None:
            continue
        reference = resource.medicationReference.reference or ""
        local = _local_reference(reference)
        if reference.startswith("#") or local is None or local in medications:
            continue
        wanted[local] = None
    return tuple(wanted)


def _plain(text: str) -> str:
    """A count as people write it: `1.0` -> `1`, `0.50` -> `0.5`."""
    try:
        return f"{Decimal(text).normalize():f}"
    except InvalidOperation:
        return text


def _number(value: object) -> str | None:
    text = number_text(value)
    return _plain(text) if text is not None else None


def _timing(timing: FhirModel | None) -> str | None:
    if timing is None:
        return None
    if timing.code is not None and (timing.code.text or timing.code.coding):
        return concept(timing.code).label
    repeat = timing.repeat
    if repeat is None:
        return None
    frequency, period = _number(repeat.frequency), _number(repeat.period)
    unit = UNITS_OF_TIME.get(repeat.periodUnit or "")
    if period is None or unit is None:
        return None
    times = {"1": "once", "2": "twice"}.get(frequency or "1", f"{frequency} times")
    if period == "1":
        return f"{times} a {unit}"
    if frequency in (None, "1"):
        return f"every {period} {unit}s"
    return f"{times} every {period} {unit}s"


def _dose(dose_and_rate: Sequence[FhirModel] | None) -> str | None:
    for item in dose_and_rate or []:
        dose = amount(item.doseQuantity)
        if dose is not None:
            value = _plain(dose.text)
            return f"{value} {dose.human}" if dose.human else f"dose {value}"
        if item.doseRange is not None:
            low, high = amount(item.doseRange.low), amount(item.doseRange.high)
            if low and high:
                return f"{_plain(low.text)}-{_plain(high.text)} {high.human or ''}".strip()
    return None


def as_needed_phrase(dosage: FhirModel) -> str | None:
    """ "as needed" (asNeededBoolean true) or "as needed for <reason>"
    (asNeededCodeableConcept), else None."""
    if dosage.asNeededCodeableConcept is not None:
        return f"as needed for {concept(dosage.asNeededCodeableConcept).label}"
    return "as needed" if dosage.asNeededBoolean is True else None


def dosage_text(dosage: FhirModel) -> str | None:
    """One Dosage as a sentence: its text (with "as needed" added when the text does not say
    it), else dose, timing, route, "as needed" and any additional instructions."""
    needed = as_needed_phrase(dosage)
    if dosage.text:
        text = str(dosage.text)
        said = "as needed" in text.casefold() or "prn" in text.casefold().split()
        return f"{text} ({needed})" if needed and not said else text
    parts = [
        _dose(dosage.doseAndRate),
        _timing(dosage.timing),
        concept(dosage.route).label if dosage.route is not None else None,
        needed,
        *(concept(extra).label for extra in dosage.additionalInstruction or []),
        dosage.patientInstruction,
    ]
    return ", ".join(str(part) for part in parts if part) or None


def _dosage(items: Sequence[FhirModel] | None) -> tuple[str | None, bool]:
    dosages = list(items or [])
    texts = [text for d in dosages if (text := dosage_text(d))]
    as_needed = any(as_needed_phrase(d) for d in dosages)
    return "; ".join(texts) or None, as_needed


def _same_drug_key(item: Concept) -> str:
    """De-duplication: the same RxNorm code is the same drug; without one, the same label."""
    rxnorm = item.code_in(RXNORM)
    return f"rxnorm:{rxnorm}" if rxnorm else f"label:{item.label.casefold()}"


def active_medications(
    requests: Iterable[FhirModel],
    statements: Iterable[FhirModel],
    medications: Mapping[str, FhirModel],
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
            if resource.status not in active:
                continue
            dosage, as_needed = _dosage(getattr(resource, dosage_key))
            item = MedicationItem(
                medication_concept(resource, medications),
                str(resource.status),
                date_text(first_date(resource, *date_paths)),
                dosage,
                (source,),
                as_needed,
            )
            key = _same_drug_key(item.concept)
            if key in rows:
                merged = rows[key]
                if source not in merged.sources:
                    merged = dataclasses.replace(merged, sources=(*merged.sources, source))
                if merged.dosage is None and item.dosage is not None:
                    merged = dataclasses.replace(
                        merged, dosage=item.dosage, as_needed=item.as_needed
                    )
                rows[key] = merged
            else:
                rows[key] = item
    return tuple(sorted(rows.values(), key=lambda m: m.concept.label.casefold()))
