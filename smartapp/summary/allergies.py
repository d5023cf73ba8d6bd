"""Allergies and intolerances: the active ones, high criticality first (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import concept, entered_in_error, first_code
from smartapp.summary.contract import Allergy, Json


def allergies(resources: Iterable[Json]) -> tuple[Allergy, ...]:
    """Allergies that are active (or carry no clinicalStatus); high criticality first."""
    out = []
    for resource in resources:
        status = first_code(resource.get("clinicalStatus")) or "active"
        if entered_in_error(resource) or status != "active":
            continue
        out.append(
            Allergy(
                concept(resource.get("code")),
                resource.get("criticality"),
                status,
                tuple(resource.get("category") or []),
                resource.get("recordedDate"),
            )
        )
    order = {"high": 0, "unable-to-assess": 1, "low": 2}
    return tuple(sorted(out, key=lambda a: (order.get(a.criticality or "", 3), a.concept.label)))
