"""smartapp.summary: the clinical rules on small hand-made resources, and the cache format."""

from __future__ import annotations

from datetime import date

import pytest

from smartapp import summary
from smartapp.summary import Section, SectionStatus, section_from_json, section_to_json

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


def test_coding_labels() -> None:
    assert (
        summary.Coding("http://snomed.info/sct", "38341003", None).label == "38341003 (SNOMED CT)"
    )
    assert summary.Coding("urn:oid:1.2.3", "X", None).label == "X (urn:oid:1.2.3)"
    assert summary.Coding(None, "X", None).label == "X (no system)"
    assert (
        summary.concept({"text": "Told by patient", "coding": [{"code": "1"}]}).label
        == "Told by patient"
    )


def test_units_and_values_kept_as_sent() -> None:
    result = summary.lab_result(
        obs("2345-7", 7.10, valueQuantity={"value": "7.10", "unit": "mmol/L"})
    )
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
    result = summary.lab_result(obs("2345-7", 131, **extra))
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
    reading = summary.vital_reading(panel)
    assert reading is not None
    assert (reading.value, reading.unit) == ("120/80", "mm[Hg]")
    assert summary.vital_reading({**panel, "component": panel["component"][:1]}) is None


def test_latest_vital_wins_and_errors_are_ignored() -> None:
    old = obs("8867-4", 60, "2025-01-01T00:00:00+00:00")
    new = obs("8867-4", 70, "2026-01-01T00:00:00+00:00")
    wrong = obs("8867-4", 190, "2026-06-01T00:00:00+00:00", status="entered-in-error")
    assert [v.value for v in summary.latest_vitals([old, wrong, new])] == ["70"]


def test_age_and_deceased() -> None:
    patient = {
        "birthDate": "1938-02-03",
        "deceasedDateTime": "2025-09-28T09:00:00+00:00",
        "name": [{"family": "Departed", "given": ["Walter"]}],
    }
    demo = summary.demographics(patient, date(2026, 11, 21))
    assert demo.deceased
    assert demo.age == 87
    assert demo.name == "Walter Departed"
    assert summary.age_on("2000-11-22", date(2026, 11, 21)) == 25


def test_section_round_trips_through_the_cache_format() -> None:
    items = (
        summary.EncounterItem("Check-up", "ambulatory", "2026-01-01", None, "finished"),
        summary.LabResult(
            summary.concept({"coding": [{"system": LOINC, "code": "2345-7"}]}),
            "131",
            "mg/dL",
            "2026-01-01",
            "70-99 mg/dL",
            "H",
            True,
            "reference range",
        ),
    )
    section = Section("labs", SectionStatus.PARTIAL, items, "2026-11-21T10:00:00+00:00", None, True)
    assert section_from_json(section_to_json(section)) == section
