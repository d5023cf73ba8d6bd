"""One patient's chart: encounters, vital signs, labs, problems, medications, allergies and
immunizations, as US Core-shaped FHIR R4 resources.

Ids are `<patient>-<kind>-<n>`, stable across runs; every random choice comes from the
caller's seeded `random.Random`, and every date is relative to ANCHOR, never the clock.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sandbox.synthetic.codes import (
    ACT_CODE,
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    BMI,
    BP_PANEL,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    CVX,
    DIASTOLIC,
    INTERPRETATION,
    LABS,
    LOINC,
    OBS_CATEGORY,
    PANELS,
    RXNORM,
    SNOMED,
    SYSTOLIC,
    US_CORE,
    V2_0074,
    VITALS,
)
from sandbox.synthetic.datatypes import Resource, concept, iso, quantity, ref

ANCHOR = datetime(2026, 10, 1, 9, 0, 0)  # "now" for the synthetic record


class Chart:
    """Builds one patient's record; ids are `<patient>-<kind>-<n>`, stable across runs."""

    def __init__(self, patient_id: str, rng: random.Random) -> None:
        self.pid = patient_id
        self.rng = rng
        self.counts: dict[str, int] = {}
        self.resources: list[Resource] = []

    def new_id(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{self.pid}-{kind}-{self.counts[kind]}"

    def add(self, resource: Resource) -> Resource:
        self.resources.append(resource)
        return resource

    def encounter(self, when: datetime, practitioner: str, kind: str = "AMB") -> str:
        eid = self.new_id("enc")
        display = {"AMB": "ambulatory", "EMER": "emergency", "IMP": "inpatient encounter"}[kind]
        self.add(
            {
                "resourceType": "Encounter",
                "id": eid,
                "meta": {"profile": [f"{US_CORE}/us-core-encounter"]},
                "status": "finished",
                "class": {"system": ACT_CODE, "code": kind, "display": display},
                "type": [concept(SNOMED, "185349003", "Encounter for check up")],
                "subject": ref("Patient", self.pid),
                "participant": [{"individual": ref("Practitioner", practitioner)}],
                "period": {"start": iso(when), "end": iso(when + timedelta(minutes=40))},
            }
        )
        return eid

    def observation(
        self,
        category: str,
        loinc: tuple[str, str],
        when: datetime,
        encounter: str | None = None,
        **body: Any,
    ) -> Resource:
        resource: Resource = {
            "resourceType": "Observation",
            "id": self.new_id("obs"),
            "status": body.pop("status", "final"),
            "category": [concept(OBS_CATEGORY, category, category.replace("-", " ").title())],
            "code": concept(LOINC, loinc[0], loinc[1]),
            "subject": ref("Patient", self.pid),
            "effectiveDateTime": iso(when),
            "issued": iso(when + timedelta(hours=2)),
        }
        if encounter:
            resource["encounter"] = ref("Encounter", encounter)
        resource.update(body)
        return self.add(resource)

    def vitals(self, when: datetime, encounter: str | None, baseline: Mapping[str, float]) -> None:
        rng = self.rng
        systolic = rng.gauss(baseline["sys"], 9)
        diastolic = rng.gauss(baseline["dia"], 6)
        self.observation(
            "vital-signs",
            BP_PANEL,
            when,
            encounter,
            meta={"profile": [f"{US_CORE}/us-core-blood-pressure"]},
            component=[
                {
                    "code": concept(LOINC, *SYSTOLIC),
                    "valueQuantity": quantity(systolic, "mm[Hg]", 0),
                },
                {
                    "code": concept(LOINC, *DIASTOLIC),
                    "valueQuantity": quantity(diastolic, "mm[Hg]", 0),
                },
            ],
        )
        weight = height = None
        for loinc, display, unit, mean, spread, decimals in VITALS:
            centre = baseline.get(loinc, mean)
            value = rng.gauss(centre, spread / 4 if loinc in ("29463-7", "8302-2") else spread)
            if loinc == "59408-5":
                value = min(value, 100)
            if loinc == "29463-7":
                weight = value
            if loinc == "8302-2":
                height = value
            self.observation(
                "vital-signs",
                (loinc, display),
                when,
                encounter,
                valueQuantity=quantity(value, unit, decimals),
            )
        if weight and height:
            self.observation(
                "vital-signs",
                BMI[:2],
                when,
                encounter,
                valueQuantity=quantity(weight / (height / 100) ** 2, BMI[2], 1),
            )

    def labs(self, when: datetime, encounter: str | None, interpret: bool = True) -> None:
        rng = self.rng
        by_panel: dict[str, list[str]] = {}
        for loinc, display, unit, low, high, mean, spread, decimals, panel in LABS:
            value = round(rng.gauss(mean, spread), decimals)
            body: Resource = {
                "valueQuantity": quantity(value, unit, decimals),
                "referenceRange": [
                    {
                        "low": quantity(low, unit, decimals),
                        "high": quantity(high, unit, decimals),
                    }
                ],
            }
            flag = "H" if value > high else "L" if value < low else "N"
            # Some results carry no interpretation: a reader must use the reference range.
            if interpret and rng.random() < 0.8:
                label = {"H": "High", "L": "Low", "N": "Normal"}[flag]
                body["interpretation"] = [concept(INTERPRETATION, flag, label)]
            obs = self.observation("laboratory", (loinc, display), when, encounter, **body)
            if panel:
                by_panel.setdefault(panel, []).append(obs["id"])
        for panel, result_ids in by_panel.items():
            code, display = PANELS[panel]
            self.add(
                {
                    "resourceType": "DiagnosticReport",
                    "id": self.new_id("report"),
                    "status": "final",
                    "category": [concept(V2_0074, "LAB", "Laboratory")],
                    "code": concept(LOINC, code, display),
                    "subject": ref("Patient", self.pid),
                    "effectiveDateTime": iso(when),
                    "issued": iso(when + timedelta(hours=3)),
                    "result": [ref("Observation", rid) for rid in result_ids],
                }
            )

    def condition(
        self,
        snomed: tuple[str, str, str],
        onset: datetime,
        clinical: str | None = None,
        verification: str = "confirmed",
        **extra: Any,
    ) -> Resource:
        code, display, default_status = snomed
        status = clinical or default_status
        resource: Resource = {
            "resourceType": "Condition",
            "id": self.new_id("cond"),
            "clinicalStatus": concept(CONDITION_CLINICAL, status, status.title()),
            "verificationStatus": concept(CONDITION_VERIFICATION, verification, verification),
            "category": [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": concept(SNOMED, code, display),
            "subject": ref("Patient", self.pid),
            "onsetDateTime": iso(onset),
            "recordedDate": iso(onset + timedelta(days=1)),
        }
        if status == "resolved":
            resource["abatementDateTime"] = iso(onset + timedelta(days=21))
        resource.update(extra)
        return self.add(resource)

    def medication_request(
        self, rx: tuple[str, str, str], authored: datetime, status: str = "active", **extra: Any
    ) -> Resource:
        code, display, dosage = rx
        resource: Resource = {
            "resourceType": "MedicationRequest",
            "id": self.new_id("medreq"),
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": concept(RXNORM, code, display),
            "subject": ref("Patient", self.pid),
            "authoredOn": iso(authored),
            "requester": ref("Practitioner", "prac-1"),
            "dosageInstruction": [{"text": dosage}],
        }
        resource.update(extra)
        return self.add(resource)

    def medication_statement(
        self, rx: tuple[str, str, str], when: datetime, status: str = "active"
    ) -> Resource:
        code, display, dosage = rx
        return self.add(
            {
                "resourceType": "MedicationStatement",
                "id": self.new_id("medstmt"),
                "status": status,
                "medicationCodeableConcept": concept(RXNORM, code, display),
                "subject": ref("Patient", self.pid),
                "effectiveDateTime": iso(when),
                "dateAsserted": iso(when),
                "dosage": [{"text": dosage}],
            }
        )

    def allergy(
        self,
        entry: tuple[str, str, str, str],
        recorded: datetime,
        clinical: str = "active",
        verification: str = "confirmed",
    ) -> Resource:
        code, display, category, criticality = entry
        return self.add(
            {
                "resourceType": "AllergyIntolerance",
                "id": self.new_id("allergy"),
                "clinicalStatus": concept(ALLERGY_CLINICAL, clinical, clinical.title()),
                "verificationStatus": concept(ALLERGY_VERIFICATION, verification, verification),
                "category": [category],
                "criticality": criticality,
                "code": concept(SNOMED, code, display),
                "patient": ref("Patient", self.pid),
                "recordedDate": iso(recorded),
            }
        )

    def immunization(
        self, vaccine: tuple[str, str], when: datetime, status: str = "completed"
    ) -> Resource:
        return self.add(
            {
                "resourceType": "Immunization",
                "id": self.new_id("imm"),
                "status": status,
                "vaccineCode": concept(CVX, *vaccine),
                "patient": ref("Patient", self.pid),
                "occurrenceDateTime": iso(when),
                "primarySource": True,
            }
        )
