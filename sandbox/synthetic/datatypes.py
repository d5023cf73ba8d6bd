"""FHIR R4 datatypes as synthetic records write them: instants, CodeableConcepts,
References and UCUM Quantities.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.synthetic.codes import UCUM

Resource = dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def concept(
    system: str | None, code: str, display: str | None, text: str | None = None
) -> Resource:
    """A CodeableConcept with one coding (no system or display when None)."""
    coding: Resource = {"code": code}
    if system is not None:
        coding["system"] = system
    if display is not None:
        coding["display"] = display
    codeable: Resource = {"coding": [coding]}
    if text is not None:
        codeable["text"] = text
    return codeable


def ref(resource_type: str, resource_id: str) -> Resource:
    return {"reference": f"{resource_type}/{resource_id}"}


def quantity(value: float, unit: str, decimals: int) -> Resource:
    number: float | int = round(value, decimals) if decimals else round(value)
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


def strip_none(resource: Resource) -> Resource:
    """The resource without its top-level None values (how a caller removes a field)."""
    return {key: value for key, value in resource.items() if value is not None}
