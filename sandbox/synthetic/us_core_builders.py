"""Builders for the US Core/Synthea-shaped records (`us_core_shapes`): the resources as
Synthea writes them, with dates passed as FHIR strings (so a date can be `2019` or
`2021-03`) and quantities unrounded, `unit` equal to the UCUM `code`.
"""

from __future__ import annotations

from typing import Any

from sandbox.synthetic.codes import (
    ACT_CODE,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    DIASTOLIC,
    INTERPRETATION,
    LOINC,
    OBS_CATEGORY,
    SNOMED,
    SYSTOLIC,
    UCUM,
    US_CORE,
)
from sandbox.synthetic.datatypes import Resource, concept, ref

DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
DOSE_FORM = "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm"
BP_SYNTHEA = ("55284-4", "Blood pressure systolic and diastolic")
BP_PANEL_OPTIONAL = ("85354-9", "Blood pressure panel with all children optional")


def ucum(value: float, code: str) -> Resource:
    """A UCUM Quantity as Synthea writes it: the value unrounded, `unit` equal to `code`."""
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def flag(code: str) -> list[Resource]:
    """An `interpretation` holding one v3 ObservationInterpretation code (H, L or N)."""
    return [concept(INTERPRETATION, code, {"H": "High", "L": "Low", "N": "Normal"}[code])]


def reference_range(low: float, high: float, unit: str) -> list[Resource]:
    """A `referenceRange` with one low/high pair in `unit`."""
    return [{"low": ucum(low, unit), "high": ucum(high, unit)}]


def observation(
    oid: str,
    patient: str,
    category: str,
    code: tuple[str, str],
    effective: str,
    **body: Any,
) -> Resource:
    """An Observation; `issued` only when `effective` is a full instant (it must be one)."""
    label = {"vital-signs": "Vital signs", "laboratory": "Laboratory"}[category]
    resource: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [concept(OBS_CATEGORY, category, label)],
        "code": concept(LOINC, *code, text=code[1]),
        "subject": ref("Patient", patient),
        "effectiveDateTime": effective,
    }
    if "T" in effective:
        resource["issued"] = effective
    resource.update(body)
    return resource


def blood_pressure(
    oid: str,
    patient: str,
    effective: str,
    systolic: float,
    diastolic: float,
    code: tuple[str, str] = BP_SYNTHEA,
    **body: Any,
) -> Resource:
    """A blood pressure Observation: no top-level value, systolic and diastolic components."""
    return observation(
        oid,
        patient,
        "vital-signs",
        code,
        effective,
        meta={"profile": [f"{US_CORE}/us-core-blood-pressure"]},
        component=[
            {"code": concept(LOINC, *SYSTOLIC), "valueQuantity": ucum(systolic, "mm[Hg]")},
            {"code": concept(LOINC, *DIASTOLIC), "valueQuantity": ucum(diastolic, "mm[Hg]")},
        ],
        **body,
    )


def encounter(eid: str, patient: str, period: Resource) -> Resource:
    """An ambulatory Encounter whose `class` has no display (as Synthea writes it)."""
    return {
        "resourceType": "Encounter",
        "id": eid,
        "meta": {"profile": [f"{US_CORE}/us-core-encounter"]},
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "AMB"},
        "type": [concept(SNOMED, "185349003", "Encounter for check up", text="Check up")],
        "subject": ref("Patient", patient),
        "period": period,
    }


def condition(
    cid: str,
    patient: str,
    code: tuple[str, str],
    status: str,
    onset: str,
    recorded: str,
    **extra: Any,
) -> Resource:
    """A confirmed problem-list Condition with the clinical status `status`."""
    resource: Resource = {
        "resourceType": "Condition",
        "id": cid,
        "meta": {"profile": [f"{US_CORE}/us-core-condition"]},
        "clinicalStatus": concept(CONDITION_CLINICAL, status, status.title()),
        "verificationStatus": concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
        "category": [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": concept(SNOMED, *code, text=code[1]),
        "subject": ref("Patient", patient),
        "onsetDateTime": onset,
        "recordedDate": recorded,
    }
    resource.update(extra)
    return resource


def medication_request(mid: str, patient: str, authored: str, **body: Any) -> Resource:
    """An active order (`intent: order`); `body` carries the medication and the dosage."""
    resource: Resource = {
        "resourceType": "MedicationRequest",
        "id": mid,
        "meta": {"profile": [f"{US_CORE}/us-core-medicationrequest"]},
        "status": "active",
        "intent": "order",
        "subject": ref("Patient", patient),
        "authoredOn": authored,
        "requester": ref("Practitioner", "prac-1"),
    }
    resource.update(body)
    return resource
