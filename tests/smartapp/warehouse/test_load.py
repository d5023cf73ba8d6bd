"""load / reconcile / resolved_patient_id: newest wins, idempotent, soft deletes only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from smartapp.warehouse.canonical import CanonicalRow, canonical_row
from smartapp.warehouse.load import (
    LoadResult,
    Provenance,
    forget_seen,
    load,
    reconcile,
    resolved_patient_id,
    without_credentials,
)
from smartapp.warehouse.models import (
    Condition,
    Medication,
    Observation,
    Patient,
    PatientLink,
    SeenResource,
)

pytestmark = pytest.mark.django_db

A = UUID("00000000-0000-0000-0000-00000000000a")
B = UUID("00000000-0000-0000-0000-00000000000b")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def prov(
    conn: UUID = A, job: UUID | None = None, url: str = "https://ehr/Obs.ndjson"
) -> Provenance:
    return Provenance(conn, job or uuid4(), T0, url, "system/Observation.rs")


def obs(rid: str = "o1", value: float = 1.0, lu: str | None = None, v: str | None = None) -> Any:
    meta = {k: x for k, x in (("lastUpdated", lu), ("versionId", v)) if x is not None}
    return canonical_row(
        {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]},
            "valueQuantity": {"value": value, "unit": "mg"},
            **({"meta": meta} if meta else {}),
        }
    )


def patient(rid: str, *links: tuple[str, str], lu: str | None = None) -> CanonicalRow:
    return canonical_row(
        {
            "resourceType": "Patient",
            "id": rid,
            "gender": "male",
            **({"meta": {"lastUpdated": lu}} if lu else {}),
            "link": [{"other": {"reference": f"Patient/{o}"}, "type": t} for o, t in links],
        }
    )


def rows(model: Any) -> list[dict]:
    return [
        model_to_dict(r) | {"f": r.first_loaded_at, "u": r.updated_at}
        for r in model.objects.order_by("id")
    ]


def test_insert_then_unchanged_then_update_counts() -> None:
    first = load([obs("o1"), obs("o2")], prov(), track_seen=False)
    assert first == LoadResult(inserted=2, updated=0, unchanged=0)
    assert load([obs("o1"), obs("o2")], prov(), track_seen=False) == LoadResult(0, 0, 2)
    newer = obs("o1", 2.0, lu="2024-02-01T00:00:00Z")
    assert load([newer, obs("o3")], prov(), track_seen=False) == LoadResult(1, 1, 0)
    stored = Observation.objects.get(resource_id="o1")
    assert str(stored.value_num).startswith("2")
    assert (stored.patient_id, stored.code, stored.value_unit) == ("p1", "1-1", "mg")
    assert stored.source["valueQuantity"]["value"] == 2.0


def test_reloading_the_same_resources_changes_nothing_at_all() -> None:
    batch = [obs("o1", lu="2024-01-01T00:00:00Z", v="1"), patient("p1", ("p2", "replaced-by"))]
    load(batch, prov(), track_seen=False)
    before = rows(Observation), rows(Patient), list(PatientLink.objects.values())
    assert load(batch, prov(job=uuid4()), track_seen=False) == LoadResult(0, 0, 2)
    assert (rows(Observation), rows(Patient), list(PatientLink.objects.values())) == before


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"lu": "2024-01-01T00:00:00Z"}, {"lu": "2024-01-02T00:00:00Z"}),
        ({"lu": "2024-01-01T00:00:00Z", "v": "9"}, {"lu": "2024-01-01T00:00:01Z", "v": "2"}),
        ({"lu": "2024-01-01T00:00:00Z", "v": "9"}, {"lu": "2024-01-01T00:00:00Z", "v": "10"}),
        ({}, {"lu": "2024-01-01T00:00:00Z"}),
        ({}, {"v": "1"}),
        ({"v": "1"}, {"v": "2"}),
    ],
)
def test_newest_wins_in_both_orders(old: dict, new: dict) -> None:
    load([obs("o1", 1.0, **old)], prov(), track_seen=False)
    assert load([obs("o1", 2.0, **new)], prov(), track_seen=False) == LoadResult(0, 1, 0)
    assert load([obs("o1", 3.0, **old)], prov(), track_seen=False) == LoadResult(0, 0, 1)
    assert float(Observation.objects.get().value_num or 0) == 2.0


def test_equal_metadata_is_unchanged_and_no_metadata_lets_the_content_decide() -> None:
    load([obs("o1", 1.0, lu="2024-01-01T00:00:00Z", v="1")], prov(), track_seen=False)
    same_meta = obs("o1", 5.0, lu="2024-01-01T00:00:00Z", v="1")
    assert load([same_meta], prov(), track_seen=False) == LoadResult(0, 0, 1)
    load([obs("o2", 1.0)], prov(), track_seen=False)
    assert load([obs("o2", 7.0)], prov(), track_seen=False) == LoadResult(0, 1, 0)


def test_duplicate_ids_in_one_batch_keep_the_newest() -> None:
    batch = [
        obs("o1", 1.0, lu="2024-01-01T00:00:00Z"),
        obs("o1", 3.0, lu="2024-03-01T00:00:00Z"),
        obs("o1", 2.0, lu="2024-02-01T00:00:00Z"),
    ]
    assert load(batch, prov(), track_seen=True) == LoadResult(1, 0, 2)
    assert float(Observation.objects.get().value_num or 0) == 3.0


def test_connections_are_separate_keys_and_provenance_is_recorded() -> None:
    job = uuid4()
    url = "https://u:pw@files.example/x.ndjson?X-Amz-Signature=abc&part=2"
    load([obs("o1")], prov(A, job, url), track_seen=False)
    assert load([obs("o1")], prov(B), track_seen=False) == LoadResult(1, 0, 0)
    row = Observation.objects.get(connection_id=A)
    assert (row.job_id, row.retrieved_at, row.granted_scope) == (job, T0, "system/Observation.rs")
    assert row.source_url == "https://files.example/x.ndjson?X-Amz-Signature=REDACTED&part=2"


def test_without_credentials_keeps_a_search_url_readable() -> None:
    url = "https://ehr/fhir/Observation?patient=1&_count=50&access_token=s3cret"
    assert without_credentials(url) == (
        "https://ehr/fhir/Observation?patient=1&_count=50&access_token=REDACTED"
    )


def test_reconcile_marks_only_unseen_rows_of_that_connection_and_type() -> None:
    load([obs("o1"), obs("o2")], prov(A), track_seen=False)
    load([obs("o1"), obs("o2")], prov(B), track_seen=False)
    cond = canonical_row({"resourceType": "Condition", "id": "c1"})
    load([cond], prov(A), track_seen=False)
    job = uuid4()
    load([obs("o1")], prov(A, job), track_seen=True)
    assert SeenResource.objects.filter(job_id=job).count() == 1
    at = datetime(2024, 5, 5, tzinfo=UTC)
    assert reconcile(A, job, ["Observation"], at=at) == {"Observation": 1}
    deleted = Observation.objects.filter(deleted_at_source__isnull=False)
    assert [(r.connection_id, r.resource_id, r.deleted_at_source) for r in deleted] == [
        (A, "o2", at)
    ]
    assert Condition.objects.get().deleted_at_source is None
    assert not SeenResource.objects.exists()
    assert Observation.objects.count() == 4  # soft delete only
    assert reconcile(A, uuid4(), ["Observation"], at=at) == {"Observation": 1}  # o1, not o2 again


def test_a_row_deleted_at_source_comes_back_when_loaded_again() -> None:
    load([obs("o1", lu="2024-02-01T00:00:00Z")], prov(), track_seen=False)
    reconcile(A, uuid4(), ["Observation"], at=T0)
    older = obs("o1", 9.0, lu="2024-01-01T00:00:00Z")
    assert load([older], prov(), track_seen=False) == LoadResult(0, 1, 0)
    assert Observation.objects.get().deleted_at_source is None


def test_forget_seen_and_unknown_types() -> None:
    job = uuid4()
    load(
        [obs("o1"), canonical_row({"resourceType": "Medication", "id": "m"})],
        prov(A, job),
        track_seen=True,
    )
    assert Medication.objects.get().patient_id == ""
    assert forget_seen(job) == 2
    with pytest.raises(ValueError, match="Claim"):
        reconcile(A, job, ["Claim"], at=T0)


def test_patient_links_follow_the_newest_version() -> None:
    load([patient("p1", ("p2", "replaced-by"), ("p3", "seealso"))], prov(), track_seen=False)
    assert Patient.objects.get().replaced_by == "p2"
    assert set(PatientLink.objects.values_list("other_id", "link_type")) == {
        ("p2", "replaced-by"),
        ("p3", "seealso"),
    }
    load([patient("p1", ("p4", "refer"), lu="2024-01-01T00:00:00Z")], prov(), track_seen=False)
    assert Patient.objects.get().replaced_by == ""
    assert list(PatientLink.objects.values_list("other_id", "link_type")) == [("p4", "refer")]


def _resolved_view() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patient_id, survivor_id FROM warehouse_patient_resolved"
            " WHERE connection_id = %s",
            [A.hex if connection.vendor != "postgresql" else A],
        )
        return dict(cursor.fetchall())


def test_replaced_by_chains_resolve_in_python_and_in_the_view() -> None:
    load(
        [
            patient("a", ("b", "replaced-by")),
            patient("b", ("c", "replaced-by")),
            patient("c"),
            patient("x", ("y", "replaced-by")),
            patient("y", ("z", "replaced-by")),
            patient("z", ("x", "replaced-by")),
            patient("lone", ("gone", "replaced-by")),
        ],
        prov(),
        track_seen=False,
    )
    load([patient("a")], prov(B), track_seen=False)
    expected = {"a": "c", "b": "c", "c": "c", "x": "x", "y": "x", "z": "x", "lone": "gone"}
    assert {pid: resolved_patient_id(A, pid) for pid in expected} == expected
    assert resolved_patient_id(B, "a") == "a"
    assert resolved_patient_id(A, "unknown") == "unknown"
    assert _resolved_view() == expected


def test_a_chain_longer_than_the_bound_resolves_alike_in_python_and_the_view() -> None:
    chain = [patient(f"n{i:02}", (f"n{i + 1:02}", "replaced-by")) for i in range(40)]
    load(chain, prov(), track_seen=False)
    view = _resolved_view()
    for pid in ("n00", "n05", "n20"):
        assert resolved_patient_id(A, pid) == view[pid]
    assert view["n39"] == "n40"
