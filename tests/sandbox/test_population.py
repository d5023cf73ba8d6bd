"""The generated benchmark population (`sandbox.synthetic.population`) and how the sandbox
store picks it up (`build_store`, `sandbox_seed --patients`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
from django.core.management import call_command

from sandbox import synthetic
from sandbox.fhir_search import patient_of
from sandbox.fhir_store import build_store
from sandbox.synthetic import population
from sandbox.synthetic.codes import CVX, LOINC, RXNORM, SNOMED, UCUM
from tests.fixtures.fhir_models import model

PATIENTS = 120
# Per patient, as the module docstring states.
RANGES = {
    "Patient": (1, 1),
    "Encounter": (2, 6),
    "Condition": (2, 5),
    "Observation": (10, 25),
    "MedicationRequest": (1, 4),
    "AllergyIntolerance": (0, 2),
    "Immunization": (2, 6),
    "DiagnosticReport": (0, 2),
}


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return list(population.generate(PATIENTS))


def test_deterministic(resources) -> None:
    again = json.dumps(list(population.generate(PATIENTS)), sort_keys=False)
    assert json.dumps(resources, sort_keys=False) == again
    assert list(population.generate(PATIENTS, seed=18)) != resources


def test_a_smaller_population_is_a_prefix(resources) -> None:
    small = list(population.generate(10))
    assert resources[: len(small)] == small
    assert {r["id"] for r in small if r["resourceType"] == "Patient"} == {
        f"pop-{n}" for n in range(1, 11)
    }


def test_lazy() -> None:
    stream = population.generate(10**9)  # a billion patients: only what is read is made
    assert next(stream)["id"] == "pop-1"


def test_counts_per_patient_within_ranges(resources) -> None:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for resource in resources:
        owner = resource["id"] if resource["resourceType"] == "Patient" else patient_of(resource)
        assert owner is not None, resource["id"]
        counts[owner][resource["resourceType"]] += 1
    assert len(counts) == PATIENTS
    for owner, by_type in counts.items():
        assert set(by_type) <= set(RANGES), owner
        for rtype, (low, high) in RANGES.items():
            assert low <= by_type[rtype] <= high, (owner, rtype, by_type[rtype])
    totals = Counter(r["resourceType"] for r in resources)
    assert set(totals) == set(RANGES)  # every optional type appears somewhere


def test_meta_ids_and_references_resolve(resources) -> None:
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    assert len(ids) == len(resources)
    practitioners = {
        f"Practitioner/{r['id']}"
        for r in synthetic.generate()
        if r["resourceType"] == "Practitioner"
    }
    for resource in resources:
        assert resource["meta"] == {"versionId": "1", "lastUpdated": population.LAST_UPDATED}
        if resource["resourceType"] != "Patient":
            assert f"Patient/{patient_of(resource)}" in ids
        for reference in _references(resource):
            assert reference in ids or reference in practitioners, reference
        for result in resource.get("result", []):  # a report's results are its patient's
            assert patient_of(_by_ref(resources, result["reference"])) == patient_of(resource)


def test_codes_and_units(resources) -> None:
    systems = {
        "Condition": SNOMED,
        "AllergyIntolerance": SNOMED,
        "Immunization": CVX,
        "MedicationRequest": RXNORM,
        "Observation": LOINC,
    }
    panels = 0
    for resource in resources:
        rtype = resource["resourceType"]
        if rtype in systems:
            field = {
                "Immunization": "vaccineCode",
                "MedicationRequest": "medicationCodeableConcept",
            }
            coding = resource[field.get(rtype, "code")]["coding"][0]
            assert coding["system"] == systems[rtype]
        if rtype == "Observation" and "component" in resource:
            panels += 1
            assert resource["code"]["coding"][0]["code"] == "85354-9"
            codes = [c["code"]["coding"][0]["code"] for c in resource["component"]]
            assert codes == ["8480-6", "8462-4"]
            assert all(c["valueQuantity"]["code"] == "mm[Hg]" for c in resource["component"])
        elif rtype == "Observation":
            assert resource["valueQuantity"]["system"] == UCUM
    assert panels >= 2 * PATIENTS  # one per encounter


def test_fhirclient_parses_a_sample(resources) -> None:
    sample = [r for r in resources if r["id"].startswith(("pop-1-", "pop-2-"))]
    sample += [r for r in resources if r["id"] in ("pop-1", "pop-2")]
    seen = {model(resource).resource_type for resource in sample}
    assert seen >= {"Patient", "Encounter", "Condition", "Observation", "Immunization"}


def test_configured_size(tmp_path) -> None:
    assert population.configured_size(tmp_path) == 0
    population.write_size(tmp_path, 7)
    assert population.configured_size(tmp_path) == 7
    assert population.configured_size(tmp_path, 3) == 3  # the setting wins
    assert population.configured_size(tmp_path, 0) == 7  # ...when it is an int > 0
    assert population.configured_size(tmp_path, "9") == 7
    population.write_size(tmp_path, 0)
    assert not (tmp_path / population.POPULATION_FILE).exists()
    (tmp_path / population.POPULATION_FILE).write_text("not json")
    assert population.configured_size(tmp_path) == 0


def test_build_store_adds_the_population(settings, tmp_path) -> None:
    settings.SANDBOX_BUNDLE_DIR = tmp_path / "bundles"
    plain = build_store()
    settings.SANDBOX_POPULATION = 3
    grown = build_store()
    expected = Counter(r["resourceType"] for r in population.generate(3))
    for rtype, extra in expected.items():
        assert grown.count(rtype) == plain.count(rtype) + extra
    assert grown.get("Patient", "pop-3") is not None
    assert grown.get("Patient", "pop-4") is None
    assert grown.get("Patient", "pat-01") == plain.get("Patient", "pat-01")  # untouched
    assert len(grown.search("Observation", [("patient", "pop-2")])) >= 10


def test_seed_command_records_the_population(db, settings, tmp_path) -> None:
    settings.SANDBOX_BUNDLE_DIR = tmp_path / "bundles"
    call_command("sandbox_seed", "--patients", "4")
    assert json.loads((tmp_path / "population.json").read_text()) == {"patients": 4}
    assert build_store().get("Patient", "pop-4") is not None
    call_command("sandbox_seed", "--patients", "0")
    assert not (tmp_path / "population.json").exists()
    assert build_store().get("Patient", "pop-1") is None


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for item in value.values() for ref in _references(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _references(item)]
    return []


def _by_ref(resources: list[dict[str, Any]], reference: str) -> dict[str, Any]:
    rtype, rid = reference.split("/", 1)
    return next(r for r in resources if r["resourceType"] == rtype and r["id"] == rid)
