"""smartapp.summary.codes and the contract's labels: how codes are shown."""

from __future__ import annotations

from smartapp.summary.codes import amount, concept
from smartapp.summary.contract import Coding
from tests.fixtures.fhir_models import model


def test_coding_labels() -> None:
    assert Coding("http://snomed.info/sct", "38341003", None).label == "38341003 (SNOMED CT)"
    assert Coding("urn:oid:1.2.3", "X", None).label == "X (urn:oid:1.2.3)"
    assert Coding(None, "X", None).label == "X (no system)"
    condition = model(
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/p"},
            "code": {"text": "Told by patient", "coding": [{"code": "1"}]},
        }
    )
    assert concept(condition.code).label == "Told by patient"


def test_quantities_keep_unit_codes_and_comparators() -> None:
    observation = model(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "valueQuantity": {
                "value": 0.5,
                "comparator": "<",
                "unit": "milligram per decilitre",
                "system": "http://unitsofmeasure.org",
                "code": "mg/dL",
            },
        }
    )
    shown = amount(observation.valueQuantity)
    assert shown is not None
    assert (shown.text, shown.code, shown.human, shown.comparator) == (
        "0.5",
        "mg/dL",
        "milligram per decilitre",
        "<",
    )
