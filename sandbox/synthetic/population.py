"""A large deterministic population for benchmarks: N extra patients `pop-1` ... `pop-N`.

Each patient's record is drawn from its own `random.Random` seeded by (seed, n), so the same
(patients, seed) gives byte-identical JSON, `generate(10)` is the first ten patients of
`generate(1000)`, and resources stream out one patient at a time (5000 patients are about
200,000 resources; nothing holds them all). No clock and no uuid4: every resource carries
`meta.versionId` "1" and `meta.lastUpdated` LAST_UPDATED.

Per patient (FHIR R4, US Core-shaped, codes from `sandbox.synthetic.codes`): a Patient (name,
gender, birthDate, MRN), 2-6 Encounters, 2-5 Conditions (SNOMED CT), 10-25 Observations
(a LOINC blood pressure panel with systolic/diastolic components per encounter, vital signs
and labs with UCUM quantities), 1-4 MedicationRequests (RxNorm), 0-2 AllergyIntolerances
(SNOMED CT), 2-6 Immunizations (CVX) and 0-2 lab DiagnosticReports whose `result`s are that
patient's lab Observations.

How many extra patients a sandbox serves is `population.json` (`write_size`, `configured_size`),
written by `manage.py sandbox_seed --patients N`; `sandbox.fhir_store.build_store` reads it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.synthetic.codes import (
    ACT_CODE,
    ALLERGIES,
    ALLERGY_CLINICAL,
    ALLERGY_VERIFICATION,
    BP_PANEL,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    CONDITIONS,
    CVX,
    DIASTOLIC,
    INTERPRETATION,
    LABS,
    LOINC,
    MEDICATIONS,
    MRN_SYSTEM,
    OBS_CATEGORY,
    PANELS,
    RXNORM,
    SNOMED,
    SYSTOLIC,
    V2_0074,
    V2_0203,
    VACCINES,
    VITALS,
)
from sandbox.synthetic.datatypes import Resource, concept, iso, quantity, ref
from sandbox.synthetic.people import FAMILY, GIVEN_F, GIVEN_M, PRACTITIONERS

LAST_UPDATED = "2026-01-01T00:00:00Z"
ANCHOR = datetime(2026, 1, 1, 9, 0)  # visits fall in the five years before it
POPULATION_FILE = "population.json"
CHECK_UP = ("185349003", "Encounter for check up (procedure)")


def generate(patients: int, seed: int = 17) -> Iterator[Resource]:
    """The resources of patients `pop-1` ... `pop-<patients>`, one patient after another."""
    for n in range(1, patients + 1):
        rng = random.Random(seed * 1_000_003 + n)  # noqa: S311 - reproducible data, not secrets
        yield from _Record(rng, f"pop-{n}", n).resources()


def configured_size(folder: Path, setting: object = None) -> int:
    """How many extra patients to serve: the setting when it is an int > 0 (benchmarks choose
    without files), else `<folder>/population.json` (0 when absent or unreadable)."""
    if isinstance(setting, int) and not isinstance(setting, bool) and setting > 0:
        return setting
    try:
        size = json.loads((folder / POPULATION_FILE).read_text())["patients"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return size if isinstance(size, int) and size > 0 else 0


def write_size(folder: Path, patients: int) -> Path:
    """Record the population size in `<folder>/population.json`; 0 removes the file."""
    path = folder / POPULATION_FILE
    if patients <= 0:
        path.unlink(missing_ok=True)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"patients": patients}) + "\n")
    return path


class _Record:
    """One generated patient's record; ids are `<pid>-<kind>-<i>`."""

    def __init__(self, rng: random.Random, pid: str, n: int) -> None:
        self.rng, self.pid, self.n = rng, pid, n
        self.subject = ref("Patient", pid)

    def resource(self, rtype: str, rid: str, **body: Any) -> Resource:
        meta = {"versionId": "1", "lastUpdated": LAST_UPDATED}
        return {"resourceType": rtype, "id": f"{self.pid}-{rid}", "meta": meta, **body}

    def resources(self) -> Iterator[Resource]:
        rng = self.rng
        yield self.patient()
        visits = sorted(
            ANCHOR - timedelta(days=rng.randrange(1, 5 * 365), minutes=rng.randrange(0, 480))
            for _ in range(rng.randint(2, 6))
        )
        encounters = [self.encounter(i, when) for i, when in enumerate(visits, 1)]
        yield from encounters
        yield from self.conditions(visits[0])
        yield from self.observations(visits, [e["id"] for e in encounters])
        yield from self.medication_requests(visits[-1])
        yield from self.allergies(visits[0])
        yield from self.immunizations()

    def patient(self) -> Resource:
        rng = self.rng
        gender = rng.choice(("female", "male"))
        given = rng.choice(GIVEN_F if gender == "female" else GIVEN_M)
        born = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 75 * 365))
        mrn = {"type": concept(V2_0203, "MR", "Medical record number")}
        return self.resource(
            "Patient",
            "patient",
            id=self.pid,
            identifier=[{**mrn, "system": MRN_SYSTEM, "value": f"POP{self.n:07d}"}],
            active=True,
            name=[{"use": "official", "family": rng.choice(FAMILY), "given": [given]}],
            gender=gender,
            birthDate=born.isoformat(),
        )

    def encounter(self, i: int, when: datetime) -> Resource:
        practitioner = self.rng.choice(PRACTITIONERS)[0]
        return self.resource(
            "Encounter",
            f"enc-{i}",
            status="finished",
            **{"class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}},
            type=[concept(SNOMED, *CHECK_UP)],
            subject=self.subject,
            participant=[{"individual": ref("Practitioner", practitioner)}],
            period={"start": iso(when), "end": iso(when + timedelta(minutes=30))},
        )

    def conditions(self, first_visit: datetime) -> Iterator[Resource]:
        for i, (code, display, status) in enumerate(
            self.rng.sample(CONDITIONS, self.rng.randint(2, 5)), 1
        ):
            onset = first_visit - timedelta(days=self.rng.randrange(0, 3650))
            yield self.resource(
                "Condition",
                f"cond-{i}",
                clinicalStatus=concept(CONDITION_CLINICAL, status, status.title()),
                verificationStatus=concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                category=[concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
                code=concept(SNOMED, code, display),
                subject=self.subject,
                onsetDateTime=iso(onset),
                recordedDate=iso(first_visit),
            )

    def observation(
        self,
        i: int,
        category: str,
        code: tuple[str, str],
        when: datetime,
        encounter: str,
        **body: Any,
    ) -> Resource:
        label = "Vital Signs" if category == "vital-signs" else "Laboratory"
        return self.resource(
            "Observation",
            f"obs-{i}",
            status="final",
            category=[concept(OBS_CATEGORY, category, label)],
            code=concept(LOINC, *code),
            subject=self.subject,
            encounter=ref("Encounter", encounter),
            effectiveDateTime=iso(when),
            issued=iso(when + timedelta(hours=2)),
            **body,
        )

    def observations(self, visits: list[datetime], encounters: list[str]) -> Iterator[Resource]:
        """A BP panel per visit, 0-2 lab panels (each with its report), then vital signs."""
        rng = self.rng
        made: list[Resource] = []
        for when, encounter in zip(visits, encounters, strict=True):
            made.append(self.blood_pressure(len(made) + 1, when, encounter))
        reports: list[Resource] = []
        for r, panel in enumerate(rng.sample(sorted(PANELS), rng.randint(0, 2)), 1):
            k = rng.randrange(len(visits))
            labs = [
                self.lab(len(made) + j, row, visits[k], encounters[k])
                for j, row in enumerate((row for row in LABS if row[8] == panel), 1)
            ]
            made.extend(labs)
            reports.append(self.report(r, panel, visits[k], [lab["id"] for lab in labs]))
        for _ in range(max(0, rng.randint(10, 25) - len(made))):
            k = rng.randrange(len(visits))
            made.append(self.vital(len(made) + 1, rng.choice(VITALS), visits[k], encounters[k]))
        yield from made
        yield from reports

    def blood_pressure(self, i: int, when: datetime, encounter: str) -> Resource:
        systolic, diastolic = self.rng.gauss(128, 14), self.rng.gauss(80, 9)
        return self.observation(
            i,
            "vital-signs",
            BP_PANEL,
            when,
            encounter,
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

    def vital(self, i: int, row: tuple[Any, ...], when: datetime, encounter: str) -> Resource:
        loinc, display, unit, mean, spread, decimals = row
        value = self.rng.gauss(mean, spread)
        if loinc == "59408-5":
            value = min(value, 100)
        return self.observation(
            i,
            "vital-signs",
            (loinc, display),
            when,
            encounter,
            valueQuantity=quantity(value, unit, decimals),
        )

    def lab(self, i: int, row: tuple[Any, ...], when: datetime, encounter: str) -> Resource:
        loinc, display, unit, low, high, mean, spread, decimals, _ = row
        value = round(self.rng.gauss(mean, spread), decimals)
        flag, label = (
            ("H", "High") if value > high else ("L", "Low") if value < low else ("N", "Normal")
        )
        return self.observation(
            i,
            "laboratory",
            (loinc, display),
            when,
            encounter,
            valueQuantity=quantity(value, unit, decimals),
            referenceRange=[
                {"low": quantity(low, unit, decimals), "high": quantity(high, unit, decimals)}
            ],
            interpretation=[concept(INTERPRETATION, flag, label)],
        )

    def report(self, r: int, panel: str, when: datetime, results: list[str]) -> Resource:
        return self.resource(
            "DiagnosticReport",
            f"report-{r}",
            status="final",
            category=[concept(V2_0074, "LAB", "Laboratory")],
            code=concept(LOINC, *PANELS[panel]),
            subject=self.subject,
            effectiveDateTime=iso(when),
            issued=iso(when + timedelta(hours=3)),
            result=[ref("Observation", rid) for rid in results],
        )

    def medication_requests(self, last_visit: datetime) -> Iterator[Resource]:
        for i, (code, display, dosage) in enumerate(
            self.rng.sample(MEDICATIONS, self.rng.randint(1, 4)), 1
        ):
            yield self.resource(
                "MedicationRequest",
                f"medrx-{i}",
                status="active",
                intent="order",
                medicationCodeableConcept=concept(RXNORM, code, display),
                subject=self.subject,
                authoredOn=iso(last_visit - timedelta(days=self.rng.randrange(0, 720))),
                requester=ref("Practitioner", self.rng.choice(PRACTITIONERS)[0]),
                dosageInstruction=[{"text": dosage}],
            )

    def allergies(self, first_visit: datetime) -> Iterator[Resource]:
        for i, (code, display, category, criticality) in enumerate(
            self.rng.sample(ALLERGIES, self.rng.randint(0, 2)), 1
        ):
            yield self.resource(
                "AllergyIntolerance",
                f"allergy-{i}",
                clinicalStatus=concept(ALLERGY_CLINICAL, "active", "Active"),
                verificationStatus=concept(ALLERGY_VERIFICATION, "confirmed", "Confirmed"),
                type="allergy",
                category=[category],
                criticality=criticality,
                code=concept(SNOMED, code, display),
                patient=self.subject,
                recordedDate=iso(first_visit),
            )

    def immunizations(self) -> Iterator[Resource]:
        for i in range(1, self.rng.randint(2, 6) + 1):
            code, display = self.rng.choice(VACCINES)
            when = ANCHOR - timedelta(days=self.rng.randrange(1, 10 * 365))
            yield self.resource(
                "Immunization",
                f"imm-{i}",
                status="completed",
                vaccineCode=concept(CVX, code, display),
                patient=self.subject,
                occurrenceDateTime=iso(when),
                primarySource=True,
            )
