"""Other products' calls: client credentials issued here, bound to tenants and scopes, reading
the canonical store that a real extraction from the sandbox filled (tenant A) and that holds a
Synthea patient (tenant B)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from smartapp.api_clients import credentials
from smartapp.observability import metrics
from smartapp.summary.sections import section_names
from tests.api.clients import call, issued, token_for

pytestmark = [pytest.mark.postgres]


def test_a_client_reads_its_tenants_store(tenants) -> None:
    _, token = issued(("tenant-a",))
    answer = call(token, "/tenants/tenant-a/patients/pat-03/summary")
    assert answer.status_code == 200, answer.content[:300]
    body = answer.json()
    assert body["patient_id"] == "pat-03"
    for section in body["sections"].values():
        assert section["provenance"]["source"] == "store"
        assert section["provenance"]["connection"] == "tenant-a"
    assert body["sections"]["demographics"]["items"][0]["name"]
    assert body["sections"]["labs"]["items"]
    assert body["sections"]["labs"]["provenance"]["retrieved_at"]
    again = Client().get(
        "/api/v1/tenants/tenant-a/patients/pat-03/summary",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IF_NONE_MATCH=answer["ETag"],
    )
    assert again.status_code == 304


def test_a_client_of_tenant_a_gets_404_for_tenant_b(tenants) -> None:
    _, token = issued(("tenant-a",))
    for path in (
        f"/tenants/tenant-a/patients/{tenants.b_patient}/summary",  # B's patient, A's tenant
        f"/tenants/tenant-b/patients/{tenants.b_patient}/summary",  # B's tenant
        "/tenants/tenant-b/patients",
        "/tenants/no-such-tenant/patients",
    ):
        answer = call(token, path)
        assert answer.status_code == 404, path
        assert answer.json()["code"] == "not_found"
        assert tenants.b_patient not in answer.content.decode()
    _, b_token = issued(("tenant-b",))
    assert (
        call(b_token, f"/tenants/tenant-b/patients/{tenants.b_patient}/summary").status_code == 200
    )
    assert call(b_token, "/tenants/tenant-b/patients/pat-03/summary").status_code == 404


def test_the_store_summary_is_the_launch_summary(tenants, launched) -> None:
    """One mapping: the same patient read live for a launch and from the store agree."""
    live = launched(patient="pat-03").get("/summary").json()["sections"]
    _, token = issued(("tenant-a",))
    stored = call(token, "/tenants/tenant-a/patients/pat-03/summary").json()["sections"]
    for name in section_names():
        # The same items; results of the same date may come in another order (the EHR's
        # `_sort=-date` leaves ties in its own order, the store breaks them by id).
        assert sorted(map(json.dumps, stored[name]["items"])) == sorted(
            map(json.dumps, live[name]["items"])
        ), name
        assert stored[name]["status"] == live[name]["status"], name


def test_patients_page_by_cursor(tenants) -> None:
    _, token = issued(("tenant-a",))
    whole = call(token, "/tenants/tenant-a/patients", limit="200").json()
    ids = [p["id"] for p in whole["patients"]]
    assert "pat-03" in ids
    assert whole["page"]["total"] == len(ids)
    walked, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = call(token, "/tenants/tenant-a/patients", **params).json()
        walked += [p["id"] for p in page["patients"]]
        cursor = page["page"]["next_cursor"]
        if cursor is None:
            break
    assert walked == ids


def test_scopes_limit_what_a_client_reads(tenants) -> None:
    _, token = issued(("tenant-a",), scopes=("results.read",))
    assert call(token, "/tenants/tenant-a/patients/pat-03/results").status_code == 200
    refused = call(token, "/tenants/tenant-a/patients/pat-03/summary")
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert "insufficient_scope" in refused["WWW-Authenticate"]
    meds = call(token, "/tenants/tenant-a/patients/pat-03/medications")
    assert meds.status_code == 403


def test_results_and_medications_from_the_store(tenants) -> None:
    _, token = issued(("tenant-b",))
    base = f"/tenants/tenant-b/patients/{tenants.b_patient}"
    results = call(token, base + "/results", category="vital-signs").json()
    assert results["labs"] == []
    kinds = {v["kind"] for v in results["vitals"]}
    assert "blood-pressure" in kinds, kinds  # Synthea's BP panel (85354-9), read as a panel
    meds = call(token, base + "/medications").json()
    assert meds["section"]["provenance"]["source"] == "store"


def test_a_revoked_client_is_refused_at_once(tenants) -> None:
    client, token = issued(("tenant-a",))
    assert call(token, "/tenants/tenant-a/patients").status_code == 200
    credentials.revoke(client)
    answer = call(token, "/tenants/tenant-a/patients")
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"
    assert answer["WWW-Authenticate"].startswith("Bearer")


def test_a_rotated_secret_ends_the_old_tokens(tenants) -> None:
    client, token = issued(("tenant-a",))
    secret = credentials.rotate(client)
    assert call(token, "/tenants/tenant-a/patients").status_code == 401
    fresh = token_for(client.client_id, secret)
    assert call(fresh, "/tenants/tenant-a/patients").status_code == 200


def test_rate_limit_answers_429_with_retry_after(tenants) -> None:
    client, token = issued(("tenant-a",), rate_limit=3)
    counted = metrics.API_CALLS.labels(client.client_id, "rate_limited")
    before = counted._value.get()
    statuses = [call(token, "/tenants/tenant-a/patients").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = call(token, "/tenants/tenant-a/patients")
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert counted._value.get() == before + 2  # metrics per client


def test_no_token_no_data(tenants) -> None:
    for authorization in (None, "Bearer nonsense", "Basic x", "Bearer "):
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        answer = Client().get("/api/v1/tenants/tenant-a/patients/pat-03/summary", **headers)  # type: ignore[arg-type]
        assert answer.status_code == 401
        assert answer["Content-Type"] == "application/problem+json"


def test_every_service_call_is_on_the_audit_trail(tenants) -> None:
    from smartapp.audit.records import AccessRecord

    client, token = issued(("tenant-a",), scopes=("summary.read", "patients.read"))
    b = tenants.b_patient
    call(token, "/tenants/tenant-a/patients/pat-03/summary")
    call(token, f"/tenants/tenant-a/patients/{b}/summary")  # not this tenant's patient
    call(token, f"/tenants/tenant-b/patients/{b}/summary")  # not this client's tenant
    call(token, "/tenants/tenant-a/patients/pat-03/results")  # no results.read
    listed = call(token, "/tenants/tenant-a/patients", limit="3").json()["patients"]
    rows = AccessRecord.objects.filter(actor=f"api-client:{client.client_id}").order_by("seq")
    assert [(r.what, r.connection, r.patient_id, r.outcome) for r in rows] == [
        ("api:summary", "tenant-a", "pat-03", "success"),
        ("api:summary", "tenant-a", b, "not_found"),
        ("api:summary", "", b, "not_found"),
        ("api:results", "tenant-a", "pat-03", "failed:insufficient_scope"),
        *[("api:patients", "tenant-a", p["id"], "success") for p in listed],
    ]
    assert rows[0].sections == list(section_names())


@pytest.mark.parametrize("patient", ["x" * 65, "a b", "x" * 5000])
def test_a_patient_id_that_is_no_fhir_id_is_a_404(tenants, patient) -> None:
    _, token = issued(("tenant-a",))
    answer = call(token, f"/tenants/tenant-a/patients/{patient}/summary")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_the_database_fences_every_store_query(tenants) -> None:
    """Row level security holds whatever a query asks, on every thread a section uses: tenant
    A's rows asked for inside tenant B's session (a filter bug) come back empty."""
    from django.db import connection

    from smartapp.warehouse import api_access
    from smartapp.warehouse.summary import store_summary

    if connection.vendor != "postgresql":
        pytest.skip("row level security is PostgreSQL's")
    assert any(s.items for s in store_summary(tenants.a.id, "pat-03").sections.values())
    with api_access.tenant_session([tenants.b.id]):
        fenced = store_summary(tenants.a.id, "pat-03")
    leaked = {name: len(s.items) for name, s in fenced.sections.items() if s.items}
    assert leaked == {}


@pytest.mark.parametrize("header", ["{t}", "Bearer:{t}", "Token {t}", "bearer  {t}"])
def test_a_malformed_authorization_header_never_logs_the_token(
    tenants, header, json_logs, settings
) -> None:
    settings.DEBUG = True  # ninja's own bearer parser logs the whole header when DEBUG is on
    _, token = issued(("tenant-a",))
    value = header.format(t=token)
    answer = Client().get("/api/v1/tenants/tenant-a/patients", HTTP_AUTHORIZATION=value)
    expected = 200 if header == "bearer  {t}" else 401  # the scheme is case-insensitive
    assert answer.status_code == expected
    assert token not in json_logs.text
