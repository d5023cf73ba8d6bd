"""sandbox.synthetic: deterministic, valid FHIR R4, and every edge case really present."""

from __future__ import annotations

from collections import Counter

import pytest
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from sandbox import synthetic
from sandbox.fhir_search import patient_of
from sandbox.fhir_store import FhirStore

RESOURCES = synthetic.generate()
STORE = FhirStore(RESOURCES)


def of(patient: str, rtype: str) -> list[dict]:
    return STORE.search(rtype, [("patient", patient)])


def test_every_resource_is_valid_fhir_r4() -> None:
    problems = []
    for resource in RESOURCES:
        try:
            FHIRElementFactory.instantiate(resource["resourceType"], resource)  # strict parsing
        except Exception as exc:
            problems.append(f"{resource['resourceType']}/{resource['id']}: {exc}")
    assert problems == []


def test_deterministic_and_unique() -> None:
    assert synthetic.generate() == RESOURCES
    keys = [(r["resourceType"], r["id"]) for r in RESOURCES]
    assert len(keys) == len(set(keys))


def test_enough_patients_with_records_over_years() -> None:
    patients = [r for r in RESOURCES if r["resourceType"] == "Patient"]
    assert len(patients) >= synthetic.REGULAR_PATIENTS + len(synthetic.EDGE_CASE_PATIENTS)
    years = {r["effectiveDateTime"][:4] for r in RESOURCES if r["resourceType"] == "Observation"}
    assert len(years) >= 5
    for number in range(1, synthetic.REGULAR_PATIENTS + 1):
        assert of(f"pat-{number:02d}", "Observation"), f"pat-{number:02d} has no observations"


def test_real_code_systems() -> None:
    systems = Counter(
        coding["system"]
        for r in RESOURCES
        for key in ("code", "vaccineCode", "medicationCodeableConcept")
        for coding in r.get(key, {}).get("coding", [])
        if "system" in coding
    )
    for system in (synthetic.LOINC, synthetic.SNOMED, synthetic.RXNORM, synthetic.CVX):
        assert systems[system] > 0, system


def test_labs_carry_units_ranges_and_interpretations() -> None:
    labs = STORE.search("Observation", [("category", "laboratory"), ("patient", "pat-03")])
    assert labs
    assert all(lab["valueQuantity"]["system"] == synthetic.UCUM for lab in labs)
    assert all("referenceRange" in lab for lab in labs)
    flags = {c["code"] for lab in labs for i in lab.get("interpretation", []) for c in i["coding"]}
    assert flags <= {"H", "L", "N"}
    assert flags
    assert any("interpretation" not in lab for lab in RESOURCES if lab.get("referenceRange"))


def test_blood_pressure_is_a_panel_with_components() -> None:
    panels = STORE.search(
        "Observation", [("code", f"{synthetic.LOINC}|85354-9"), ("patient", "pat-01")]
    )
    assert panels
    codes = {c["code"]["coding"][0]["code"] for c in panels[0]["component"]}
    assert codes == {"8480-6", "8462-4"}


def test_edge_case_empty() -> None:
    assert [
        r for r in RESOURCES if patient_of(r) == "empty" and r["resourceType"] != "Patient"
    ] == []


def test_edge_case_paging() -> None:
    assert len(of("paging", "Observation")) > 500


@pytest.mark.parametrize(
    ("rtype", "path"),
    [
        ("Condition", ("verificationStatus", "entered-in-error")),
        ("Condition", ("clinicalStatus", "resolved")),
        ("Condition", ("clinicalStatus", "inactive")),
        ("AllergyIntolerance", ("verificationStatus", "entered-in-error")),
        ("AllergyIntolerance", ("clinicalStatus", "inactive")),
    ],
)
def test_edge_case_statuses(rtype: str, path: tuple[str, str]) -> None:
    element, code = path
    assert any(r[element]["coding"][0]["code"] == code for r in of("statuses", rtype))


def test_edge_case_statuses_plain_status_fields() -> None:
    statuses = {
        r["status"]
        for t in ("MedicationRequest", "Immunization", "Observation")
        for r in of("statuses", t)
    }
    assert {"entered-in-error", "stopped", "active"} <= statuses


def test_edge_case_odd_codes() -> None:
    codings = [
        c
        for t in ("Observation", "Condition", "MedicationRequest")
        for r in of("odd-codes", t)
        for c in (r.get("code") or r["medicationCodeableConcept"])["coding"]
    ]
    assert any(c["system"].startswith("urn:oid:") for c in codings)
    assert any("display" not in c for c in codings)


def test_edge_case_names_deceased_unicode_xss() -> None:
    many = STORE.get("Patient", "many-names")
    assert many is not None
    assert len(many["name"]) >= 3
    assert len(many["identifier"]) >= 3
    deceased = STORE.get("Patient", "deceased")
    assert deceased is not None
    assert "deceasedDateTime" in deceased
    unicode = STORE.get("Patient", "unicode")
    assert unicode is not None
    assert not unicode["name"][0]["family"].isascii()
    xss = STORE.get("Patient", "xss")
    assert xss is not None
    assert synthetic.XSS_PAYLOADS[0] in xss["name"][0]["family"]
    texts = str(of("xss", "Condition")) + str(of("xss", "Observation"))
    assert all(payload in texts for payload in synthetic.XSS_PAYLOADS)
