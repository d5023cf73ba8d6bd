"""smartapp.summary.medications: names from codes, contained and referenced Medications;
instructions from text or structure, "as needed" never dropped."""

from __future__ import annotations

from typing import Any

import pytest

from smartapp.summary.medications import active_medications, unresolved_medications
from tests.fixtures.fhir_models import model, synthea_bundle

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ACETAMINOPHEN = {
    "coding": [{"system": RXNORM, "code": "313782", "display": "acetaminophen 325 MG"}]
}


def order(dosage: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": ACETAMINOPHEN,
        **extra,
    }
    if dosage is not None:
        body["dosageInstruction"] = dosage
    return body


def instructions(*dosage: dict[str, Any]) -> str | None:
    (row,) = active_medications([model(order(list(dosage)))], [], {})
    return row.dosage


@pytest.mark.parametrize(
    ("dosage", "shown"),
    [
        ({"asNeededBoolean": True, "sequence": 1}, "as needed"),
        (
            {"asNeededCodeableConcept": {"coding": [{"code": "22253000", "display": "Pain"}]}},
            "as needed for Pain",
        ),
        (
            {"text": "1 tablet every 6 hours", "asNeededBoolean": True},
            "1 tablet every 6 hours (as needed)",
        ),
        (
            {"text": "2 puffs every 4 hours as needed", "asNeededBoolean": True},
            "2 puffs every 4 hours as needed",
        ),
        (
            {
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [{"code": "26643006", "display": "Oral route"}]},
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
            },
            "1 tablet, twice a day, Oral route",
        ),
        (
            {
                "asNeededBoolean": False,
                "doseAndRate": [{"doseQuantity": {"value": 1.0}}],
                "timing": {"repeat": {"frequency": 1, "period": 60, "periodUnit": "d"}},
            },
            "dose 1, every 60 days",
        ),
    ],
)
def test_instructions_from_text_or_structure(dosage, shown) -> None:
    assert instructions(dosage) == shown


def test_as_needed_is_flagged_on_the_row() -> None:
    (row,) = active_medications([model(order([{"asNeededBoolean": True}]))], [], {})
    assert row.as_needed


def test_contained_and_referenced_medications() -> None:
    contained = order(
        medicationCodeableConcept=None,
        medicationReference={"reference": "#med1"},
        contained=[
            {
                "resourceType": "Medication",
                "id": "med1",
                "code": {
                    "coding": [{"system": RXNORM, "code": "197361", "display": "amlodipine 5 MG"}]
                },
            }
        ],
    )
    contained.pop("medicationCodeableConcept")
    referenced = order(medicationReference={"reference": "Medication/lis"})
    referenced.pop("medicationCodeableConcept")
    absolute = order(medicationReference={"reference": "https://ehr.example/fhir/Medication/met"})
    absolute.pop("medicationCodeableConcept")
    odd = order(medicationReference={"reference": "Medication/../Patient/x", "display": "odd"})
    odd.pop("medicationCodeableConcept")
    requests = [model(contained), model(referenced), model(absolute), model(odd)]
    assert unresolved_medications(requests, {}) == ("Medication/lis", "Medication/met")
    lisinopril = model(
        {
            "resourceType": "Medication",
            "id": "lis",
            "code": {
                "coding": [{"system": RXNORM, "code": "314076", "display": "lisinopril 10 MG"}]
            },
        }
    )
    rows = active_medications(requests, [], {"Medication/lis": lisinopril})
    assert [r.concept.label for r in rows] == [
        "(medication not shown)",
        "amlodipine 5 MG",
        "lisinopril 10 MG",
        "odd",  # an id that is not a FHIR id is never read: its display is all there is
    ]


def test_synthea_as_needed_orders() -> None:
    """Synthea (vendored): orders with only `asNeededBoolean: true` say "as needed"."""
    records = synthea_bundle("Alexis_Toy")  # loratadine and epinephrine, as needed
    requests = records["MedicationRequest"]
    rows = active_medications(requests, [], {})
    prn = [
        r
        for r in requests
        if r.status == "active" and any(d.asNeededBoolean for d in r.dosageInstruction or [])
    ]
    assert prn, "the fixture has as-needed orders"
    shown = {row.concept.label: row for row in rows}
    for request in prn:
        row = shown[
            request.medicationCodeableConcept.text
            or request.medicationCodeableConcept.coding[0].display
        ]
        assert row.as_needed
        assert "as needed" in (row.dosage or "")
