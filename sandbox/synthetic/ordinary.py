"""The ordinary synthetic patients (`pat-01` to `pat-25`): 4 to 8 visits over five to eight
years, with vital signs, labs, problems, medications, allergies and immunizations.

Some orders reference (rather than inline) a shared Medication, so `_include` has work to do.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sandbox.synthetic.chart import ANCHOR, Chart
from sandbox.synthetic.codes import (
    ALLERGIES,
    CONDITIONS,
    MEDICATIONS,
    RXNORM,
    US_CORE,
    VACCINES,
)
from sandbox.synthetic.datatypes import Resource, concept, ref, strip_none
from sandbox.synthetic.people import (
    FAMILY,
    GIVEN_F,
    GIVEN_M,
    PRACTITIONERS,
    patient_resource,
)

REGULAR_PATIENTS = 25
SHARED_MEDICATION_ID = "med-lisinopril-10"


def race_extension() -> Resource:
    """The US Core race extension some patients carry, to exercise tolerance of extensions."""
    return {
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


def shared_medication() -> Resource:
    """A shared Medication, referenced (not inlined) by some orders, for `_include`."""
    return {
        "resourceType": "Medication",
        "id": SHARED_MEDICATION_ID,
        "code": concept(RXNORM, MEDICATIONS[0][0], MEDICATIONS[0][1]),
        "status": "active",
    }


def fill_ordinary_chart(chart: Chart, number: int) -> None:
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


def ordinary_patient(number: int, rng: random.Random) -> list[Resource]:
    """`pat-<number>`: the Patient, then their records."""
    female = number % 2 == 0
    given_names = [rng.choice(GIVEN_F if female else GIVEN_M)]
    birth = date(1940, 1, 1) + timedelta(days=rng.randint(0, 60 * 365))
    pid = f"pat-{number:02d}"
    extra: Resource = {}
    if number % 5 == 0:
        extra["extension"] = [race_extension()]
    patient = patient_resource(
        pid,
        number,
        FAMILY[number - 1],
        given_names,
        "female" if female else "male",
        birth,
        **extra,
    )
    chart = Chart(pid, rng)
    fill_ordinary_chart(chart, number)
    if number % 4 == 0:
        chart.medication_request(
            MEDICATIONS[0],
            ANCHOR - timedelta(days=rng.randint(10, 90)),
            medicationCodeableConcept=None,
            medicationReference=ref("Medication", SHARED_MEDICATION_ID),
        )
    return [patient, *(strip_none(resource) for resource in chart.resources)]


def ordinary_patients(rng: random.Random) -> list[Resource]:
    """Every ordinary patient and their records, `pat-01` first."""
    resources: list[Resource] = []
    for number in range(1, REGULAR_PATIENTS + 1):
        resources.extend(ordinary_patient(number, rng))
    return resources
