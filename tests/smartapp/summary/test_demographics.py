"""smartapp.summary.demographics: age and death."""

from __future__ import annotations

from datetime import date

from smartapp.summary.demographics import age_on, demographics


def test_age_and_deceased() -> None:
    patient = {
        "birthDate": "1938-02-03",
        "deceasedDateTime": "2025-09-28T09:00:00+00:00",
        "name": [{"family": "Departed", "given": ["Walter"]}],
    }
    demo = demographics(patient, date(2026, 11, 21))
    assert demo.deceased
    assert demo.age == 87
    assert demo.name == "Walter Departed"
    assert age_on("2000-11-22", date(2026, 11, 21)) == 25
