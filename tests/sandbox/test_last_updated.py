"""`meta.versionId` / `meta.lastUpdated` on every stored resource, `FhirStore.update`, and
the `_lastUpdated` search (FHIR R4 search 3.1.1.4.4 prefixes over an instant), which a
client without Bulk Data `$export` uses for incremental extraction."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.fhir_search import Resource, SearchError, matches, parse_instant
from sandbox.fhir_store import FhirStore, get_store
from sandbox.synthetic.groups import FIXED_LAST_UPDATED
from tests.sandbox.test_bulk_export import issue_token


def stored(store: FhirStore, pid: str) -> Resource:
    found = store.get("Patient", pid)
    assert found is not None
    return found


def patient(pid: str, **meta: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **({"meta": meta} if meta else {})}


def test_put_fills_version_and_a_fixed_instant() -> None:
    store = FhirStore(
        [patient("a"), patient("b", versionId="7", lastUpdated="2025-05-05T00:00:00Z")]
    )
    assert stored(store, "a")["meta"] == {
        "versionId": "1",
        "lastUpdated": FIXED_LAST_UPDATED,
    }
    assert stored(store, "b")["meta"]["versionId"] == "7"


def test_update_stores_the_next_version_now() -> None:
    store = FhirStore([patient("a")])
    original = stored(store, "a")
    changed = store.update({**original, "gender": "female"})
    assert changed["meta"]["versionId"] == "2"
    assert parse_instant(changed["meta"]["lastUpdated"]) > parse_instant(FIXED_LAST_UPDATED)
    assert changed["meta"]["lastUpdated"].endswith("Z")
    assert len(changed["meta"]["lastUpdated"]) == len("2026-01-01T00:00:00.000Z")
    assert store.get("Patient", "a") == changed
    assert original["meta"]["versionId"] == "1"  # the caller's copy is not touched
    assert store.update(changed)["meta"]["versionId"] == "3"
    store.delete("Patient", "a")
    assert store.get("Patient", "a") is None


@pytest.mark.parametrize(
    ("wanted", "hit"),
    [
        ("gt2026-01-01T00:00:00Z", False),
        ("ge2026-01-01T00:00:00Z", True),
        ("eq2026-01-01T00:00:00Z", True),
        ("le2026-01-01T00:00:00Z", True),
        ("lt2026-01-01T00:00:00Z", False),
        ("gt2025-12-31T23:59:59.999Z", True),
        ("lt2026-01-01T00:00:00.001Z", True),
        ("gt2026-01-01T01:00:00+02:00", True),  # 2025-12-31T23:00Z
    ],
)
def test_last_updated_prefixes(wanted: str, hit: bool) -> None:
    resource = stored(FhirStore([patient("a")]), "a")
    assert matches(resource, "_lastUpdated", wanted) is hit


def test_last_updated_needs_a_valid_value() -> None:
    with pytest.raises(SearchError):
        matches(patient("a"), "_lastUpdated", "gtnever")


def test_incremental_search_over_http(sandbox) -> None:
    base = sandbox.base()
    headers = {"Authorization": f"Bearer {issue_token(base)}"}
    store = get_store()
    original = store.get("Condition", store.all_of("Condition")[0]["id"])
    assert original is not None

    def search(rtype: str, **params: str) -> dict:
        response = sandbox.http.get(f"{base}/{rtype}", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    before = search("Condition", _lastUpdated=f"gt{FIXED_LAST_UPDATED}", _count="5")
    assert before["total"] == 0
    try:
        changed = store.update(original)
        after = search("Condition", _lastUpdated=f"gt{FIXED_LAST_UPDATED}")
        assert [e["resource"]["id"] for e in after["entry"]] == [original["id"]]
        moment = changed["meta"]["lastUpdated"]
        assert search("Condition", _lastUpdated=f"gt{moment}")["total"] == 0
        assert search("Condition", _lastUpdated=f"ge{moment}")["total"] == 1
    finally:
        store.put(original)
    everyone = search("Patient", _lastUpdated=f"le{FIXED_LAST_UPDATED}", _count="0")
    assert everyone["total"] == len(store.patient_ids())
    for rtype in ("Practitioner", "Medication", "Group", "Observation", "DocumentReference"):
        assert search(rtype, _lastUpdated="gt2000-01-01T00:00:00Z", _count="1")["total"] > 0
