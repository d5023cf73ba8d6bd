"""Allergies and intolerances: the active ones, high criticality first (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import FhirModel, concept, date_of, entered_in_error, first_code
from smartapp.summary.contract import Allergy
from smartapp.summary.presentation import date_text


def allergies(resources: Iterable[FhirModel]) -> tuple[Allergy, ...]:
    """Allergies that are active (or carry no clinicalStatus); high criticality first."""
    out = []
    for resource in resources:
        status = first_code(resource.clinicalStatus) or "active"
        if entered_in_error(resource) or status != "active":
            continue
        out.append(
            Allergy(
                concept(resource.code),
                resource.criticality,
                status,
                tuple(resource.category or []),
                date_text(date_of(resource.recordedDate)),
            )
        )
    order = {"high": 0, "unable-to-assess": 1, "low": 2}
    return tuple(sorted(out, key=lambda a: (order.get(a.criticality or "", 3), a.concept.label)))
