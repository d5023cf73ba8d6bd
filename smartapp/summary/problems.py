"""Active problems: the conditions that are active, recurring or relapsed (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import (
    FhirModel,
    concept,
    date_of,
    entered_in_error,
    first_code,
    first_date,
)
from smartapp.summary.contract import Problem
from smartapp.summary.presentation import date_text, sort_key

ACTIVE_CLINICAL = ("active", "recurrence", "relapse")


def active_problems(conditions: Iterable[FhirModel]) -> tuple[Problem, ...]:
    """Conditions whose clinicalStatus is active/recurrence/relapse, newest onset first."""
    rows = []
    for condition in conditions:
        status = first_code(condition.clinicalStatus)
        if entered_in_error(condition) or status not in ACTIVE_CLINICAL:
            continue
        onset = first_date(condition, "onsetDateTime", "onsetPeriod.start")
        recorded = date_of(condition.recordedDate)
        rows.append(
            (
                sort_key(onset or recorded),
                Problem(
                    concept(condition.code), str(status), date_text(onset), date_text(recorded)
                ),
            )
        )
    rows.sort(key=lambda row: row[0], reverse=True)
    return tuple(problem for _, problem in rows)
