"""Recent notes and documents (smartapp/summary/documents.py): which are listed, in which
order, and what a row says."""

from __future__ import annotations

from typing import Any

from smartapp.fhir.resources import parse
from smartapp.summary.documents import attachments, recent_documents

LOINC = "http://loinc.org"
NOTE = {"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
        "code": "clinical-note", "display": "Clinical Note"}  # fmt: skip


def note(rid: str, date: str, status: str = "current", **extra: Any) -> Any:
    return parse(
        {
            "resourceType": "DocumentReference",
            "id": rid,
            "status": status,
            "subject": {"reference": "Patient/p1"},
            "type": {"coding": [{"system": LOINC, "code": "11506-3", "display": "Progress note"}]},
            "category": [{"coding": [NOTE]}],
            "date": date if "T" in date else f"{date}T10:00:00Z",  # an instant (R4)
            "author": [{"reference": "Practitioner/1", "display": "Dr. Alice Carter"}],
            "content": [{"attachment": {"contentType": "text/plain", "data": "aGk="}}],
            **extra,
        }
    )


def report(rid: str, date: str, status: str = "final", form: bool = True) -> Any:
    body: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": LOINC, "code": "36643-5", "display": "XR Chest 2 Views"}]},
        "category": [{"coding": [{"system": LOINC, "code": "LP29684-5", "display": "Radiology"}]}],
        "effectiveDateTime": date,
    }
    if form:
        body["presentedForm"] = [{"contentType": "text/html", "data": "PHA+aGk8L3A+"}]
    return parse(body)


def test_newest_first_across_notes_and_reports() -> None:
    items = recent_documents(
        [note("old", "2025-01-02T10:00:00Z"), note("new", "2026-03-01T09:00:00-05:00")],
        [report("xray", "2025-06-01")],
    )
    assert [i.id for i in items] == ["new", "xray", "old"]
    newest = items[0]
    assert newest.title == "Progress note"
    assert newest.author == "Dr. Alice Carter"
    assert newest.categories == ("Clinical Note",)
    assert newest.formats == ("text",)
    assert items[1].resource_type == "DiagnosticReport"
    assert items[1].formats == ("HTML",)


def test_entered_in_error_superseded_and_replaced_documents_are_left_out() -> None:
    replacing = note(
        "v2",
        "2026-02-02",
        relatesTo=[{"code": "replaces", "target": {"reference": "DocumentReference/v1"}}],
    )
    appended = note(
        "addendum",
        "2026-02-03",
        relatesTo=[{"code": "appends", "target": {"reference": "DocumentReference/v2"}}],
    )
    items = recent_documents(
        [
            note("v1", "2026-02-01"),  # still `current`, but v2 replaces it
            replacing,
            appended,
            note("gone", "2026-02-04", status="entered-in-error"),
            note("older-version", "2026-02-05", status="superseded"),
        ],
        [
            report("cancelled", "2026-01-01", status="cancelled"),
            report("lab-values-only", "2026-01-02", form=False),
            report("wrong", "2026-01-03", status="entered-in-error"),
        ],
    )
    assert [i.id for i in items] == ["addendum", "v2"]


def test_an_absolute_replaces_target_counts_too() -> None:
    replacing = note(
        "v2",
        "2026-02-02",
        relatesTo=[
            {
                "code": "replaces",
                "target": {"reference": "https://ehr.example/fhir/DocumentReference/v1"},
            }
        ],
    )
    assert [i.id for i in recent_documents([note("v1", "2026-02-01"), replacing], [])] == ["v2"]


def test_docstatus_is_the_status_shown_and_attachments_keep_their_index() -> None:
    amended = note(
        "n",
        "2026-02-02",
        docStatus="amended",
        content=[
            {"attachment": {"contentType": "application/pdf", "url": "Binary/b1", "size": 10}},
            {"attachment": {"contentType": "text/html", "data": "PHA+aGk8L3A+", "title": "n.html"}},
        ],
    )
    (item,) = recent_documents([amended], [])
    assert item.status == "amended"
    assert item.formats == ("PDF", "HTML")
    found = attachments(amended)
    assert [(a.index, a.url, a.size) for a in found] == [(0, "Binary/b1", 10), (1, None, None)]


def test_a_document_whose_id_is_not_a_fhir_id_is_left_out() -> None:
    """It could not be linked to: one such id must not take the summary down."""
    assert [
        i.id for i in recent_documents([note("a/b", "2026-01-01"), note("ok", "2026-01-02")], [])
    ] == ["ok"]
