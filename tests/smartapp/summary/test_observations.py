"""smartapp.summary.observations: vital signs and lab results on small hand-made resources."""

from __future__ import annotations

import pytest

from smartapp.summary.observations import lab_result, latest_vitals, vital_reading

LOINC = "http://loinc.org"


def obs(
    code: str, value: float | None = None, when: str = "2026-01-01T00:00:00+00:00", **extra
) -> dict:
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": when,
    }
    if value is not None:
        body["valueQuantity"] = {"value": value, "unit": "mg/dL"}
    return {**body, **extra}


def test_units_and_values_kept_as_sent() -> None:
    result = lab_result(obs("2345-7", 7.10, valueQuantity={"value": "7.10", "unit": "mmol/L"}))
    assert result is not None
    assert (result.value, result.unit) == ("7.10", "mmol/L")


@pytest.mark.parametrize(
    ("extra", "flag", "source"),
    [
        ({"interpretation": [{"coding": [{"code": "H"}]}]}, "H", "interpretation"),
        (
            {
                "interpretation": [{"coding": [{"code": "N"}]}],
                "referenceRange": [{"low": {"value": 1}, "high": {"value": 2}}],
            },
            None,
            "interpretation",
        ),
        (
            {"referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]},
            "H",
            "reference range",
        ),
        ({"referenceRange": [{"low": {"value": 150}}]}, "L", "reference range"),
        ({}, None, None),
    ],
)
def test_abnormal_flags(extra, flag, source) -> None:
    result = lab_result(obs("2345-7", 131, **extra))
    assert result is not None
    assert (result.flag, result.abnormal, result.flag_source) == (flag, flag is not None, source)


def test_blood_pressure_needs_both_components() -> None:
    panel = obs(
        "85354-9",
        component=[
            {
                "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                "valueQuantity": {"value": 80, "unit": "mm[Hg]"},
            },
        ],
    )
    reading = vital_reading(panel)
    assert reading is not None
    assert (reading.value, reading.unit) == ("120/80", "mm[Hg]")
    assert vital_reading({**panel, "component": panel["component"][:1]}) is None


def test_latest_vital_wins_and_errors_are_ignored() -> None:
    old = obs("8867-4", 60, "2025-01-01T00:00:00+00:00")
    new = obs("8867-4", 70, "2026-01-01T00:00:00+00:00")
    wrong = obs("8867-4", 190, "2026-06-01T00:00:00+00:00", status="entered-in-error")
    assert [v.value for v in latest_vitals([old, wrong, new])] == ["70"]
