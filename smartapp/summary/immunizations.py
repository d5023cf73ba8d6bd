"""Immunizations: the ones given, newest first (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import concept, first_date, sort_key
from smartapp.summary.contract import ImmunizationItem, Json


def immunizations(resources: Iterable[Json]) -> tuple[ImmunizationItem, ...]:
    """Given immunizations (status completed), newest first."""
    out = [
        ImmunizationItem(
            concept(r.get("vaccineCode")), first_date(r, "occurrenceDateTime"), r["status"]
        )
        for r in resources
        if r.get("status") == "completed"
    ]
    return tuple(sorted(out, key=lambda i: sort_key(i.date), reverse=True))
