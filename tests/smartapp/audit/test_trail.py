"""smartapp.audit.trail: what a view records, and that recording never breaks a page."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from smart.errors import SmartAppError
from smartapp.audit import accessed, note_read, open_access, recording, trail
from smartapp.audit.records import AccessRecord
from smartapp.request_id import RequestIdMiddleware

pytestmark = pytest.mark.django_db


def _request() -> HttpRequest:
    return RequestFactory().get("/l/x/summary", REMOTE_ADDR="192.0.2.9")


def test_a_closed_access_is_one_row_of_what_the_launch_says(connection_and_launch: Any) -> None:
    launch = connection_and_launch

    def view(request: HttpRequest) -> HttpResponse:
        access = open_access(request, launch, "summary")
        access.note("Observation")
        access.note("Condition")
        access.note("Observation")
        access.add_sections(["vitals", "problems"])
        access.add_sections(["problems", "labs"])
        access.close("partial")
        return HttpResponse()

    RequestIdMiddleware(view)(_request_with_id())
    row = AccessRecord.objects.get()
    assert (row.actor, row.connection, row.launch_id, row.patient_id) == (
        "Practitioner/p1",
        "general",
        launch.id,
        "pat-1",
    )
    assert row.resource_types == ["Condition", "Observation"]
    assert row.sections == ["vitals", "problems", "labs"]
    assert (row.what, row.outcome) == ("summary", "partial")
    assert (row.request_id, row.client_address) == ("trace-1234abcd", "192.0.2.9")


def _request_with_id() -> HttpRequest:
    return RequestFactory().get("/", REMOTE_ADDR="192.0.2.9", HTTP_X_REQUEST_ID="trace-1234abcd")


def test_the_actor_falls_back_to_the_id_token_sub(connection_and_launch: Any) -> None:
    from smartapp.models import TokenGrant

    launch = connection_and_launch
    launch.fhir_user = ""
    assert trail._actor(launch) == ""  # no grant yet
    TokenGrant.objects.create(
        launch=launch,
        access_token_encrypted="x",
        id_token_claims={"sub": "user-77"},
        scope="openid",
        expires_at=launch.state_expires_at,
    )
    launch.refresh_from_db()
    launch.fhir_user = ""
    assert trail._actor(launch) == "user-77"


def test_close_writes_once(connection_and_launch: Any) -> None:
    access = open_access(_request(), connection_and_launch, "summary")
    access.close("success")
    access.close("failed:late")
    assert list(AccessRecord.objects.values_list("outcome", flat=True)) == ["success"]


def test_a_failed_write_is_logged_and_never_raised(
    connection_and_launch: Any, monkeypatch: pytest.MonkeyPatch, json_logs: Any
) -> None:
    def broken(entry: Any) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr("smartapp.audit.chain.append", broken)
    open_access(_request(), connection_and_launch, "summary").close("success")
    [line] = [line for line in json_logs.lines if line["message"] == "audit record not written"]
    assert line["level"] == "ERROR"


def test_note_read_adds_only_to_the_current_access(connection_and_launch: Any) -> None:
    note_read("Patient")  # outside an access: nothing to add to, nothing raised
    access = open_access(_request(), connection_and_launch, "summary")
    with recording(access):
        note_read("MedicationRequest")
    note_read("AllergyIntolerance")  # after the block: no longer current
    access.close("success")
    assert AccessRecord.objects.get().resource_types == ["MedicationRequest"]


def test_notes_from_many_threads_are_all_kept(connection_and_launch: Any) -> None:
    access = open_access(_request(), connection_and_launch, "summary")
    types = [f"Type{n}" for n in range(40)]
    workers = [threading.Thread(target=access.note, args=(name,)) for name in types * 5]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    access.close("success")
    assert AccessRecord.objects.get().resource_types == sorted(types)


def test_accessed_closes_with_success(connection_and_launch: Any) -> None:
    with accessed(_request(), connection_and_launch, "labs") as access:
        note_read("Observation")
    assert access.closed
    row = AccessRecord.objects.get()
    assert (row.what, row.outcome, row.resource_types) == ("labs", "success", ["Observation"])


def test_accessed_keeps_the_outcome_the_block_chose(connection_and_launch: Any) -> None:
    with accessed(_request(), connection_and_launch, "summary") as access:
        access.close("partial")
    assert AccessRecord.objects.get().outcome == "partial"


class _Expired(SmartAppError):
    code = "session_expired"


@pytest.mark.parametrize(
    ("error", "outcome"),
    [(_Expired(), "failed:session_expired"), (ValueError("bug"), "failed:error")],
)
def test_accessed_records_the_failure_and_reraises(
    connection_and_launch: Any, error: Exception, outcome: str
) -> None:
    with pytest.raises(type(error)), accessed(_request(), connection_and_launch, "summary"):
        raise error
    assert AccessRecord.objects.get().outcome == outcome


def test_a_page_closed_mid_stream_is_ended(connection_and_launch: Any) -> None:
    def stream() -> Any:
        with accessed(_request(), connection_and_launch, "summary"):
            yield "shell"
            yield "sections"

    page = stream()
    next(page)
    page.close()  # the client went away
    assert AccessRecord.objects.get().outcome == "ended"
