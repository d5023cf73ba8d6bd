"""smart.fhir_ids: the FHIR id grammar (R4 2.24.0.1), path segments, patient references."""

from __future__ import annotations

import pytest

from smart.fhir_ids import (
    InvalidFhirId,
    about_patient,
    checked_id,
    instance_path,
    is_fhir_id,
    patient_in_reference,
)

BASE = "https://ehr.example/fhir"


@pytest.mark.parametrize("value", ["pat-01", "a", "A.b-9", "x" * 64, "123"])
def test_ids_in_the_grammar(value: str) -> None:
    assert is_fhir_id(value)
    assert checked_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 65,
        "x" * 65_536,
        "pat\r\n01",
        "pat\t01",
        "pat\x0001",
        "pat%0001",
        "a/b",
        "a b",
        "é",
        ".",
        "..",
        None,
        7,
    ],
)
def test_anything_else_is_refused_with_a_400(value: object) -> None:
    assert not is_fhir_id(value)
    with pytest.raises(InvalidFhirId) as refused:
        checked_id(value)
    assert refused.value.status == 400
    assert refused.value.code == "invalid_id"
    if value:
        assert str(value) not in str(refused.value.detail)  # never echoed


def test_instance_paths_are_checked_segments() -> None:
    assert instance_path("Patient", "pat-01") == "Patient/pat-01"
    with pytest.raises(InvalidFhirId):
        instance_path("Patient", "../Observation")
    with pytest.raises(InvalidFhirId):
        instance_path("Patient/..", "x")


@pytest.mark.parametrize(
    ("reference", "patient"),
    [
        ("Patient/p1", "p1"),
        (f"{BASE}/Patient/p1", "p1"),
        ("Patient/p1/_history/3", "p1"),
        ("Group/p1", None),
        ("https://other.example/fhir/Patient/p1", None),
        ("Patient/p1/extra", None),
        ("Patient/", None),
        ("Patient/p1/_history/..", None),
        (None, None),
        (7, None),
    ],
)
def test_patient_in_reference(reference: object, patient: str | None) -> None:
    assert patient_in_reference(reference, BASE) == patient


def test_about_patient() -> None:
    mine = {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}}
    theirs = {"resourceType": "Condition", "subject": {"reference": "Patient/p2"}}
    both = {
        "resourceType": "Immunization",
        "patient": {"reference": "Patient/p1"},
        "subject": {"reference": "Patient/p2"},
    }
    nobody = {"resourceType": "Observation", "status": "final"}
    assert about_patient(mine, "p1", BASE)
    assert not about_patient(theirs, "p1", BASE)
    assert not about_patient(both, "p1", BASE)  # names someone else too
    assert not about_patient(nobody, "p1", BASE)  # not provably this patient's
    assert about_patient({"resourceType": "Patient", "id": "p1"}, "p1", BASE)
    assert not about_patient({"resourceType": "Patient", "id": "p2"}, "p1", BASE)
