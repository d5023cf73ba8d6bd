"""Active problems: the conditions that are active, recurring or relapsed (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import concept, entered_in_error, first_code, first_date, sort_key
from smartapp.summary.contract import Json, Problem

ACTIVE_CLINICAL = ("active", "recurrence", "relapse")


def active_problems(conditions: Iterable[Json]) -> tuple[Problem, ...]:
    """Conditions whose clinicalStatus is active/recurrence/relapse, newest onset first."""
    out = [
        Problem(
            concept(c.get("code")),
            str(first_code(c.get("clinicalStatus"))),
            first_date(c, "onsetDateTime", "onsetPeriod.start"),
            c.get("recordedDate"),
        )
        for c in conditions
        if not entered_in_error(c) and first_code(c.get("clinicalStatus")) in ACTIVE_CLINICAL
    ]
    return tuple(sorted(out, key=lambda p: sort_key(p.onset or p.recorded), reverse=True))
