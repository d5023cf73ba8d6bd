"""Reading FHIR's shared data types: codings, concepts, quantities, dates (pure).

Codes keep their original system, code and display; a coding without display is shown as
its code and system; codings from unknown systems are shown, never dropped. Units are kept
as sent. `entered-in-error` (or `refuted`) records are never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smartapp.summary.contract import Coding, Concept, Json, Quantity


def coding(raw: Json) -> Coding:
    return Coding(raw.get("system"), raw.get("code"), raw.get("display"))


def concept(raw: Json | None) -> Concept:
    raw = raw or {}
    return Concept(
        tuple(coding(c) for c in raw.get("coding") or [] if isinstance(c, Mapping)), raw.get("text")
    )


def first_code(raw: Json | None) -> str | None:
    """The first code of a CodeableConcept (for status-like elements)."""
    for item in (raw or {}).get("coding") or []:
        if item.get("code"):
            return str(item["code"])
    return None


def entered_in_error(resource: Json) -> bool:
    return resource.get("status") == "entered-in-error" or first_code(
        resource.get("verificationStatus")
    ) in (
        "entered-in-error",
        "refuted",
    )


def first_date(resource: Json, *paths: str) -> str | None:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            return value
    return None


def sort_key(value: str | None) -> str:
    return value or ""


def quantity(raw: Json | None) -> Quantity | None:
    """A Quantity with a finite numeric value; None for anything else (NaN and Infinity are
    not FHIR decimals: such a reading is left out, never drawn or compared)."""
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    shown = Quantity(str(value), raw.get("unit") or raw.get("code"))
    return shown if shown.number is not None else None  # finite numbers only
