"""sandbox.synthetic.us_core_shapes: the Synthea/US Core shapes are really present, valid and
findable through the sandbox's FHIR search (patient compartment, categories, dates, _sort,
_include, reads), and partial dates are ranges to the date search.
"""

from __future__ import annotations

import random

import pytest
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from sandbox import synthetic
from sandbox.fhir_search import _parse_instant as parse_instant
from sandbox.fhir_search import date_matches
from sandbox.fhir_store import FhirStore
from sandbox.synthetic.documents import document_resources
from sandbox.synthetic.edge_cases import edge_case_patients
from sandbox.synthetic.ordinary import ordinary_patients, shared_medication
from sandbox.synthetic.people import practitioner_resources
from sandbox.synthetic.us_core_shapes import us_core_shape_patients

RESOURCES = synthetic.generate()
STORE = FhirStore(RESOURCES)
LOINC = synthetic.LOINC
UCUM = synthetic.UCUM


def search(rtype: str, *params: tuple[str, str], patient: str = "us-core") -> list[dict]:
    return STORE.search(rtype, [("patient", patient), *params])


def ids(found: list[dict]) -> list[str]:
    return [r["id"] for r in found]


def one(rtype: str, rid: str) -> dict:
    resource = STORE.get(rtype, rid)
    assert resource is not None, f"{rtype}/{rid} missing"
    return resource


def loinc(resource: dict) -> str:
    return str(resource["code"]["coding"][0]["code"])


def components(observation: dict) -> dict[str, dict]:
    return {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in observation["component"]}


# --- the package ---------------------------------------------------------------------------


def test_patients_are_exported_and_come_last() -> None:
    assert set(synthetic.US_CORE_SHAPE_PATIENTS) == {"us-core", "partial-dates", "replaced-record"}
    assert "US_CORE_SHAPE_PATIENTS" in synthetic.__all__
    tail, documents = us_core_shape_patients(), document_resources()
    assert RESOURCES[-len(tail) - len(documents) : -len(documents)] == tail  # then documents
    assert RESOURCES[-len(documents) :] == documents
    patients = [r["id"] for r in tail if r["resourceType"] == "Patient"]
    assert patients == list(synthetic.US_CORE_SHAPE_PATIENTS)


def test_existing_patients_and_the_shared_random_sequence_are_unchanged() -> None:
    rng = random.Random(synthetic.SEED)  # noqa: S311 - the generator's own seed
    before = [
        *practitioner_resources(),
        shared_medication(),
        *ordinary_patients(rng),
        *edge_case_patients(rng),
    ]
    assert RESOURCES[: len(before)] == before
    assert len(RESOURCES) == len(before) + len(us_core_shape_patients()) + len(document_resources())


def test_new_resources_are_strict_fhir_r4_with_unique_ids() -> None:
    tail = us_core_shape_patients()
    for resource in tail:
        FHIRElementFactory.instantiate(resource["resourceType"], resource)  # raises if invalid
    keys = [(r["resourceType"], r["id"]) for r in RESOURCES]
    assert len(keys) == len(set(keys))


# --- us-core: the patient ----------------------------------------------------------------


def test_patient_month_precision_birth_and_synthea_identifiers() -> None:
    patient = one("Patient", "us-core")
    assert patient["birthDate"] == "1958-07"
    assert patient["gender"] == "female"
    assert patient["active"] is True
    assert "deceasedDateTime" not in patient
    by_type = {
        i["type"]["coding"][0]["code"]: i
        for i in patient["identifier"]
        if i["type"]["coding"][0]["system"] == "http://terminology.hl7.org/CodeSystem/v2-0203"
    }
    assert set(by_type) == {"MR", "SS", "DL", "PPN"}
    assert by_type["MR"]["system"] == "http://sandbox.example.org/fhir/sid/mrn"
    assert by_type["MR"]["value"] == "USC-0001"
    assert by_type["SS"]["system"] == "http://hl7.org/fhir/sid/us-ssn"
    assert by_type["SS"]["value"] == "999-12-3456"
    assert by_type["DL"]["value"] == "S99912345"
    assert by_type["PPN"]["value"] == "X12345678"
    found = STORE.search("Patient", [("identifier", "http://hl7.org/fhir/sid/us-ssn|999-12-3456")])
    assert ids(found) == ["us-core"]


# --- us-core: vital signs ----------------------------------------------------------------


def test_blood_pressure_is_55284_4_with_components_never_85354_9() -> None:
    readings = search("Observation", ("code", f"{LOINC}|55284-4"), ("_sort", "-date"))
    assert ids(readings) == ["us-core-obs-bp-3", "us-core-obs-bp-2", "us-core-obs-bp-1"]
    assert len({r["effectiveDateTime"][:10] for r in readings}) == 3
    for reading in readings:
        assert "valueQuantity" not in reading
        values = components(reading)
        assert set(values) == {"8480-6", "8462-4"}
        assert all(
            v["unit"] == v["code"] == "mm[Hg]" and v["system"] == UCUM for v in values.values()
        )
    latest = components(readings[0])
    assert latest["8480-6"]["value"] == 188.72546355403142
    assert latest["8462-4"]["value"] == 115.22310436093298
    assert search("Observation", ("code", f"{LOINC}|85354-9")) == []


def test_vital_signs_panel_carries_values_only_in_components() -> None:
    vitals = search("Observation", ("category", "vital-signs"), ("_sort", "-date"))
    panel = one("Observation", "us-core-obs-vitals-panel")
    assert panel in vitals
    assert loinc(panel) == "85353-1"
    assert not any(key.startswith("value") for key in panel)
    values = components(panel)
    assert values["8867-4"] == {"value": 96.0, "unit": "/min", "system": UCUM, "code": "/min"}
    assert values["9279-1"]["value"] == 18.0
    standalone = search("Observation", ("code", "8867-4"))
    assert ids(standalone) == ["us-core-obs-hr"]  # a search by code misses the component
    assert panel["effectiveDateTime"] > standalone[0]["effectiveDateTime"]


@pytest.mark.parametrize(
    ("rid", "code", "unit", "value"),
    [
        ("us-core-obs-temp", "8310-5", "Cel", 37.83333333),
        ("us-core-obs-weight", "29463-7", "kg", 71.6619566789248),
        ("us-core-obs-height", "8302-2", "cm", 160.10000000000002),
        ("us-core-obs-bmi", "39156-5", "kg/m2", 27.957993414845255),
        ("us-core-obs-spo2", "2708-6", "%", 96.5),
    ],
)
def test_vital_signs_in_ucum_with_synthea_precision(
    rid: str, code: str, unit: str, value: float
) -> None:
    found = search("Observation", ("category", "vital-signs"), ("code", f"{LOINC}|{code}"))
    assert ids(found) == [rid]
    assert found[0]["valueQuantity"] == {"value": value, "unit": unit, "system": UCUM, "code": unit}


def test_month_precision_effective_dates() -> None:
    bp = one("Observation", "us-core-obs-bp-1")
    assert bp["effectiveDateTime"] == "2021-03"
    assert "issued" not in bp  # an instant only, never a partial date
    assert ids(search("Observation", ("date", "2021-03"))) == ["us-core-obs-bp-1"]


# --- us-core: labs -----------------------------------------------------------------------


def test_cbc_panel_has_members_and_no_value_and_a_report_lists_them() -> None:
    panel = one("Observation", "us-core-obs-cbc")
    assert loinc(panel) == "58410-2"
    assert not any(key.startswith("value") for key in panel)
    members = [m["reference"] for m in panel["hasMember"]]
    assert members == [
        "Observation/us-core-obs-wbc",
        "Observation/us-core-obs-hgb",
        "Observation/us-core-obs-plt",
        "Observation/us-core-obs-hct",
    ]
    labs = ids(search("Observation", ("category", "laboratory")))
    assert all(m.removeprefix("Observation/") in labs for m in members)
    reports = search("DiagnosticReport", ("code", f"{LOINC}|58410-2"))
    assert [r["reference"] for r in reports[0]["result"]] == members
    wbc, hgb = one("Observation", "us-core-obs-wbc"), one("Observation", "us-core-obs-hgb")
    assert (loinc(wbc), wbc["valueQuantity"]["value"], wbc["valueQuantity"]["code"]) == (
        "6690-2",
        12.8,
        "10*3/uL",
    )
    assert (loinc(hgb), hgb["valueQuantity"]["value"], hgb["valueQuantity"]["code"]) == (
        "718-7",
        11.2,
        "g/dL",
    )


def test_interpretation_flags_and_abnormal_by_range_only() -> None:
    def flag(rid: str) -> str | None:
        coded = one("Observation", rid).get("interpretation")
        return coded[0]["coding"][0]["code"] if coded else None

    assert flag("us-core-obs-wbc") == "H"
    assert flag("us-core-obs-hgb") == "L"
    platelets = one("Observation", "us-core-obs-plt")
    assert "interpretation" not in platelets
    assert platelets["valueQuantity"]["value"] > platelets["referenceRange"][0]["high"]["value"]


def test_string_result() -> None:
    culture = one("Observation", "us-core-obs-culture")
    assert culture["valueString"] == "No growth at 48 hours"
    assert culture["category"][0]["coding"][0]["code"] == "laboratory"


def test_coded_result() -> None:
    nitrite = one("Observation", "us-core-obs-nitrite")
    assert loinc(nitrite) == "5802-4"
    coding = nitrite["valueCodeableConcept"]["coding"][0]
    assert coding == {"system": synthetic.SNOMED, "code": "260385009", "display": "Negative"}


def test_data_absent_reason_instead_of_a_value() -> None:
    potassium = one("Observation", "us-core-obs-potassium")
    assert not any(key.startswith("value") for key in potassium)
    assert potassium["dataAbsentReason"]["coding"][0]["code"] == "error"


def test_result_statuses() -> None:
    labs = {r["id"]: r["status"] for r in search("Observation", ("category", "laboratory"))}
    assert labs["us-core-obs-hct"] == "corrected"
    assert labs["us-core-obs-glucose"] == "amended"
    assert labs["us-core-obs-culture"] == "preliminary"
    assert labs["us-core-obs-a1c-2"] == "cancelled"
    a1c = search("Observation", ("code", "4548-4"), ("_sort", "-date"))
    assert [(r["status"], r["valueQuantity"]["value"]) for r in a1c] == [
        ("cancelled", 9.9),  # newest, and must not show
        ("final", 7.1),
    ]
    assert ids(search("Observation", ("code", "4548-4"), ("status", "final"))) == [
        "us-core-obs-a1c-1"
    ]


# --- us-core: medications -----------------------------------------------------------------


def test_as_needed_boolean_without_text() -> None:
    order = one("MedicationRequest", "us-core-medreq-prn")
    assert (order["status"], order["intent"]) == ("active", "order")
    assert order["dosageInstruction"] == [{"asNeededBoolean": True}]
    assert order["medicationCodeableConcept"]["coding"][0]["code"] == "313782"


def test_as_needed_for_pain_without_text() -> None:
    dosage = one("MedicationRequest", "us-core-medreq-prn-pain")["dosageInstruction"][0]
    assert "text" not in dosage
    assert dosage["asNeededCodeableConcept"]["coding"][0]["code"] == "22253000"
    assert dosage["asNeededCodeableConcept"]["coding"][0]["display"] == "Pain"
    assert "text" not in dosage["asNeededCodeableConcept"]


def test_structured_dosage_without_text() -> None:
    dosage = one("MedicationRequest", "us-core-medreq-structured")["dosageInstruction"][0]
    assert "text" not in dosage
    assert "asNeededBoolean" not in dosage
    assert "asNeededCodeableConcept" not in dosage
    assert dosage["timing"]["repeat"] == {"frequency": 2, "period": 1, "periodUnit": "d"}
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 1
    assert dosage["doseAndRate"][0]["doseQuantity"]["unit"] == "tablet"


def test_contained_medication() -> None:
    order = one("MedicationRequest", "us-core-medreq-contained")
    assert order["medicationReference"] == {"reference": "#med1"}
    assert "medicationCodeableConcept" not in order
    (contained,) = order["contained"]
    assert (contained["resourceType"], contained["id"]) == ("Medication", "med1")
    coding = contained["code"]["coding"][0]
    assert (coding["system"], coding["code"]) == (synthetic.RXNORM, "617310")
    assert coding["display"]
    found = search("MedicationRequest", ("_include", "MedicationRequest:medication"))
    assert "med1" not in ids(STORE.includes(found, ["MedicationRequest:medication"]))


def test_referenced_medication_is_readable_and_included() -> None:
    order = one("MedicationRequest", "us-core-medreq-referenced")
    assert order["medicationReference"] == {"reference": "Medication/us-core-med-1"}
    medication = one("Medication", "us-core-med-1")
    coding = medication["code"]["coding"][0]
    assert (coding["system"], coding["code"]) == (synthetic.RXNORM, "197361")
    assert coding["display"] == "amlodipine 5 MG Oral Tablet"
    found = search("MedicationRequest", ("_include", "MedicationRequest:medication"))
    assert ids(STORE.includes(found, ["MedicationRequest:medication"])) == ["us-core-med-1"]
    assert ids(STORE.search("Medication", [("_id", "us-core-med-1")])) == ["us-core-med-1"]


def test_one_stopped_order_beside_the_active_ones() -> None:
    statuses = {r["id"]: r["status"] for r in search("MedicationRequest")}
    assert statuses.pop("us-core-medreq-stopped") == "stopped"
    assert set(statuses.values()) == {"active"}
    assert len(statuses) == 5


# --- us-core: history with partial dates ----------------------------------------------------


def test_conditions_with_partial_dates() -> None:
    conditions = {r["id"]: r for r in search("Condition")}
    active, resolved = conditions["us-core-cond-1"], conditions["us-core-cond-2"]
    assert active["onsetDateTime"] == "2019"
    assert active["clinicalStatus"]["coding"][0]["code"] == "active"
    assert resolved["onsetDateTime"] == "2021-03"
    assert resolved["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert all(len(c["recordedDate"]) in (4, 7) for c in conditions.values())
    assert ids(search("Condition", ("clinical-status", "active"))) == ["us-core-cond-1"]


def test_allergy_immunization_and_encounter_dates() -> None:
    (allergy,) = search("AllergyIntolerance")
    assert allergy["recordedDate"] == "2015"
    (immunization,) = search("Immunization")
    assert immunization["occurrenceDateTime"] == "2012-10"
    encounters = search("Encounter", ("_sort", "date"))
    assert encounters[0]["period"] == {"start": "2022-02-03"}
    assert all("display" not in e["class"] for e in encounters)
    assert all(e["class"]["code"] == "AMB" for e in encounters)


def test_sort_by_date_copes_with_partial_dates_in_every_type() -> None:
    for rtype in (
        "Observation",
        "Condition",
        "Encounter",
        "AllergyIntolerance",
        "Immunization",
        "MedicationRequest",
        "DiagnosticReport",
    ):
        for patient in ("us-core", "partial-dates"):
            newest_first = search(rtype, ("_sort", "-date"), patient=patient)
            oldest_first = search(rtype, ("_sort", "date"), patient=patient)
            assert ids(newest_first) == ids(oldest_first)[::-1], (rtype, patient)
    observations = search("Observation", ("category", "vital-signs"), ("_sort", "-date"))
    assert ids(observations)[-1] == "us-core-obs-bp-1"  # `2021-03`, the oldest


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ([("date", "2021-03")], ["us-core-obs-bp-1"]),
        ([("date", "2021")], ["us-core-obs-bp-1"]),
        ([("date", "eq2021-03-04")], []),  # a day does not contain the whole month
        ([("date", "ge2021-03-15"), ("date", "lt2022")], ["us-core-obs-bp-1"]),
        ([("date", "gt2021-03-10"), ("date", "lt2021-06")], ["us-core-obs-bp-1"]),
        ([("date", "le2021-03-02"), ("code", "55284-4")], ["us-core-obs-bp-1"]),
        ([("date", "lt2021-03-01"), ("code", "55284-4")], []),
    ],
)
def test_date_search_treats_a_partial_date_as_its_range(
    params: list[tuple[str, str]], found: list[str]
) -> None:
    assert ids(search("Observation", *params)) == found


@pytest.mark.parametrize(
    ("target", "wanted", "hit"),
    [
        ("2019", "2019", True),
        ("2019", "2019-06", False),
        ("2019", "ne2019-06", True),
        ("2019", "ge2019-06", True),
        ("2019", "le2019-06", True),
        ("2019", "gt2019-06", True),
        ("2019", "lt2019-06", True),
        ("2019", "gt2019", False),
        ("2019", "lt2019", False),
        ("2019", "ge2020", False),
        ("2019", "le2018", False),
    ],
)
def test_date_matches_on_a_range(target: str, wanted: str, hit: bool) -> None:
    start, end = parse_instant(target)
    assert date_matches(start, wanted, end) is hit


# --- the other two patients ---------------------------------------------------------------


def test_partial_dates_patient_is_deceased_with_year_and_month_dates() -> None:
    patient = one("Patient", "partial-dates")
    assert patient["birthDate"] == "1940"
    assert patient["deceasedDateTime"] == "2020-05"
    records = [
        r
        for rtype in ("Encounter", "Condition", "Observation", "Immunization", "MedicationRequest")
        for r in search(rtype, patient="partial-dates")
    ]
    dates = [
        r.get("effectiveDateTime")
        or r.get("onsetDateTime")
        or r.get("occurrenceDateTime")
        or r.get("authoredOn")
        or r["period"]["start"]
        for r in records
    ]
    assert len(dates) >= 5
    assert all(len(d) in (4, 7) for d in dates)
    assert ids(search("Condition", ("date", "1998"), patient="partial-dates")) == [
        "partial-dates-cond-1"
    ]


def test_replaced_record_points_at_its_replacement() -> None:
    patient = one("Patient", "replaced-record")
    assert patient["active"] is False
    assert patient["link"] == [{"other": {"reference": "Patient/us-core"}, "type": "replaced-by"}]
    assert patient["name"]
    assert one("Patient", "us-core")["active"] is True
    for rtype in ("Observation", "Condition", "MedicationRequest", "Encounter"):
        assert search(rtype, patient="replaced-record") == []
