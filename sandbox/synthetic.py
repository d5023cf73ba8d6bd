"""Deterministic synthetic patients, US Core-shaped, for the sandbox EHR.

No network and no clock: a fixed seed and a fixed anchor date, so every run (laptop, CI,
benchmark) sees the same patients, the same latest vital signs and the same abnormal labs.
Codes come from the real systems a summary must read: LOINC for vital signs and labs (with
UCUM units, reference ranges and `interpretation`), SNOMED CT for problems and allergies,
RxNorm for medications, CVX for immunizations.

Besides 25 ordinary patients there are the edge cases real deployments meet (ids stable,
listed in EDGE_CASE_PATIENTS): no data at all, more than 500 observations, entered-in-error and
inactive/resolved records, unknown code systems and codings without display, several names
and identifiers, a deceased patient, non-ASCII names, and text fields carrying HTML and script.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any

Resource = dict[str, Any]

SEED = 20261121
ANCHOR = datetime(2026, 10, 1, 9, 0, 0)  # "now" for the synthetic record
REGULAR_PATIENTS = 25

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_SYSTEM = "http://sandbox.example.org/fhir/sid/mrn"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"

EDGE_CASE_PATIENTS = {
    "empty": "no clinical data at all",
    "paging": "more than 500 observations (forces paging)",
    "statuses": "entered-in-error, inactive and resolved records beside active ones",
    "odd-codes": "codes from an unknown system and codings with no display",
    "many-names": "several names and identifiers",
    "deceased": "a deceased patient",
    "unicode": "non-ASCII names",
    "xss": "text fields holding HTML and script payloads",
}
XSS_PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(document.domain)>')

# (SNOMED code, display, active-or-resolved)
CONDITIONS = [
    ("38341003", "Hypertensive disorder, systemic arterial", "active"),
    ("44054006", "Diabetes mellitus type 2", "active"),
    ("195967001", "Asthma", "active"),
    ("55822004", "Hyperlipidemia", "active"),
    ("433144002", "Chronic kidney disease stage 3", "active"),
    ("239873007", "Osteoarthritis of knee", "active"),
    ("235595009", "Gastroesophageal reflux disease", "active"),
    ("35489007", "Depressive disorder", "active"),
    ("10509002", "Acute bronchitis", "resolved"),
    ("44465007", "Sprain of ankle", "resolved"),
]
# (RxNorm code, display, dosage text)
MEDICATIONS = [
    ("314076", "lisinopril 10 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    ("860975", "metformin hydrochloride 500 MG Extended Release Oral Tablet", "1 tablet daily"),
    ("617310", "atorvastatin 20 MG Oral Tablet", "Take 1 tablet at bedtime"),
    ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "2 puffs every 4 hours as needed"),
    ("197361", "amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    ("313782", "acetaminophen 325 MG Oral Tablet", "1-2 tablets every 6 hours as needed"),
]
# (SNOMED code, display, category, criticality)
ALLERGIES = [
    ("91936005", "Allergy to penicillin", "medication", "high"),
    ("91935009", "Allergy to peanuts", "food", "high"),
    ("300916003", "Latex allergy", "environment", "low"),
    ("300913006", "Shellfish allergy", "food", "low"),
]
# (CVX code, display)
VACCINES = [
    ("140", "Influenza, seasonal, injectable, preservative free"),
    ("208", "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose"),
    ("115", "Tdap"),
    ("133", "Pneumococcal conjugate PCV 13"),
    ("187", "Zoster vaccine recombinant"),
]
# (LOINC, display, UCUM unit, mean, spread, decimals)
VITALS = [
    ("8867-4", "Heart rate", "/min", 74, 9, 0),
    ("9279-1", "Respiratory rate", "/min", 15, 2, 0),
    ("8310-5", "Body temperature", "Cel", 36.9, 0.3, 1),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 97, 1.5, 0),
    ("29463-7", "Body weight", "kg", 78, 14, 1),
    ("8302-2", "Body height", "cm", 171, 9, 1),
]
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
BMI = ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2")
# (LOINC, display, UCUM unit, low, high, mean, spread, decimals, panel)
LABS = [
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 98, 22, 0, "BMP"),
    (
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "mg/dL",
        0.6,
        1.3,
        1.0,
        0.3,
        2,
        "BMP",
    ),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 140, 3, 0, "BMP"),
    (
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        "mmol/L",
        3.5,
        5.1,
        4.3,
        0.5,
        1,
        "BMP",
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 12.0, 17.5, 14, 1.8, 1, "CBC"),
    (
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
        4.5,
        11,
        7.5,
        2.2,
        1,
        "CBC",
    ),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.0, 5.6, 6.0, 1.0, 1, None),
]
PANELS = {
    "BMP": ("51990-0", "Basic metabolic panel - Blood"),
    "CBC": ("58410-2", "CBC panel - Blood by Automated count"),
}
FAMILY = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Clark",
]
GIVEN_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Susan", "Jessica", "Sarah"]
GIVEN_M = ["James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph"]
PRACTITIONERS = [
    ("prac-1", "Alvarez", "Maria", "MD"),
    ("prac-2", "Okafor", "Chinedu", "MD"),
    ("prac-3", "Lindqvist", "Astrid", "NP"),
]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _cc(system: str | None, code: str, display: str | None, text: str | None = None) -> Resource:
    coding: Resource = {"code": code}
    if system is not None:
        coding["system"] = system
    if display is not None:
        coding["display"] = display
    concept: Resource = {"coding": [coding]}
    if text is not None:
        concept["text"] = text
    return concept


def _ref(resource_type: str, resource_id: str) -> Resource:
    return {"reference": f"{resource_type}/{resource_id}"}


def _quantity(value: float, unit: str, decimals: int) -> Resource:
    number: float | int = round(value, decimals) if decimals else round(value)
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


class _Chart:
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
                "type": [_cc(SNOMED, "185349003", "Encounter for check up")],
                "subject": _ref("Patient", self.pid),
                "participant": [{"individual": _ref("Practitioner", practitioner)}],
                "period": {"start": _iso(when), "end": _iso(when + timedelta(minutes=40))},
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
            "category": [_cc(OBS_CATEGORY, category, category.replace("-", " ").title())],
            "code": _cc(LOINC, loinc[0], loinc[1]),
            "subject": _ref("Patient", self.pid),
            "effectiveDateTime": _iso(when),
            "issued": _iso(when + timedelta(hours=2)),
        }
        if encounter:
            resource["encounter"] = _ref("Encounter", encounter)
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
                {"code": _cc(LOINC, *SYSTOLIC), "valueQuantity": _quantity(systolic, "mm[Hg]", 0)},
                {
                    "code": _cc(LOINC, *DIASTOLIC),
                    "valueQuantity": _quantity(diastolic, "mm[Hg]", 0),
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
                valueQuantity=_quantity(value, unit, decimals),
            )
        if weight and height:
            self.observation(
                "vital-signs",
                BMI[:2],
                when,
                encounter,
                valueQuantity=_quantity(weight / (height / 100) ** 2, BMI[2], 1),
            )

    def labs(self, when: datetime, encounter: str | None, interpret: bool = True) -> None:
        rng = self.rng
        by_panel: dict[str, list[str]] = {}
        for loinc, display, unit, low, high, mean, spread, decimals, panel in LABS:
            value = round(rng.gauss(mean, spread), decimals)
            body: Resource = {
                "valueQuantity": _quantity(value, unit, decimals),
                "referenceRange": [
                    {
                        "low": _quantity(low, unit, decimals),
                        "high": _quantity(high, unit, decimals),
                    }
                ],
            }
            flag = "H" if value > high else "L" if value < low else "N"
            # Some results carry no interpretation: a reader must use the reference range.
            if interpret and rng.random() < 0.8:
                label = {"H": "High", "L": "Low", "N": "Normal"}[flag]
                body["interpretation"] = [_cc(INTERPRETATION, flag, label)]
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
                    "category": [_cc(V2_0074, "LAB", "Laboratory")],
                    "code": _cc(LOINC, code, display),
                    "subject": _ref("Patient", self.pid),
                    "effectiveDateTime": _iso(when),
                    "issued": _iso(when + timedelta(hours=3)),
                    "result": [_ref("Observation", rid) for rid in result_ids],
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
            "clinicalStatus": _cc(CONDITION_CLINICAL, status, status.title()),
            "verificationStatus": _cc(CONDITION_VERIFICATION, verification, verification),
            "category": [_cc(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
            "code": _cc(SNOMED, code, display),
            "subject": _ref("Patient", self.pid),
            "onsetDateTime": _iso(onset),
            "recordedDate": _iso(onset + timedelta(days=1)),
        }
        if status == "resolved":
            resource["abatementDateTime"] = _iso(onset + timedelta(days=21))
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
            "medicationCodeableConcept": _cc(RXNORM, code, display),
            "subject": _ref("Patient", self.pid),
            "authoredOn": _iso(authored),
            "requester": _ref("Practitioner", "prac-1"),
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
                "medicationCodeableConcept": _cc(RXNORM, code, display),
                "subject": _ref("Patient", self.pid),
                "effectiveDateTime": _iso(when),
                "dateAsserted": _iso(when),
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
                "clinicalStatus": _cc(ALLERGY_CLINICAL, clinical, clinical.title()),
                "verificationStatus": _cc(ALLERGY_VERIFICATION, verification, verification),
                "category": [category],
                "criticality": criticality,
                "code": _cc(SNOMED, code, display),
                "patient": _ref("Patient", self.pid),
                "recordedDate": _iso(recorded),
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
                "vaccineCode": _cc(CVX, *vaccine),
                "patient": _ref("Patient", self.pid),
                "occurrenceDateTime": _iso(when),
                "primarySource": True,
            }
        )


def _patient(
    pid: str,
    number: int,
    family: str,
    given: list[str],
    gender: str,
    birth: date,
    **extra: Any,
) -> Resource:
    resource: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [f"{US_CORE}/us-core-patient"]},
        "identifier": [
            {
                "use": "usual",
                "type": _cc(V2_0203, "MR", "Medical record number"),
                "system": MRN_SYSTEM,
                "value": f"MRN{100000 + number}",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": family, "given": given}],
        "telecom": [{"system": "phone", "value": f"555-01{number:02d}", "use": "home"}],
        "gender": gender,
        "birthDate": birth.isoformat(),
        "address": [
            {
                "line": [f"{100 + number} Main Street"],
                "city": "Springfield",
                "state": "IL",
                "postalCode": "62701",
                "country": "US",
            }
        ],
    }
    resource.update(extra)
    return resource


def _ordinary(chart: _Chart, number: int) -> None:
    rng = chart.rng
    visits = rng.randint(4, 8)
    start = ANCHOR - timedelta(days=rng.randint(5 * 365, 8 * 365))
    step = (ANCHOR - start) / visits
    baseline = {
        "sys": rng.uniform(112, 150),
        "dia": rng.uniform(70, 92),
        "29463-7": rng.uniform(55, 105),
        "8302-2": rng.uniform(155, 190),
    }
    conditions = rng.sample(CONDITIONS, rng.randint(1, 4))
    for index in range(visits):
        when = start + step * index + timedelta(hours=rng.randint(0, 8))
        enc = chart.encounter(when, PRACTITIONERS[number % len(PRACTITIONERS)][0])
        chart.vitals(when, enc, baseline)
        if index % 2 == 1 or index == visits - 1:
            chart.labs(when + timedelta(minutes=30), enc)
    for entry in conditions:
        chart.condition(entry, start + timedelta(days=rng.randint(0, 700)))
    for rx in rng.sample(MEDICATIONS, rng.randint(0, 3)):
        chart.medication_request(rx, ANCHOR - timedelta(days=rng.randint(10, 400)))
    if number % 3 == 0:  # patient-reported medication, sometimes duplicating an order
        chart.medication_statement(
            rng.choice(MEDICATIONS), ANCHOR - timedelta(days=rng.randint(5, 200))
        )
    for allergy in rng.sample(ALLERGIES, rng.randint(0, 2)):
        chart.allergy(allergy, start + timedelta(days=rng.randint(0, 300)))
    for vaccine in rng.sample(VACCINES, rng.randint(1, 4)):
        chart.immunization(vaccine, ANCHOR - timedelta(days=rng.randint(30, 1500)))


def _edge_cases(rng: random.Random) -> Iterator[tuple[Resource, list[Resource]]]:
    born = date(1961, 4, 12)

    yield _patient("empty", 90, "Nodata", ["Nora"], "female", born), []

    chart = _Chart("paging", rng)
    baseline = {"sys": 128, "dia": 82, "29463-7": 80, "8302-2": 175}
    for week in range(70):  # weekly checks for over a year: 70 x 8 = 560 observations
        when = ANCHOR - timedelta(days=7 * (70 - week))
        chart.vitals(when, None, baseline)
    chart.condition(CONDITIONS[0], ANCHOR - timedelta(days=800))
    yield _patient("paging", 91, "Manyvisits", ["Paul"], "male", born), chart.resources

    chart = _Chart("statuses", rng)
    enc = chart.encounter(ANCHOR - timedelta(days=20), "prac-1")
    chart.vitals(ANCHOR - timedelta(days=20), enc, {"sys": 130, "dia": 85})
    chart.condition(CONDITIONS[0], ANCHOR - timedelta(days=900))  # active
    chart.condition(CONDITIONS[8], ANCHOR - timedelta(days=400))  # resolved
    chart.condition(CONDITIONS[5], ANCHOR - timedelta(days=600), clinical="inactive")
    chart.condition(CONDITIONS[1], ANCHOR - timedelta(days=50), verification="entered-in-error")
    chart.medication_request(MEDICATIONS[0], ANCHOR - timedelta(days=30))
    chart.medication_request(MEDICATIONS[2], ANCHOR - timedelta(days=300), status="stopped")
    chart.medication_request(MEDICATIONS[4], ANCHOR - timedelta(days=5), status="entered-in-error")
    # The same drug reported by the patient and ordered: a summary should show it once.
    chart.medication_statement(MEDICATIONS[0], ANCHOR - timedelta(days=25))
    chart.medication_statement(MEDICATIONS[5], ANCHOR - timedelta(days=25))
    chart.allergy(ALLERGIES[0], ANCHOR - timedelta(days=1000))
    chart.allergy(ALLERGIES[2], ANCHOR - timedelta(days=900), clinical="inactive")
    chart.allergy(ALLERGIES[1], ANCHOR - timedelta(days=10), verification="entered-in-error")
    chart.immunization(VACCINES[0], ANCHOR - timedelta(days=60))
    chart.immunization(VACCINES[1], ANCHOR - timedelta(days=61), status="entered-in-error")
    chart.observation(
        "vital-signs",
        ("8867-4", "Heart rate"),
        ANCHOR - timedelta(days=1),
        status="entered-in-error",
        valueQuantity=_quantity(190, "/min", 0),
    )
    yield _patient("statuses", 92, "Mixedstatus", ["Sam"], "male", born), chart.resources

    chart = _Chart("odd-codes", rng)
    when = ANCHOR - timedelta(days=3)
    chart.observation(
        "laboratory",
        ("0000-0", "placeholder"),
        when,
        code={"coding": [{"system": "urn:oid:1.2.3.4.5.99", "code": "LOCAL-K"}]},  # no display
        valueQuantity=_quantity(4.1, "mmol/L", 1),
    )
    chart.observation(
        "laboratory",
        ("0000-0", "placeholder"),
        when,
        code={
            "coding": [
                {
                    "system": "http://example.org/local-lab-codes",
                    "code": "XYZ-9",
                    "display": "Local assay",
                },
                {"system": LOINC, "code": "2345-7"},  # a known code, but no display
            ]
        },
        valueQuantity=_quantity(131, "mg/dL", 0),
        referenceRange=[{"low": _quantity(70, "mg/dL", 0), "high": _quantity(99, "mg/dL", 0)}],
    )
    chart.condition(
        ("0", "placeholder", "active"),
        when,
        code={
            "coding": [{"system": "urn:oid:2.16.840.1.113883.6.999", "code": "Z-77"}],
            "text": "Local problem code",
        },
    )
    chart.medication_request(
        ("0", "placeholder", "As directed"),
        when,
        medicationCodeableConcept={
            "coding": [{"system": "http://example.org/formulary", "code": "F-123"}]
        },
    )
    yield _patient("odd-codes", 93, "Oddcode", ["Olive"], "female", born), chart.resources

    chart = _Chart("many-names", rng)
    chart.vitals(ANCHOR - timedelta(days=40), None, {"sys": 118, "dia": 76})
    yield (
        _patient(
            "many-names",
            94,
            "Carter-Boyd",
            ["Elizabeth", "Anne"],
            "female",
            born,
            name=[
                {
                    "use": "official",
                    "family": "Carter-Boyd",
                    "given": ["Elizabeth", "Anne"],
                    "prefix": ["Dr."],
                },
                {"use": "usual", "given": ["Liz"]},
                {"use": "maiden", "family": "Carter", "given": ["Elizabeth"]},
            ],
            identifier=[
                {
                    "use": "usual",
                    "type": _cc(V2_0203, "MR", "Medical record number"),
                    "system": MRN_SYSTEM,
                    "value": "MRN100094",
                },
                {
                    "use": "secondary",
                    "system": "http://other-hospital.example.org/mrn",
                    "value": "OH-55821",
                },
                {
                    "type": _cc(V2_0203, "DL", "Driver's license number"),
                    "system": "urn:oid:2.16.840.1.113883.4.3.17",
                    "value": "C6234-1187-0042",
                },
            ],
        ),
        chart.resources,
    )

    chart = _Chart("deceased", rng)
    enc = chart.encounter(ANCHOR - timedelta(days=400), "prac-2", kind="IMP")
    chart.vitals(ANCHOR - timedelta(days=400), enc, {"sys": 100, "dia": 60})
    chart.condition(CONDITIONS[4], ANCHOR - timedelta(days=2000))
    yield (
        _patient(
            "deceased",
            95,
            "Departed",
            ["Walter"],
            "male",
            date(1938, 2, 3),
            deceasedDateTime=_iso(ANCHOR - timedelta(days=398)),
        ),
        chart.resources,
    )

    chart = _Chart("unicode", rng)
    chart.vitals(ANCHOR - timedelta(days=12), None, {"sys": 121, "dia": 79})
    chart.condition(CONDITIONS[2], ANCHOR - timedelta(days=700))
    yield (
        _patient(
            "unicode",
            96,
            "Łukasiewicz-Nguyễn",
            ["Zoë", "Ngọc"],
            "female",
            date(1990, 8, 30),
            name=[
                {"use": "official", "family": "Łukasiewicz-Nguyễn", "given": ["Zoë", "Ngọc"]},
                {"use": "usual", "text": "Zoë 李"},
            ],
        ),
        chart.resources,
    )

    chart = _Chart("xss", rng)
    script, img = XSS_PAYLOADS
    when = ANCHOR - timedelta(days=8)
    chart.condition(CONDITIONS[0], when, code=_cc(SNOMED, "38341003", script, text=img))
    chart.allergy(("91936005", img, "medication", "high"), when)
    chart.medication_request(
        MEDICATIONS[0], when, dosageInstruction=[{"text": script}], note=[{"text": img}]
    )
    chart.observation(
        "laboratory",
        ("2345-7", img),
        when,
        valueString=script,
        note=[{"text": img}],
    )
    chart.vitals(when, None, {"sys": 125, "dia": 80})
    yield (
        _patient(
            "xss",
            97,
            script,
            [img],
            "other",
            date(1985, 1, 1),
            name=[{"use": "official", "family": script, "given": [img], "text": f"{img} {script}"}],
        ),
        chart.resources,
    )


def generate() -> list[Resource]:
    """All sandbox resources: practitioners, shared medications, patients and their records."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible synthetic data, not secrets
    resources: list[Resource] = []
    for pid, family, given, suffix in PRACTITIONERS:
        resources.append(
            {
                "resourceType": "Practitioner",
                "id": pid,
                "meta": {"profile": [f"{US_CORE}/us-core-practitioner"]},
                "identifier": [
                    {"system": "http://hl7.org/fhir/sid/us-npi", "value": f"19{pid[-1] * 8}"}
                ],
                "active": True,
                "name": [{"family": family, "given": [given], "suffix": [suffix]}],
            }
        )
    # A shared Medication, referenced (not inlined) by some orders, for `_include`.
    resources.append(
        {
            "resourceType": "Medication",
            "id": "med-lisinopril-10",
            "code": _cc(RXNORM, MEDICATIONS[0][0], MEDICATIONS[0][1]),
            "status": "active",
        }
    )
    for number in range(1, REGULAR_PATIENTS + 1):
        female = number % 2 == 0
        given_names = [rng.choice(GIVEN_F if female else GIVEN_M)]
        birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 60 * 365))
        pid = f"pat-{number:02d}"
        extra: Resource = {}
        if number % 5 == 0:  # US Core race extension, to exercise tolerance of extensions
            extra["extension"] = [
                {
                    "url": f"{US_CORE}/us-core-race",
                    "extension": [
                        {
                            "url": "ombCategory",
                            "valueCoding": {
                                "system": "urn:oid:2.16.840.1.113883.6.238",
                                "code": "2106-3",
                                "display": "White",
                            },
                        },
                        {"url": "text", "valueString": "White"},
                    ],
                }
            ]
        resources.append(
            _patient(
                pid,
                number,
                FAMILY[number - 1],
                given_names,
                "female" if female else "male",
                birth,
                **extra,
            )
        )
        chart = _Chart(pid, rng)
        _ordinary(chart, number)
        if number % 4 == 0:
            chart.medication_request(
                MEDICATIONS[0],
                ANCHOR - timedelta(days=rng.randint(10, 90)),
                medicationCodeableConcept=None,
                medicationReference=_ref("Medication", "med-lisinopril-10"),
            )
        resources.extend(_strip_none(resource) for resource in chart.resources)
    for patient, records in _edge_cases(rng):
        resources.append(patient)
        resources.extend(_strip_none(resource) for resource in records)
    return resources


def _strip_none(resource: Resource) -> Resource:
    return {key: value for key, value in resource.items() if value is not None}
