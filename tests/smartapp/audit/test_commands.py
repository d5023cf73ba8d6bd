"""`audit_export` (FHIR AuditEvents, one per line) and the read-only admin: how a reviewer
answers "who opened this patient's record last week?"."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from fhirclient.models.auditevent import AuditEvent

from smartapp.audit.records import AccessRecord
from tests.smartapp.audit.conftest import append_at

pytestmark = pytest.mark.django_db


def _export(*args: str) -> list[dict[str, Any]]:
    out = StringIO()
    call_command("audit_export", *args, stdout=out, stderr=StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _trail() -> None:
    append_at(datetime(2025, 5, 1, 9, tzinfo=UTC), patient_id="pat-1")
    append_at(datetime(2025, 5, 3, 9, tzinfo=UTC), patient_id="pat-2", actor="Practitioner/p2")
    append_at(datetime(2025, 5, 9, 9, tzinfo=UTC), patient_id="pat-1", actor="Practitioner/p3")


def test_export_is_one_strict_auditevent_per_line_in_range() -> None:
    _trail()
    events = _export("--since", "2025-05-01", "--until", "2025-05-08", "--format", "ndjson")
    assert [e["id"].split("-")[0] for e in events] == ["1", "2"]
    for event in events:
        AuditEvent(event)


def test_who_opened_this_patients_record_last_week() -> None:
    _trail()
    events = _export("--since", "2025-05-01T00:00:00+00:00", "--patient", "pat-1")
    assert [e["agent"][0]["who"]["identifier"]["value"] for e in events] == [
        "Practitioner/p1",
        "Practitioner/p3",
    ]


def test_export_to_a_file(tmp_path: Path) -> None:
    _trail()
    target = tmp_path / "trail.ndjson"
    args = ["--since", "2025-01-01", "--output", str(target)]
    call_command("audit_export", *args, stderr=StringIO())
    assert len(target.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2025-01-01", "--format", "csv"], "only format is ndjson"),
        (["--since", "last tuesday"], "not an ISO 8601"),
        (["--since", "2025-01-01", "--until", "2025-13-01"], "--until"),
    ],
)
def test_export_refuses_what_it_cannot_do(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("audit_export", *args, stdout=StringIO(), stderr=StringIO())


def test_the_admin_lists_and_searches_but_never_edits(admin_client: Any) -> None:
    _trail()
    listing = admin_client.get("/admin/smartapp/accessrecord/", {"q": "pat-1"})
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 2
    row = AccessRecord.objects.get(seq=1)
    assert admin_client.get("/admin/smartapp/accessrecord/add/").status_code == 403
    assert admin_client.get(f"/admin/smartapp/accessrecord/{row.pk}/delete/").status_code == 403
    detail = admin_client.get(f"/admin/smartapp/accessrecord/{row.pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
