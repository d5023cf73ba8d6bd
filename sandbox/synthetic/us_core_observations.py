"""The `us-core` patient's vital signs and labs, as Synthea and US Core EHRs send them (the
facts are tabled in `us_core_shapes`): blood pressure as 55284-4, a heart rate only inside a
panel's components, Synthea-precision UCUM values, a CBC panel with `hasMember` and a report,
string, coded and absent results, and amended, corrected, preliminary and cancelled statuses.
"""

from __future__ import annotations

from sandbox.synthetic.codes import LOINC, SNOMED, US_CORE, V2_0074
from sandbox.synthetic.datatypes import Resource, concept, ref
from sandbox.synthetic.us_core_builders import (
    DATA_ABSENT_REASON,
    blood_pressure,
    flag,
    observation,
    reference_range,
    ucum,
)

PATIENT = "us-core"
LATEST_VISIT = "2026-09-15T09:30:12-04:00"
LATEST_LABS = "2026-09-15T10:05:00-04:00"
LATEST_ENCOUNTER = ref("Encounter", "us-core-enc-2")
HEART_RATE = ("8867-4", "Heart rate")
RESPIRATORY_RATE = ("9279-1", "Respiratory rate")
VITALS_PANEL = (
    "85353-1",
    "Vital signs, weight, height, head circumference, oxygen saturation and BMI panel",
)
HBA1C = ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood")
CBC = ("58410-2", "CBC panel - Blood by Automated count")
# Latest visit, one value each: (id, LOINC, display, value, UCUM code).
SINGLE_VITALS = (
    ("us-core-obs-temp", "8310-5", "Body temperature", 37.83333333, "Cel"),
    ("us-core-obs-weight", "29463-7", "Body weight", 71.6619566789248, "kg"),
    ("us-core-obs-height", "8302-2", "Body height", 160.10000000000002, "cm"),
    ("us-core-obs-bmi", "39156-5", "Body mass index (BMI) [Ratio]", 27.957993414845255, "kg/m2"),
    ("us-core-obs-spo2", "2708-6", "Oxygen saturation in Arterial blood", 96.5, "%"),
)
# The CBC panel's members: (id, LOINC, display, value, UCUM code, (low, high), extra fields).
CBC_MEMBERS: tuple[tuple[str, str, str, float, str, tuple[float, float], Resource], ...] = (
    (
        "us-core-obs-wbc",
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        12.8,
        "10*3/uL",
        (4.5, 11.0),
        {"interpretation": flag("H")},
    ),
    (
        "us-core-obs-hgb",
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        11.2,
        "g/dL",
        (12.0, 15.5),
        {"interpretation": flag("L")},
    ),
    # Above its range, with no interpretation: only the range says it is abnormal.
    (
        "us-core-obs-plt",
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        465.0,
        "10*3/uL",
        (150.0, 450.0),
        {},
    ),
    (
        "us-core-obs-hct",
        "4544-3",
        "Hematocrit [Volume Fraction] of Blood by Automated count",
        38.1,
        "%",
        (35.5, 44.9),
        {"interpretation": flag("N"), "status": "corrected"},
    ),
)


def blood_pressures() -> list[Resource]:
    """Three readings as 55284-4, Synthea's precision; the newest is hypertensive."""
    return [
        blood_pressure(
            "us-core-obs-bp-1",
            PATIENT,
            "2021-03",
            141.33201375245,
            88.90123306519,
            note=[{"text": "Recorded in March 2021; the day is unknown."}],
        ),
        blood_pressure(
            "us-core-obs-bp-2",
            PATIENT,
            "2024-05-20T10:12:43-04:00",
            151.0719340312768,
            97.44208723315981,
            encounter=ref("Encounter", "us-core-enc-1"),
        ),
        blood_pressure(
            "us-core-obs-bp-3",
            PATIENT,
            LATEST_VISIT,
            188.72546355403142,
            115.22310436093298,
            encounter=LATEST_ENCOUNTER,
            interpretation=flag("H"),
        ),
    ]


def us_core_vital_signs() -> list[Resource]:
    """Blood pressures, an older standalone heart rate, the latest one only inside an
    85353-1 panel's components, and single-value vital signs in UCUM.
    """
    standalone_heart_rate = observation(
        "us-core-obs-hr",
        PATIENT,
        "vital-signs",
        HEART_RATE,
        "2026-06-10T14:20:00-04:00",
        valueQuantity=ucum(78.0, "/min"),
    )
    panel = observation(
        "us-core-obs-vitals-panel",
        PATIENT,
        "vital-signs",
        VITALS_PANEL,
        LATEST_VISIT,
        encounter=LATEST_ENCOUNTER,
        component=[
            {"code": concept(LOINC, *HEART_RATE), "valueQuantity": ucum(96.0, "/min")},
            {"code": concept(LOINC, *RESPIRATORY_RATE), "valueQuantity": ucum(18.0, "/min")},
        ],
    )
    singles = [
        observation(
            oid,
            PATIENT,
            "vital-signs",
            (code, display),
            LATEST_VISIT,
            encounter=LATEST_ENCOUNTER,
            valueQuantity=ucum(value, unit),
        )
        for oid, code, display, value, unit in SINGLE_VITALS
    ]
    return [*blood_pressures(), standalone_heart_rate, panel, *singles]


def cbc() -> list[Resource]:
    """A CBC panel Observation (`hasMember`, no value), its members, and a report."""
    members = [
        observation(
            oid,
            PATIENT,
            "laboratory",
            (code, display),
            LATEST_LABS,
            encounter=LATEST_ENCOUNTER,
            valueQuantity=ucum(value, unit),
            referenceRange=reference_range(*limits, unit),
            **extra,
        )
        for oid, code, display, value, unit, limits, extra in CBC_MEMBERS
    ]
    member_refs = [ref("Observation", member["id"]) for member in members]
    panel = observation(
        "us-core-obs-cbc", PATIENT, "laboratory", CBC, LATEST_LABS, hasMember=member_refs
    )
    report: Resource = {
        "resourceType": "DiagnosticReport",
        "id": "us-core-report-cbc",
        "meta": {"profile": [f"{US_CORE}/us-core-diagnosticreport-lab"]},
        "status": "final",
        "category": [concept(V2_0074, "LAB", "Laboratory")],
        "code": concept(LOINC, *CBC),
        "subject": ref("Patient", PATIENT),
        "encounter": LATEST_ENCOUNTER,
        "effectiveDateTime": LATEST_LABS,
        "issued": "2026-09-15T13:05:00-04:00",
        "result": member_refs,
    }
    return [panel, *members, report]


def results_without_a_quantity() -> list[Resource]:
    """A preliminary string result, a coded result, and one with only a dataAbsentReason."""
    return [
        observation(
            "us-core-obs-culture",
            PATIENT,
            "laboratory",
            ("600-7", "Bacteria identified in Blood by Culture"),
            "2026-09-13T16:40:00-04:00",
            status="preliminary",
            valueString="No growth at 48 hours",
        ),
        observation(
            "us-core-obs-nitrite",
            PATIENT,
            "laboratory",
            ("5802-4", "Nitrite [Presence] in Urine by Test strip"),
            LATEST_LABS,
            encounter=LATEST_ENCOUNTER,
            valueCodeableConcept=concept(SNOMED, "260385009", "Negative", text="Negative"),
        ),
        observation(
            "us-core-obs-potassium",
            PATIENT,
            "laboratory",
            ("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
            LATEST_LABS,
            encounter=LATEST_ENCOUNTER,
            dataAbsentReason=concept(DATA_ABSENT_REASON, "error", "Error"),
            note=[{"text": "Specimen haemolysed; please redraw."}],
        ),
    ]


def revised_and_cancelled_results() -> list[Resource]:
    """An amended glucose; a final HbA1c and a newer, cancelled one that must not show."""
    return [
        observation(
            "us-core-obs-glucose",
            PATIENT,
            "laboratory",
            ("2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
            LATEST_LABS,
            encounter=LATEST_ENCOUNTER,
            status="amended",
            valueQuantity=ucum(182.0, "mg/dL"),
            referenceRange=reference_range(70.0, 99.0, "mg/dL"),
            interpretation=flag("H"),
        ),
        observation(
            "us-core-obs-a1c-1",
            PATIENT,
            "laboratory",
            HBA1C,
            "2025-03",
            valueQuantity=ucum(7.1, "%"),
            referenceRange=reference_range(4.0, 5.6, "%"),
            interpretation=flag("H"),
        ),
        # Newer than the final one and with a striking value: a reader must skip it.
        observation(
            "us-core-obs-a1c-2",
            PATIENT,
            "laboratory",
            HBA1C,
            LATEST_LABS,
            encounter=LATEST_ENCOUNTER,
            status="cancelled",
            valueQuantity=ucum(9.9, "%"),
        ),
    ]


def us_core_labs() -> list[Resource]:
    """Every lab of the `us-core` patient."""
    return [*cbc(), *revised_and_cancelled_results(), *results_without_a_quantity()]
