"""Reading FHIR's shared data types from fhirclient's R4 models: codings, concepts,
quantities, dates (pure).

The mappers read fhirclient model objects (parsed once, when the search checked each entry:
smartapp/fhir/resources.py), never raw JSON. Where fhirclient falls short this module says
so: a `decimal` is a float in its models, so the digits the EHR sent come from the parsed
number's `.text` (smartapp/fhir/transport.SourceNumber); a partial date keeps its original
text in `FHIRDate.as_json()`, which is what is shown (`date` alone would be 1 January).

Codes keep their original system, code and display; a coding without display is shown as
its code and system; codings from unknown systems are shown, never dropped.
`entered-in-error` (or `refuted`) records are never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartapp.summary.contract import Coding, Concept
from smartapp.summary.presentation import UCUM_HUMAN, human_unit

# fhirclient's R4 model objects (smartapp.fhir.resources.FhirModel): untyped, so `Any`.
FhirModel = Any
UCUM = "http://unitsofmeasure.org"


def coding(raw: FhirModel) -> Coding:
    return Coding(raw.system, raw.code, raw.display)


def concept(raw: FhirModel | None) -> Concept:
    if raw is None:
        return Concept(())
    return Concept(tuple(coding(c) for c in raw.coding or []), raw.text)


def first_code(raw: FhirModel | None) -> str | None:
    """The first code of a CodeableConcept (for status-like elements)."""
    for item in getattr(raw, "coding", None) or []:
        if item.code:
            return str(item.code)
    return None


def entered_in_error(resource: FhirModel) -> bool:
    return getattr(resource, "status", None) == "entered-in-error" or first_code(
        getattr(resource, "verificationStatus", None)
    ) in ("entered-in-error", "refuted")


def date_of(value: FhirModel | None) -> str | None:
    """A FHIRDate/FHIRDateTime as the EHR wrote it (`2020`, `2020-05`, an instant)."""
    if value is None:
        return None
    text = value.as_json()
    return text if isinstance(text, str) and text else None


def first_date(resource: FhirModel, *paths: str) -> str | None:
    """The first of the dotted element paths (`effectivePeriod.start`) that holds a date."""
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = getattr(value, part, None)
        found = date_of(value) if value is not None and hasattr(value, "as_json") else None
        if found:
            return found
    return None


def number_text(value: Any) -> str | None:
    """A FHIR decimal or integer as the EHR wrote it (`7.10` stays `7.10`); None for anything
    else (a NaN or Infinity never reaches here: the JSON reader refuses them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    text = getattr(value, "text", None)  # transport.SourceNumber keeps the source's digits
    return text if isinstance(text, str) else str(value)


@dataclass(frozen=True)
class Amount:
    """A Quantity: the number as sent, its unit as sent (the UCUM `code` when the system is
    UCUM, else `unit`), the unit as shown, and a comparator (`<` for "below the detection
    limit": such a result is not the number alone)."""

    text: str
    code: str | None
    human: str | None
    comparator: str = ""


def amount(raw: FhirModel | None) -> Amount | None:
    if raw is None:
        return None
    text = number_text(raw.value)
    if text is None:
        return None
    code = raw.code if raw.system == UCUM and raw.code else (raw.unit or raw.code)
    known = code in UCUM_HUMAN and (raw.system == UCUM or raw.unit == code)
    human = human_unit(code) if known else (raw.unit or raw.code)
    comparator = raw.comparator if raw.comparator in ("<", "<=", ">=", ">") else ""
    return Amount(text, code, human, comparator)
