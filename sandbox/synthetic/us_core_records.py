"""The `us-core` patient's orders and history, and the `partial-dates` patient's records (the
facts are tabled in `us_core_shapes`): as-needed and structured dosages with no text, a
contained and a referenced Medication, a stopped order, and dates to the year or month.
"""

from __future__ import annotations

from sandbox.synthetic.codes import (
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    CVX,
    RXNORM,
    SNOMED,
)
from sandbox.synthetic.datatypes import Resource, concept, ref
from sandbox.synthetic.us_core_builders import (
    BP_PANEL_OPTIONAL,
    DOSE_FORM,
    blood_pressure,
    condition,
    encounter,
    medication_request,
    observation,
    ucum,
)

US_CORE_MEDICATION_ID = "us-core-med-1"
METFORMIN = ("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet")
INFLUENZA = ("140", "Influenza, seasonal, injectable, preservative free")
# One tablet by mouth twice a day, and no text: a reader must build the words itself.
STRUCTURED_DOSAGE: Resource = {
    "sequence": 1,
    "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
    "route": concept(SNOMED, "26643006", "Oral route"),
    "doseAndRate": [
        {"doseQuantity": {"value": 1, "unit": "tablet", "system": DOSE_FORM, "code": "TAB"}}
    ],
}


def dosage_shapes() -> list[Resource]:
    """Orders whose dosage has no text: as needed (boolean), as needed for pain, structured."""
    pid = "us-core"
    return [
        medication_request(
            "us-core-medreq-prn",
            pid,
            "2026-09-15T10:30:00-04:00",
            medicationCodeableConcept=concept(RXNORM, "313782", "acetaminophen 325 MG Oral Tablet"),
            dosageInstruction=[{"asNeededBoolean": True}],
        ),
        medication_request(
            "us-core-medreq-prn-pain",
            pid,
            "2026-09-15T10:31:00-04:00",
            medicationCodeableConcept=concept(RXNORM, "310965", "ibuprofen 200 MG Oral Tablet"),
            dosageInstruction=[
                {"sequence": 1, "asNeededCodeableConcept": concept(SNOMED, "22253000", "Pain")}
            ],
        ),
        medication_request(
            "us-core-medreq-structured",
            pid,
            "2025-03-18T11:00:00-04:00",
            medicationCodeableConcept=concept(RXNORM, *METFORMIN),
            dosageInstruction=[STRUCTURED_DOSAGE],
        ),
    ]


def medication_shapes() -> list[Resource]:
    """The patient's own Medication; orders naming a contained and a referenced Medication;
    a stopped order.
    """
    pid = "us-core"
    once_daily = [{"text": "Take 1 tablet by mouth once daily"}]
    return [
        {
            "resourceType": "Medication",
            "id": US_CORE_MEDICATION_ID,
            "code": concept(RXNORM, "197361", "amlodipine 5 MG Oral Tablet"),
            "status": "active",
            "form": concept(SNOMED, "385055001", "Tablet"),
        },
        medication_request(
            "us-core-medreq-contained",
            pid,
            "2024-05-20T10:40:00-04:00",
            contained=[
                {
                    "resourceType": "Medication",
                    "id": "med1",
                    "code": concept(RXNORM, "617310", "atorvastatin 20 MG Oral Tablet"),
                }
            ],
            medicationReference={"reference": "#med1"},
            dosageInstruction=[{"text": "Take 1 tablet at bedtime"}],
        ),
        medication_request(
            "us-core-medreq-referenced",
            pid,
            "2024-05-20T10:41:00-04:00",
            medicationReference=ref("Medication", US_CORE_MEDICATION_ID),
            dosageInstruction=once_daily,
        ),
        medication_request(
            "us-core-medreq-stopped",
            pid,
            "2021-03-04T09:15:00-05:00",
            status="stopped",
            medicationCodeableConcept=concept(RXNORM, "314076", "lisinopril 10 MG Oral Tablet"),
            dosageInstruction=once_daily,
        ),
    ]


def us_core_medications() -> list[Resource]:
    """The `us-core` patient's Medication and orders."""
    return [*medication_shapes(), *dosage_shapes()]


def us_core_history() -> list[Resource]:
    """Encounters, problems, an allergy and an immunization dated to the year or month."""
    pid = "us-core"
    return [
        encounter("us-core-enc-1", pid, {"start": "2022-02-03"}),
        encounter(
            "us-core-enc-2",
            pid,
            {"start": "2026-09-15T09:00:00-04:00", "end": "2026-09-15T10:45:00-04:00"},
        ),
        condition(
            "us-core-cond-1",
            pid,
            ("38341003", "Hypertensive disorder, systemic arterial"),
            "active",
            "2019",
            "2019-06",
        ),
        condition(
            "us-core-cond-2",
            pid,
            ("10509002", "Acute bronchitis"),
            "resolved",
            "2021-03",
            "2021-03",
            abatementDateTime="2021-04",
        ),
        {
            "resourceType": "AllergyIntolerance",
            "id": "us-core-allergy-1",
            "clinicalStatus": concept(ALLERGY_CLINICAL, "active", "Active"),
            "verificationStatus": concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "type": "allergy",
            "category": ["medication"],
            "criticality": "high",
            "code": concept(SNOMED, "91936005", "Allergy to penicillin"),
            "patient": ref("Patient", pid),
            "recordedDate": "2015",
        },
        {
            "resourceType": "Immunization",
            "id": "us-core-imm-1",
            "status": "completed",
            "vaccineCode": concept(CVX, *INFLUENZA),
            "patient": ref("Patient", pid),
            "occurrenceDateTime": "2012-10",
            "primarySource": True,
        },
    ]


def partial_dates_records() -> list[Resource]:
    """The `partial-dates` patient's records, each dated to the year or the month."""
    pid = "partial-dates"
    return [
        encounter("partial-dates-enc-1", pid, {"start": "2020-04"}),
        condition(
            "partial-dates-cond-1",
            pid,
            ("44054006", "Diabetes mellitus type 2"),
            "active",
            "1998",
            "1999",
        ),
        observation(
            "partial-dates-obs-1",
            pid,
            "vital-signs",
            ("29463-7", "Body weight"),
            "2019-11",
            valueQuantity=ucum(64.2, "kg"),
        ),
        blood_pressure(
            "partial-dates-obs-2",
            pid,
            "2020-04",
            104.0,
            62.0,
            code=BP_PANEL_OPTIONAL,
            encounter=ref("Encounter", "partial-dates-enc-1"),
        ),
        {
            "resourceType": "Immunization",
            "id": "partial-dates-imm-1",
            "status": "completed",
            "vaccineCode": concept(CVX, *INFLUENZA),
            "patient": ref("Patient", pid),
            "occurrenceDateTime": "2019",
            "primarySource": False,
        },
        {
            "resourceType": "AllergyIntolerance",
            "id": "partial-dates-allergy-1",
            "clinicalStatus": concept(ALLERGY_CLINICAL, "active", "Active"),
            "verificationStatus": concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
            "category": ["food"],
            "code": concept(SNOMED, "91935009", "Allergy to peanuts"),
            "patient": ref("Patient", pid),
            "recordedDate": "2001-06",
        },
        medication_request(
            "partial-dates-medreq-1",
            pid,
            "2019-11",
            medicationCodeableConcept=concept(RXNORM, *METFORMIN),
            dosageInstruction=[{"text": "1 tablet daily"}],
        ),
    ]
