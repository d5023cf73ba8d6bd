"""sandbox.fhir_search and sandbox.fhir_store: the search semantics, on small hand-made data."""

from __future__ import annotations

import pytest

from sandbox.fhir_search import SearchError, date_matches, token_matches
from sandbox.fhir_search import _parse_instant as parse_instant
from sandbox.fhir_store import FhirStore, bundle_resources

LAB = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }
    ]
}


def obs(rid: str, when: str, code: str = "718-7", patient: str = "p1", **extra: object) -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [LAB],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
        **extra,
    }


STORE = FhirStore(
    [
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"family": "Łukasiewicz", "given": ["Zoë"]}],
        },
        {"resourceType": "Patient", "id": "p2", "name": [{"family": "Smith"}]},
        obs("o1", "2024-01-15T10:00:00+00:00"),
        obs("o2", "2025-06-01T10:00:00+00:00", code="2345-7"),
        obs("o3", "2025-06-30T23:59:59+00:00"),
        obs("o4", "2025-07-01T00:00:00+00:00", patient="p2"),
        {"resourceType": "Medication", "id": "m1", "code": {"coding": [{"code": "x"}]}},
        {
            "resourceType": "MedicationRequest",
            "id": "mr1",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationReference": {"reference": "Medication/m1"},
        },
    ]
)


def ids(found: list[dict]) -> list[str]:
    return [r["id"] for r in found]


@pytest.mark.parametrize(
    ("wanted", "hit"),
    [
        ("http://loinc.org|718-7", True),
        ("718-7", True),
        ("http://loinc.org|", True),
        ("|718-7", False),  # `|code` means "no system"
        ("http://snomed.info/sct|718-7", False),
        ("2345-7,718-7", True),
    ],
)
def test_token_forms(wanted: str, hit: bool) -> None:
    assert (
        token_matches({"coding": [{"system": "http://loinc.org", "code": "718-7"}]}, wanted) is hit
    )


@pytest.mark.parametrize(
    ("wanted", "hit"),
    [
        ("2025", True),
        ("2025-06", True),
        ("2025-06-30", True),
        ("eq2025-07", False),
        ("lt2025-06-30", False),
        ("le2025-06-30", True),
        ("gt2025-06-29", True),
        ("gt2025-06-30", False),
        ("ge2025-06-30", True),
        ("ne2024", True),
    ],
)
def test_date_prefixes(wanted: str, hit: bool) -> None:
    moment = parse_instant("2025-06-30T12:00:00+00:00")[0]
    assert date_matches(moment, wanted) is hit


def test_search_by_patient_code_date_and_sort() -> None:
    assert ids(STORE.search("Observation", [("patient", "p1")])) == ["o1", "o2", "o3"]
    assert ids(STORE.search("Observation", [("subject", "Patient/p2")])) == ["o4"]
    assert ids(STORE.search("Observation", [("patient", "p1"), ("code", "718-7")])) == ["o1", "o3"]
    found = STORE.search("Observation", [("date", "ge2025-01-01"), ("date", "lt2025-07-01")])
    assert ids(found) == ["o2", "o3"]
    assert ids(STORE.search("Observation", [("_sort", "-date")])) == ["o4", "o3", "o2", "o1"]
    assert ids(STORE.search("Observation", [("category", "laboratory"), ("_id", "o2,o4")])) == [
        "o2",
        "o4",
    ]


def test_name_search_is_case_and_accent_exact_substring() -> None:
    assert ids(STORE.search("Patient", [("name", "łukas")])) == ["p1"]
    assert ids(STORE.search("Patient", [("name", "smi")])) == ["p2"]


def test_include() -> None:
    found = STORE.search("MedicationRequest", [("_include", "MedicationRequest:medication")])
    assert ids(STORE.includes(found, ["MedicationRequest:medication"])) == ["m1"]


@pytest.mark.parametrize(
    ("rtype", "params"),
    [
        ("Observation", [("colour", "red")]),
        ("Patient", [("code", "x")]),
        ("Observation", [("_sort", "value")]),
        ("Observation", [("_include", "Observation:performer")]),
        ("Observation", [("date", "yesterday")]),
        ("Basic", []),
    ],
)
def test_unsupported_searches_are_refused(rtype: str, params: list) -> None:
    with pytest.raises(SearchError):
        STORE.search(rtype, params)


def test_bundle_loading_rewrites_uuid_references() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:aaa", "resource": {"resourceType": "Patient", "id": "aaa"}},
            {
                "fullUrl": "urn:uuid:bbb",
                "resource": obs("bbb", "2020-01-01", patient="x")
                | {"subject": {"reference": "urn:uuid:aaa"}},
            },
            {"fullUrl": "urn:uuid:ccc", "resource": {"resourceType": "Claim", "id": "ccc"}},
        ],
    }
    loaded = bundle_resources(bundle)
    assert [r["resourceType"] for r in loaded] == ["Patient", "Observation"]
    assert loaded[1]["subject"]["reference"] == "Patient/aaa"
