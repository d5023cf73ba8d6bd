"""smartapp.summary.observations: vital signs and lab results in the shapes real EHRs and
Synthea send (US Core vital signs, 55284-4 blood pressure, component-only panels, coded and
text results, statuses), parsed as the app parses them."""

from __future__ import annotations

from typing import Any

import pytest

from smartapp.summary.observations import lab_result, latest_vitals, recent_labs, vital_readings
from tests.fixtures.fhir_models import model, synthea_bundle

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def code(value: str) -> dict[str, Any]:
    return {"coding": [{"system": LOINC, "code": value}]}


def qty(value: float | str, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def obs(loinc: str, when: str = "2026-01-01T00:00:00+00:00", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": code(loinc),
        "effectiveDateTime": when,
        **extra,
    }


def bp(systolic: float, diastolic: float, panel: str = "55284-4", **extra: Any) -> dict:
    # Synthea's shape: diastolic first, unit and code both the UCUM code.
    return obs(
        panel,
        component=[
            {"code": code("8462-4"), "valueQuantity": qty(diastolic, "mm[Hg]")},
            {"code": code("8480-6"), "valueQuantity": qty(systolic, "mm[Hg]")},
        ],
        **extra,
    )


def test_blood_pressure_as_55284_4_is_read_from_its_components() -> None:
    (reading,) = vital_readings(model(bp(188.72546355403142, 115.2231)), age=67)
    assert reading.kind == "blood-pressure"
    assert (reading.value, reading.unit, reading.code) == ("189/115", "mmHg", "55284-4")
    assert reading.source_value == "188.72546355403142/115.2231"
    assert reading.source_unit == "mm[Hg]"
    assert (reading.flag, reading.flag_source) == ("H", "adult range")


def test_a_pressure_missing_one_half_is_not_shown() -> None:
    half = bp(120, 80)
    half["component"] = half["component"][:1]
    assert vital_readings(model(half)) == []


def test_vital_signs_from_components_only() -> None:
    panel = obs(
        "85353-1",
        component=[
            {"code": code("8867-4"), "valueQuantity": qty(72.4, "/min")},
            {"code": code("9279-1"), "valueQuantity": qty(16, "/min")},
        ],
    )
    readings = {r.kind: r for r in latest_vitals([model(panel)])}
    assert (readings["heart-rate"].value, readings["heart-rate"].unit) == ("72", "/min")
    assert readings["respiratory-rate"].value == "16"


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "shown", "human"),
    [
        ("29463-7", 71.6619566789248, "kg", "71.7", "kg"),
        ("8310-5", 37.83333333, "Cel", "37.8", "°C"),
        ("39156-5", 27.46, "kg/m2", "27.5", "kg/m²"),
        ("8867-4", 88.0, "/min", "88", "/min"),
        ("2708-6", 97.61, "%", "98", "%"),
        ("8302-2", 172.04, "cm", "172.0", "cm"),
    ],
)
def test_precision_and_human_units_per_measure(loinc, value, unit, shown, human) -> None:
    (reading,) = vital_readings(model(obs(loinc, valueQuantity=qty(value, unit))))
    assert (reading.value, reading.unit, reading.source_unit) == (shown, human, unit)
    assert reading.source_value == str(value)


def test_the_newest_reading_wins_across_precisions_and_shapes() -> None:
    older = bp(120, 80, panel="85354-9", effectiveDateTime="2025-06")
    newer = bp(130, 85, effectiveDateTime="2025-06-15T08:00:00-05:00")
    wrong = bp(220, 130, status="entered-in-error", effectiveDateTime="2026-01-01")
    (latest,) = latest_vitals([model(older), model(newer), model(wrong)])
    assert (latest.value, latest.date) == ("130/85", "2025-06-15")


@pytest.mark.parametrize(
    ("age", "interpretation", "flag", "source"),
    [
        (67, None, "H", "adult range"),
        (9, None, None, None),  # a child: the adult ranges do not apply
        (None, None, None, None),  # age unknown
        (67, "N", None, None),  # the EHR's own word wins
        (67, "HH", "HH", "interpretation"),
    ],
)
def test_vital_flags(age, interpretation, flag, source) -> None:
    extra: dict[str, Any] = {}
    if interpretation:
        extra["interpretation"] = [{"coding": [{"code": interpretation}]}]
    (reading,) = vital_readings(model(obs("8867-4", valueQuantity=qty(128, "/min"), **extra)), age)
    assert (reading.flag, reading.flag_source) == (flag, source)


def test_lab_values_keep_the_sources_digits_up_to_the_cap() -> None:
    as_sent = model(
        '{"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": '
        '"http://loinc.org", "code": "2823-3"}]}, "valueQuantity": {"value": 7.10, '
        '"unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}}'
    )
    result = lab_result(as_sent)
    assert result is not None
    assert (result.value, result.unit, result.source_value) == ("7.10", "mmol/L", "7.10")
    long = lab_result(model(obs("6690-2", valueQuantity=qty(5.337817329, "10*3/uL"))))
    assert long is not None
    assert (long.value, long.unit, long.source_unit) == ("5.338", "×10³/µL", "10*3/uL")  # noqa: RUF001


def test_text_coded_and_absent_results() -> None:
    text = lab_result(model(obs("600-7", valueString="No growth at 48 hours")))
    coded = lab_result(
        model(
            obs(
                "5802-4",
                valueCodeableConcept={
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "260385009",
                            "display": "Negative",
                        }
                    ]
                },
            )
        )
    )
    absent = lab_result(
        model(obs("2345-7", dataAbsentReason={"coding": [{"code": "error", "display": "Error"}]}))
    )
    assert text is not None
    assert text.value == "No growth at 48 hours"
    assert coded is not None
    assert coded.value == "Negative"
    assert absent is not None
    assert absent.value == "No value: Error"


def test_statuses_panels_and_cancelled_results() -> None:
    corrected = model(obs("2345-7", status="corrected", valueQuantity=qty(101, "mg/dL")))
    cancelled = model(obs("718-7", status="cancelled", valueQuantity=qty(13, "g/dL")))
    panel = model(obs("58410-2", hasMember=[{"reference": "Observation/x"}]))
    labs = recent_labs([corrected, cancelled, panel])
    assert [(r.concept.codings[0].code, r.status) for r in labs] == [("2345-7", "corrected")]


@pytest.mark.parametrize(
    ("extra", "flag", "source"),
    [
        ({"interpretation": [{"coding": [{"code": "H"}]}]}, "H", "interpretation"),
        (
            {
                "interpretation": [{"coding": [{"code": "N"}]}],
                "referenceRange": [{"low": qty(1, "mg/dL"), "high": qty(2, "mg/dL")}],
            },
            None,
            "interpretation",
        ),
        (
            {"referenceRange": [{"low": qty(70, "mg/dL"), "high": qty(99, "mg/dL")}]},
            "H",
            "reference range",
        ),
        ({"referenceRange": [{"low": qty(150, "mg/dL")}]}, "L", "reference range"),
        ({}, None, None),
    ],
)
def test_abnormal_flags(extra, flag, source) -> None:
    result = lab_result(model(obs("2345-7", valueQuantity=qty(131, "mg/dL"), **extra)))
    assert result is not None
    assert (result.flag, result.abnormal, result.flag_source) == (flag, flag is not None, source)


def test_synthea_blood_pressure_of_a_hypertensive_patient() -> None:
    """Trey Berge (Synthea, vendored): hypertension; his latest reading is 188.7/101.7."""
    records = synthea_bundle("Trey_Berge")
    vitals = {v.kind: v for v in latest_vitals(records["Observation"], age=60)}
    assert vitals["blood-pressure"].value == "189/102"
    assert vitals["blood-pressure"].unit == "mmHg"
    assert vitals["blood-pressure"].flag == "H"
    # Synthea records oral temperature as 8331-1 rather than US Core's 8310-5.
    assert set(vitals) == {"blood-pressure", "temperature", "weight", "height", "bmi"}
    assert vitals["temperature"].unit == "°C"


def test_synthea_labs_are_every_test_not_a_first_page() -> None:
    records = synthea_bundle("Alexis_Toy")  # 26 distinct tests
    labs = [o for o in records["Observation"] if "laboratory" in str(o.as_json().get("category"))]
    distinct = {tuple((c.system, c.code) for c in o.code.coding) for o in labs}
    assert len(recent_labs(labs)) == len(distinct) > 20
