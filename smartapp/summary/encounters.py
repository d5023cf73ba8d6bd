"""Encounters: the most recent visits, cancelled and entered-in-error left out (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from smartapp.summary.codes import concept, first_date, sort_key
from smartapp.summary.contract import EncounterItem, Json


def recent_encounters(resources: Iterable[Json], limit: int = 10) -> tuple[EncounterItem, ...]:
    out = []
    for r in resources:
        if r.get("status") in ("entered-in-error", "cancelled"):
            continue
        types = [concept(t).label for t in r.get("type") or []]
        klass = r.get("class") or {}
        out.append(
            EncounterItem(
                types[0] if types else "Encounter",
                klass.get("display") or klass.get("code"),
                first_date(r, "period.start"),
                first_date(r, "period.end"),
                str(r.get("status")),
            )
        )
    return tuple(sorted(out, key=lambda e: sort_key(e.start), reverse=True)[:limit])
