"""canonical_row: each supported type's typed columns, Synthea bundles, partial and bad data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from smartapp.warehouse.canonical import (
    SUPPORTED_TYPES,
    NotCanonical,
    canonical_row,
    parse_datetime,
    patient_of,
)

SYNTHEA = sorted(Path("/work/shared/fixtures/synthea-r4").glob("*.json"))


def _subject(kind: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": kind, "id": "r1", "subject": {"reference": "Patient/p1"}, **fields}


def _cc(system: str, code: str, display: str | None = None, text: str | None = None) -> dict:
    coding: dict[str, str] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": text} if text else {})}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019", datetime(2019, 1, 1, tzinfo=UTC)),
        ("2021-03", datetime(2021, 3, 1, tzinfo=UTC)),
        ("2021-03-04", datetime(2021, 3, 4, tzinfo=UTC)),
        ("2021-03-04T05:06:07Z", datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)),
        (
            "2021-03-04T05:06:07.123+02:00",
            datetime(2021, 3, 4, 5, 6, 7, 123000, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2021-03-04T05:06:07", datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2021-02-30", None),
        ("2021-13", None),
        ("yesterday", None),
        ("", None),
        (20210304, None),
        (None, None),
        ("2021-03-04T25:00:00Z", None),
    ],
)
def test_dates_partial_full_and_garbage(value: Any, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


def test_observation_quantity_code_and_times() -> None:
    row = canonical_row(
        _subject(
            "Observation",
            status="final",
            meta={"versionId": "3", "lastUpdated": "2024-01-02T03:04:05Z"},
            code=_cc("http://loinc.org", "4548-4", text="HbA1c"),
            effectivePeriod={"start": "2024-01-01", "end": "2024-01-02T00:00:00Z"},
            valueQuantity={"value": 6.5, "unit": "%", "code": "%"},
        )
    )
    assert (row.resource_type, row.resource_id, row.patient_id) == ("Observation", "r1", "p1")
    assert (row.version_id, row.version_number) == ("3", 3)
    assert row.last_updated == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert (row.status, row.code_system, row.code) == ("final", "http://loinc.org", "4548-4")
    assert row.code_display == "HbA1c"  # no coding display: the concept's text
    assert row.effective_start == datetime(2024, 1, 1, tzinfo=UTC)
    assert row.effective_end == datetime(2024, 1, 2, tzinfo=UTC)
    assert (row.value_num, row.value_unit) == (Decimal("6.5"), "%")


@pytest.mark.parametrize("bad", ["NaN", float("inf"), float("nan"), True, "abc", 1e40, None])
def test_observation_non_finite_or_odd_values_are_no_number(bad: Any) -> None:
    row = canonical_row(_subject("Observation", valueQuantity={"value": bad, "code": "mg"}))
    assert row.value_num is None
    assert row.value_unit == "mg"


def test_observation_text_values_and_issued_fallback() -> None:
    coded = canonical_row(
        _subject(
            "Observation",
            issued="2020-05-06T07:08:09+00:00",
            valueCodeableConcept=_cc("http://snomed.info/sct", "260385009", "Negative"),
        )
    )
    assert coded.value_text == "Negative"
    assert coded.effective_start == datetime(2020, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert canonical_row(_subject("Observation", valueString="see note")).value_text == "see note"


@pytest.mark.parametrize(
    ("resource", "status", "code", "start"),
    [
        (
            _subject(
                "Condition",
                clinicalStatus=_cc("x", "resolved"),
                code=_cc("http://snomed.info/sct", "44054006", "Diabetes"),
                recordedDate="2018-06",
                abatementDateTime="2020",
            ),
            "resolved",
            "44054006",
            datetime(2018, 6, 1, tzinfo=UTC),
        ),
        (
            _subject(
                "Condition", verificationStatus=_cc("x", "entered-in-error"), code=_cc("s", "c")
            ),
            "entered-in-error",
            "c",
            None,
        ),
        (
            _subject(
                "MedicationRequest",
                status="active",
                medicationCodeableConcept=_cc("rxnorm", "310325", "ferrous"),
                authoredOn="2019-02-03",
            ),
            "active",
            "310325",
            datetime(2019, 2, 3, tzinfo=UTC),
        ),
        (
            _subject(
                "MedicationStatement",
                status="completed",
                medicationCodeableConcept=_cc("rxnorm", "1"),
                effectivePeriod={"start": "2019-01-01"},
            ),
            "completed",
            "1",
            datetime(2019, 1, 1, tzinfo=UTC),
        ),
        (
            {
                "resourceType": "AllergyIntolerance",
                "id": "a",
                "patient": {"reference": "Patient/p1"},
                "clinicalStatus": _cc("x", "active"),
                "code": _cc("sct", "91936005", "Penicillin"),
                "onsetDateTime": "2001",
            },
            "active",
            "91936005",
            datetime(2001, 1, 1, tzinfo=UTC),
        ),
        (
            {
                "resourceType": "Immunization",
                "id": "i",
                "patient": {"reference": "https://ehr.example/fhir/Patient/p1"},
                "status": "completed",
                "vaccineCode": _cc("cvx", "140"),
                "occurrenceDateTime": "2011-07-11T16:42:48+00:00",
            },
            "completed",
            "140",
            datetime(2011, 7, 11, 16, 42, 48, tzinfo=UTC),
        ),
        (
            _subject(
                "Encounter",
                status="finished",
                **{"class": {"system": "v3", "code": "AMB", "display": "ambulatory"}},
                period={"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T11:00:00Z"},
            ),
            "finished",
            "AMB",
            datetime(2020, 1, 1, 10, tzinfo=UTC),
        ),
        (
            _subject(
                "DiagnosticReport",
                status="final",
                code=_cc("loinc", "51990-0"),
                effectiveDateTime="2011-07-11",
            ),
            "final",
            "51990-0",
            datetime(2011, 7, 11, tzinfo=UTC),
        ),
        (
            _subject(
                "DocumentReference",
                status="current",
                type=_cc("loinc", "34117-2"),
                date="2022-02-02T02:02:02Z",
            ),
            "current",
            "34117-2",
            datetime(2022, 2, 2, 2, 2, 2, tzinfo=UTC),
        ),
    ],
)
def test_each_type_has_its_status_code_and_start(
    resource: dict, status: str, code: str, start: datetime | None
) -> None:
    row = canonical_row(resource)
    assert (row.status, row.code, row.effective_start, row.patient_id) == (
        status,
        code,
        start,
        "p1",
    )


def test_encounter_type_wins_over_class_and_condition_abatement_is_the_end() -> None:
    encounter = _subject(
        "Encounter", type=[_cc("sct", "185347001", "Problem")], **{"class": {"code": "AMB"}}
    )
    assert canonical_row(encounter).code == "185347001"
    condition = _subject("Condition", onsetDateTime="2019", abatementDateTime="2020-06")
    assert canonical_row(condition).effective_end == datetime(2020, 6, 1, tzinfo=UTC)


def test_medication_has_no_patient_and_a_referenced_medication_keeps_its_display() -> None:
    med = canonical_row({"resourceType": "Medication", "id": "m", "code": _cc("rx", "42")})
    assert (med.patient_id, med.code, med.effective_start) == (None, "42", None)
    request = _subject("MedicationRequest", medicationReference={"display": "Aspirin"})
    assert canonical_row(request).code_display == "Aspirin"


def test_patient_columns_and_links() -> None:
    row = canonical_row(
        {
            "resourceType": "Patient",
            "id": "p1",
            "active": False,
            "gender": "female",
            "birthDate": "1970-05",
            "deceasedDateTime": "2020-01-01",
            "name": [
                {"use": "nickname", "given": ["Jo"]},
                {"use": "official", "family": "Doe", "given": ["Jane", "Q"]},
            ],
            "link": [
                {"other": {"reference": "Patient/p2"}, "type": "replaced-by"},
                {"other": {"reference": "RelatedPerson/r"}, "type": "seealso"},
                {"other": {"reference": "Patient/p3"}, "type": "seealso"},
                {"other": {"reference": "Patient/p4"}, "type": "bogus"},
                "garbage",
            ],
        }
    )
    assert (row.patient_id, row.status, row.gender) == ("p1", "inactive", "female")
    assert row.birth_date == date(1970, 5, 1)
    assert row.effective_start == datetime(1970, 5, 1, tzinfo=UTC)
    assert (row.family, row.given, row.deceased) == ("Doe", "Jane Q", True)
    assert row.links == (("p2", "replaced-by"), ("p3", "seealso"))
    assert row.replaced_by == "p2"


def test_garbage_fields_become_empty_columns_not_errors() -> None:
    row = canonical_row(
        {
            "resourceType": "Observation",
            "id": "o",
            "meta": "not an object",
            "status": 7,
            "code": {"coding": ["x", 1]},
            "subject": {"reference": 42},
            "effectiveDateTime": "soon",
            "valueQuantity": [],
        }
    )
    assert (row.patient_id, row.status, row.code, row.effective_start) == (None, "", "", None)
    assert (row.version_id, row.last_updated, row.value_num) == ("", None, None)


@pytest.mark.parametrize(
    "resource",
    [
        [],
        "Patient/1",
        {"resourceType": "Claim", "id": "c"},
        {"id": "x"},
        {"resourceType": "Patient"},
        {"resourceType": "Patient", "id": ""},
        {"resourceType": "Patient", "id": "has space"},
        {"resourceType": "Patient", "id": "x" * 65},
        {"resourceType": "Patient", "id": 5},
    ],
)
def test_not_canonical(resource: Any) -> None:
    with pytest.raises(NotCanonical) as caught:
        canonical_row(resource)
    assert isinstance(caught.value, ValueError)
    assert caught.value.reason


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"resourceType": "Patient", "id": "p9"}, "p9"),
        ({"resourceType": "Observation", "subject": {"reference": "Patient/a.b-1"}}, "a.b-1"),
        ({"resourceType": "Observation", "subject": {"reference": "Group/g"}}, None),
        ({"resourceType": "Observation", "subject": {"reference": "urn:uuid:abc"}}, None),
        ({"resourceType": "Observation", "subject": {"reference": "#contained"}}, None),
        (
            {"resourceType": "Immunization", "patient": {"reference": "http://e/fhir/Patient/z"}},
            "z",
        ),
        (
            {"resourceType": "Condition", "subject": {"reference": "Patient/q/_history/2"}},
            "q",
        ),
        ({"resourceType": "Observation", "subject": {"reference": "Patient/"}}, None),
        ({"resourceType": "Observation", "subject": {"reference": "NotPatient/x"}}, None),
        ({"resourceType": "Medication", "id": "m"}, None),
    ],
)
def test_patient_of(resource: dict, expected: str | None) -> None:
    assert patient_of(resource) == expected


def _synthea_resources() -> list[dict]:
    resources = []
    for path in SYNTHEA:
        bundle = json.loads(path.read_text())
        for entry in bundle["entry"]:
            resource = json.loads(
                # As a server exposes them: bundle-local urn:uuid references become Patient/x.
                json.dumps(entry["resource"]).replace('"urn:uuid:', '"Patient/')
            )
            if resource["resourceType"] in SUPPORTED_TYPES:
                resources.append(resource)
    return resources


@pytest.mark.skipif(not (SYNTHEA), reason="Synthea fixtures not present")
def test_every_synthea_resource_of_a_supported_type_maps() -> None:
    rows = [canonical_row(resource) for resource in _synthea_resources()]
    assert len({row.resource_type for row in rows}) >= 8
    for row in rows:
        assert row.source["id"] == row.resource_id
        if row.resource_type != "Medication":
            assert row.patient_id
            assert row.effective_start is not None, row.resource_id
        if row.resource_type != "Patient":
            assert row.code, row.resource_id
            assert row.code_system, row.resource_id
            assert row.code_display, row.resource_id
            assert row.status
    quantities = [
        row for row in rows if row.resource_type == "Observation" and "valueQuantity" in row.source
    ]
    assert quantities
    for row in quantities:
        assert row.value_num is not None
        assert row.value_unit
    patients = [row for row in rows if row.resource_type == "Patient"]
    assert all(p.gender and p.birth_date and p.family and p.given for p in patients)
