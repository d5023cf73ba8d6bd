"""Immunizations: the ones given, newest first (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import FhirModel, concept, first_date
from smartapp.summary.contract import ImmunizationItem
from smartapp.summary.presentation import date_text, sort_key


def immunizations(resources: Iterable[FhirModel]) -> tuple[ImmunizationItem, ...]:
    """Given immunizations (status completed), newest first."""
    rows = []
    for resource in resources:
        if resource.status != "completed":
            continue
        when = first_date(resource, "occurrenceDateTime")
        rows.append(
            (
                sort_key(when),
                ImmunizationItem(concept(resource.vaccineCode), date_text(when), "completed"),
            )
        )
    rows.sort(key=lambda row: row[0], reverse=True)
    return tuple(item for _, item in rows)
