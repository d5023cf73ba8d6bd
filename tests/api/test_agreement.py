"""One builder: the JSON and the HTML of the same launch say the same thing, field for field,
and no answer of the API carries a token the EHR issued."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from api.schemas import ITEM_SCHEMAS
from portal.summary_page import ordered_rows
from sandbox.models import Token
from smartapp.summary import sections as registry

pytestmark = [pytest.mark.postgres]


def as_json(name: str, items) -> list[dict]:
    return [ITEM_SCHEMAS[name].model_validate(item).model_dump(mode="json") for item in items]


def shown_label(item: dict) -> str:
    concept = item.get("concept")
    return concept["label"] if concept else item.get("label") or item.get("type") or ""


def test_json_and_html_agree_field_for_field(launched) -> None:
    app = launched()
    handle = app.launch.handle
    compared = 0
    for name in registry.listed_sections():
        page = app.client.get(f"/l/{handle}/list/{name}")
        assert page.status_code == 200
        section = page.context["section"]
        answer = app.get(f"/sections/{name}", {"limit": 200}).json()
        assert answer["section"]["status"] == section.status.value
        assert answer["section"]["truncated"] == section.truncated
        assert answer["section"]["items"] == as_json(name, ordered_rows(name, section.items))
        text = page.content.decode()
        for item in answer["section"]["items"][:20]:  # the page's first page of rows
            assert escape(shown_label(item)) in text, (name, shown_label(item))
            compared += 1
    assert compared > 10
    # The cards without a list page: the patient line and the vital signs.
    summary = app.client.get(f"/l/{handle}/").content.decode()
    patient = app.get("/patient").json()["demographics"]
    assert escape(patient["name"]) in summary
    for vital in app.get("/summary").json()["sections"]["vitals"]["items"]:
        assert vital["value"] in summary
        assert escape(vital["label"]) in summary


def test_no_api_answer_carries_a_token(launched) -> None:
    app = launched()
    answers = [
        app.client.get("/api/v1/session", HTTP_X_CSRF="1"),
        app.client.get("/api/v1/openapi.json"),
        app.client.get("/api/v1/docs"),
        app.client.get(app.base + "/summary"),  # refused: no header
        app.client.get("/api/v1/launches/nope/summary", HTTP_X_CSRF="1"),
    ]
    for path in ("/summary", "/patient", "/results", "/medications", "/patients?name=a"):
        answers.append(app.get(path))
    for name in registry.section_names():
        answers.append(app.get(f"/sections/{name}", {"limit": 200}))
    material = "\n".join(
        a.content.decode() + "\n" + "\n".join(f"{k}: {v}" for k, v in a.headers.items())
        for a in answers
    )
    tokens = [t for row in Token.objects.all() for t in (row.access_token, row.refresh_token) if t]
    assert tokens, "the launch's tokens should be known to the sandbox"
    assert [t[:8] for t in tokens if t in material] == []
    assert "pat-03" in material  # the scan read real answers
