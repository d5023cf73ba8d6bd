"""The browser's calls: the launch's cookie plus `X-CSRF: 1`, same origin, no token out."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings

from smartapp.audit.records import AccessRecord
from smartapp.models import Launch

pytestmark = [pytest.mark.postgres]


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith(f"#{code}")
    return body


def test_summary_is_the_contract_as_json_with_an_etag(launched) -> None:
    app = launched()
    answer = app.get("/summary")
    assert answer.status_code == 200, answer.content[:300]
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    assert body["patient_id"] == "pat-03"
    sections = body["sections"]
    assert list(sections) == [
        "demographics", "problems", "medications", "allergies", "immunizations",
        "vitals", "labs", "encounters", "documents",
    ]  # fmt: skip
    assert sections["demographics"]["items"][0]["name"]
    for section in sections.values():
        assert section["provenance"]["source"] == "ehr"
        assert section["provenance"]["connection"] == app.launch.connection.slug
        if section["status"] in ("ok", "empty", "partial"):
            assert section["provenance"]["retrieved_at"]
    # The same answer again: 304 with no body for a client that kept the ETag.
    again = app.get("/summary", HTTP_IF_NONE_MATCH=answer["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == answer["ETag"]
    assert "Content-Type" not in again
    assert app.get("/summary", HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_CSRF": "0"}, {"HTTP_X_CSRF": "1", "HTTP_SEC_FETCH_SITE": "cross-site"}],
    ids=["missing", "wrong", "cross-site"],
)
def test_a_call_without_the_antiforgery_header_is_refused(launched, headers) -> None:
    app = launched()
    for path in ("/summary", "/patient", "/results", "/sections/problems", "/medications"):
        answer = app.client.get(app.base + path, **headers)
        problem(answer, 403, "antiforgery_header_required")
        assert b"pat-03" not in answer.content
    problem(app.client.get("/api/v1/session", **headers), 403, "antiforgery_header_required")


def test_no_cors_grant_for_another_origin(launched) -> None:
    app = launched()
    evil = "https://evil.example"
    preflight = app.client.options(
        app.base + "/summary",
        HTTP_ORIGIN=evil,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-csrf",
    )
    assert preflight.status_code >= 400
    simple = app.get("/summary", HTTP_ORIGIN=evil)
    for answer in (preflight, simple):
        granted = [h for h in answer.headers if h.lower().startswith("access-control-allow")]
        assert granted == []


def test_another_browser_gets_nothing(launched) -> None:
    app = launched()
    stranger = Client()
    answer = stranger.get(app.base + "/summary", HTTP_X_CSRF="1")
    problem(answer, 404, "launch_not_found")
    assert b"pat-03" not in answer.content
    session = stranger.get("/api/v1/session", HTTP_X_CSRF="1").json()
    assert session == {"signed_in": False, "launches": [], "sign_out_url": "/sign-out"}


def test_session_says_who_is_signed_in_and_when_it_ends(launched) -> None:
    app = launched()
    body = app.client.get("/api/v1/session", HTTP_X_CSRF="1").json()
    assert body["signed_in"] is True
    (live,) = body["launches"]
    assert live["handle"] == app.launch.handle
    assert live["patient_id"] == "pat-03"
    assert live["summary_url"] == app.base + "/summary"
    assert live["sign_out_url"] == f"/l/{app.launch.handle}/sign-out"
    assert live["ends_at"] > live["started_at"]
    # Signed out: the launch is gone from the session and its calls say so.
    assert app.client.post(live["sign_out_url"]).status_code in (302, 303)
    assert app.client.get("/api/v1/session", HTTP_X_CSRF="1").json()["signed_in"] is False
    problem(app.get("/summary"), 410, "signed_out")


def test_section_pages_walk_the_whole_list_by_cursor(launched) -> None:
    app = launched()
    whole = app.get("/sections/labs", {"limit": 200}).json()
    assert whole["page"]["next_cursor"] is None
    items = whole["section"]["items"]
    assert len(items) > 3
    assert whole["page"]["total"] == len(items)
    walked, cursor = [], None
    while True:
        page = app.get("/sections/labs", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        walked += page.json()["section"]["items"]
        cursor = page.json()["page"]["next_cursor"]
        if cursor is None:
            break
    assert walked == items
    # A cursor is bound to its query: edited, or carried to another section, it is refused.
    first = app.get("/sections/labs", {"limit": 2}).json()["page"]["next_cursor"]
    problem(app.get("/sections/labs", {"limit": 2, "cursor": first + "x"}), 400, "invalid_cursor")
    problem(app.get("/sections/problems", {"cursor": first}), 400, "invalid_cursor")


def test_bad_parameters_are_problems_not_errors(launched) -> None:
    app = launched()
    problem(app.get("/sections/labs", {"limit": 0}), 422, "invalid_request")
    problem(app.get("/sections/nonsense"), 422, "invalid_request")
    problem(app.get("/results", {"category": "imaging"}), 422, "invalid_request")
    answer = app.client.get("/api/v1/launches/nope/summary", HTTP_X_CSRF="1")
    problem(answer, 404, "launch_not_found")


def test_latest_results_by_category_and_code(launched) -> None:
    app = launched()
    both = app.get("/results").json()
    assert both["vitals"]
    assert both["labs"]
    assert [s["name"] for s in both["sections"]] == ["vitals", "labs"]
    assert all(s["items"] == [] for s in both["sections"])
    vitals = app.get("/results", {"category": "vital-signs"}).json()
    assert vitals["labs"] == []
    assert vitals["vitals"] == both["vitals"]
    code = both["vitals"][0]["code"]
    one = app.get("/results", {"code": code}).json()
    assert one["vitals"]
    assert all(v["code"] == code for v in one["vitals"])
    assert app.get("/results", {"code": "no-such-code"}).json()["vitals"] == []


def test_medications_with_status(launched) -> None:
    app = launched()
    body = app.get("/medications").json()
    assert body["medications"], body
    status = body["medications"][0]["status"]
    narrowed = app.get("/medications", {"status": status}).json()["medications"]
    assert narrowed
    assert all(m["status"] == status for m in narrowed)
    assert app.get("/medications", {"status": "no-such"}).json()["medications"] == []
    assert body["section"]["name"] == "medications"
    assert body["section"]["items"] == []


def test_patient_search_is_for_provider_launches(launched) -> None:
    app = launched()
    problem(app.get("/patients", {"name": "a"}), 403, "not_a_provider_launch")


def test_every_api_read_is_on_the_audit_trail(launched) -> None:
    app = launched()
    assert not AccessRecord.objects.filter(what="api:summary").exists()
    assert app.get("/summary").status_code == 200
    record = AccessRecord.objects.get(what="api:summary")
    assert record.patient_id == "pat-03"
    assert record.outcome == "success"
    assert record.launch_id == Launch.objects.get().id


@override_settings(API_V1_SUNSET="2027-12-31")
def test_a_sunset_v1_says_so_on_every_answer(launched) -> None:
    app = launched()
    for answer in (app.get("/summary"), app.client.get(app.base + "/summary")):
        assert answer["Deprecation"].startswith("@")
        assert answer["Sunset"] == "Fri, 31 Dec 2027 00:00:00 GMT"


def test_patient_search_pages_a_provider_launchs_matches(connect, browser) -> None:
    from portal import search
    from tests.portal.test_patient_search import matching, provider

    launch = provider(connect, browser)
    base = f"/api/v1/launches/{launch.handle}/patients"
    seen: list[str] = []
    cursor = None
    for _ in range(search.MAX_PAGES):
        params = {"name": "a", **({"cursor": cursor} if cursor else {})}
        page = browser.client.get(base, params, HTTP_X_CSRF="1").json()
        seen += [p["id"] for p in page["patients"]]
        assert all(p["demographics"]["name"] for p in page["patients"])
        cursor = page["page"]["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > search.PER_PAGE
    assert set(seen) <= matching("a")
    # A cursor of one search is refused for another name.
    first = browser.client.get(base, {"name": "a"}, HTTP_X_CSRF="1").json()["page"]
    other = browser.client.get(base, {"name": "b", "cursor": first["next_cursor"]}, HTTP_X_CSRF="1")
    problem(other, 400, "invalid_cursor")
