"""The edge-case patients real deployments meet, one function each (ids in EDGE_CASE_PATIENTS).

No data at all, more than 500 observations, entered-in-error and inactive/resolved records,
unknown code systems and codings without display, several names and identifiers, a deceased
patient, non-ASCII names, and text fields carrying HTML and script (XSS_PAYLOADS).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sandbox.synthetic.chart import ANCHOR, Chart
from sandbox.synthetic.codes import (
    ALLERGIES,
    CONDITIONS,
    LOINC,
    MEDICATIONS,
    MRN_SYSTEM,
    SNOMED,
    V2_0203,
    VACCINES,
)
from sandbox.synthetic.datatypes import Resource, concept, iso, quantity, strip_none
from sandbox.synthetic.people import patient_resource

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
BORN = date(1961, 4, 12)

PatientRecords = tuple[Resource, list[Resource]]


def _empty(rng: random.Random) -> PatientRecords:
    """`empty`: no clinical data at all."""
    return patient_resource("empty", 90, "Nodata", ["Nora"], "female", BORN), []


def _paging(rng: random.Random) -> PatientRecords:
    """`paging`: 560 observations, weekly vital signs for over a year (forces paging)."""
    chart = Chart("paging", rng)
    baseline = {"sys": 128, "dia": 82, "29463-7": 80, "8302-2": 175}
    for week in range(70):  # weekly checks for over a year: 70 x 8 = 560 observations
        when = ANCHOR - timedelta(days=7 * (70 - week))
        chart.vitals(when, None, baseline)
    chart.condition(CONDITIONS[0], ANCHOR - timedelta(days=800))
    return patient_resource("paging", 91, "Manyvisits", ["Paul"], "male", BORN), chart.resources


def _statuses(rng: random.Random) -> PatientRecords:
    """`statuses`: entered-in-error, inactive, resolved and stopped records beside active ones."""
    chart = Chart("statuses", rng)
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
        valueQuantity=quantity(190, "/min", 0),
    )
    return patient_resource("statuses", 92, "Mixedstatus", ["Sam"], "male", BORN), chart.resources


def _odd_codes(rng: random.Random) -> PatientRecords:
    """`odd-codes`: codes from unknown systems and codings with no display."""
    chart = Chart("odd-codes", rng)
    when = ANCHOR - timedelta(days=3)
    chart.observation(
        "laboratory",
        ("0000-0", "placeholder"),
        when,
        code={"coding": [{"system": "urn:oid:1.2.3.4.5.99", "code": "LOCAL-K"}]},  # no display
        valueQuantity=quantity(4.1, "mmol/L", 1),
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
        valueQuantity=quantity(131, "mg/dL", 0),
        referenceRange=[{"low": quantity(70, "mg/dL", 0), "high": quantity(99, "mg/dL", 0)}],
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
    return patient_resource("odd-codes", 93, "Oddcode", ["Olive"], "female", BORN), chart.resources


def _many_names(rng: random.Random) -> PatientRecords:
    """`many-names`: official, usual and maiden names; three identifiers."""
    chart = Chart("many-names", rng)
    chart.vitals(ANCHOR - timedelta(days=40), None, {"sys": 118, "dia": 76})
    return (
        patient_resource(
            "many-names",
            94,
            "Carter-Boyd",
            ["Elizabeth", "Anne"],
            "female",
            BORN,
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
                    "type": concept(V2_0203, "MR", "Medical record number"),
                    "system": MRN_SYSTEM,
                    "value": "MRN100094",
                },
                {
                    "use": "secondary",
                    "system": "http://other-hospital.example.org/mrn",
                    "value": "OH-55821",
                },
                {
                    "type": concept(V2_0203, "DL", "Driver's license number"),
                    "system": "urn:oid:2.16.840.1.113883.4.3.17",
                    "value": "C6234-1187-0042",
                },
            ],
        ),
        chart.resources,
    )


def _deceased(rng: random.Random) -> PatientRecords:
    """`deceased`: a deceased patient."""
    chart = Chart("deceased", rng)
    enc = chart.encounter(ANCHOR - timedelta(days=400), "prac-2", kind="IMP")
    chart.vitals(ANCHOR - timedelta(days=400), enc, {"sys": 100, "dia": 60})
    chart.condition(CONDITIONS[4], ANCHOR - timedelta(days=2000))
    return (
        patient_resource(
            "deceased",
            95,
            "Departed",
            ["Walter"],
            "male",
            date(1938, 2, 3),
            deceasedDateTime=iso(ANCHOR - timedelta(days=398)),
        ),
        chart.resources,
    )


def _unicode(rng: random.Random) -> PatientRecords:
    """`unicode`: non-ASCII names."""
    chart = Chart("unicode", rng)
    chart.vitals(ANCHOR - timedelta(days=12), None, {"sys": 121, "dia": 79})
    chart.condition(CONDITIONS[2], ANCHOR - timedelta(days=700))
    return (
        patient_resource(
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


def _xss(rng: random.Random) -> PatientRecords:
    """`xss`: names, codes, notes and values holding HTML and script."""
    chart = Chart("xss", rng)
    script, img = XSS_PAYLOADS
    when = ANCHOR - timedelta(days=8)
    chart.condition(CONDITIONS[0], when, code=concept(SNOMED, "38341003", script, text=img))
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
    return (
        patient_resource(
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


EDGE_CASES: tuple[Callable[[random.Random], PatientRecords], ...] = (
    _empty,
    _paging,
    _statuses,
    _odd_codes,
    _many_names,
    _deceased,
    _unicode,
    _xss,
)


def edge_case_patients(rng: random.Random) -> list[Resource]:
    """Every edge-case patient followed by their records, in EDGE_CASE_PATIENTS order."""
    resources: list[Resource] = []
    for build in EDGE_CASES:
        patient, records = build(rng)
        resources.append(patient)
        resources.extend(strip_none(resource) for resource in records)
    return resources
