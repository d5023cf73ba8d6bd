"""Every page that shows patient data leaves one PHI access record (smartapp/audit), written
however the page ends: whole, partial, failed before the stream or half-way, or left by the
client mid-stream. Real HTTP to the sandbox EHR."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from smartapp.audit.records import AccessRecord
from smartapp.models import Launch
from smartapp.summary.sections import section_names
from tests.fixtures.app import PageClient


def launched(connect, browser, **options: Any) -> tuple[Launch, Client]:
    """A signed-in launch (whose landing page left its own record), the cache cold, and the
    records so far set aside: each test reads only the ones its own requests wrote."""
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    cache.clear()
    client = PageClient()
    client.cookies = browser.client.cookies
    global _seen
    _seen = max(AccessRecord.objects.values_list("seq", flat=True), default=0)
    return Launch.objects.get(), client


_seen = 0


def records(what: str) -> list[AccessRecord]:
    return list(AccessRecord.objects.filter(what=what, seq__gt=_seen).order_by("seq"))


def test_a_summary_page_leaves_one_full_record(connect, browser) -> None:
    launch, client = launched(connect, browser)
    response = client.get(f"/l/{launch.handle}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert AccessRecord.objects.filter(seq__gt=_seen).count() == 1
    [record] = records("summary")
    assert record.patient_id == launch.patient_id == "pat-03"
    assert record.connection == launch.connection.slug
    assert record.launch_id == launch.id
    assert record.actor == launch.fhir_user
    assert record.actor  # the patient's own fhirUser
    assert record.outcome == "success"
    assert record.request_id == response["X-Request-ID"]
    assert record.client_address == "10.1.2.3"
    assert set(record.sections) == set(section_names())
    assert {
        "Patient",
        "Condition",
        "Observation",
        "AllergyIntolerance",
        "MedicationRequest",  # read on the medications section's own threads
        "MedicationStatement",
    } <= set(record.resource_types)


def test_a_cached_page_is_an_access_too(connect, browser) -> None:
    launch, client = launched(connect, browser)
    client.get(f"/l/{launch.handle}/")
    client.get(f"/l/{launch.handle}/")  # every section from the cache: no FHIR call
    first, second = records("summary")
    assert second.outcome == "success"
    assert set(second.sections) == set(first.sections)
    assert second.seq == first.seq + 1


def test_sections_the_ehr_could_not_give_make_a_partial_record(connect, browser) -> None:
    launch, client = launched(connect, browser, fail={"Condition": 500})
    assert client.get(f"/l/{launch.handle}/").status_code == 200
    [record] = records("summary")
    assert record.outcome == "partial"
    assert "Condition" in record.resource_types  # asked for, even though it failed


def test_a_client_gone_mid_stream_is_recorded_as_ended(connect, browser) -> None:
    launch, page_client = launched(connect, browser)
    raw = Client()
    raw.cookies = page_client.cookies
    response: Any = raw.get(f"/l/{launch.handle}/")
    stream = iter(response.streaming_content)
    next(stream)  # the shell; then the browser goes away
    response.close()
    [record] = records("summary")
    assert record.outcome == "ended"


def test_a_page_that_fails_before_its_stream_is_recorded_as_failed(connect, browser) -> None:
    launch, client = launched(connect, browser)
    grant = launch.grant
    grant.delete()  # the grant is gone (as after the EHR ended it)
    response = client.get(f"/l/{launch.handle}/")
    assert response.status_code in (401, 403, 409, 410)
    [record] = records("summary")
    assert record.outcome.startswith("failed:")


def test_a_drill_down_that_fails_is_recorded_as_failed(connect, browser) -> None:
    launch, client = launched(connect, browser, fail={"Observation": 500})
    response = client.get(f"/l/{launch.handle}/vitals/heart-rate")
    assert response.status_code == 503
    [record] = records("vital-history:heart-rate")
    assert record.outcome.startswith("failed:")
    assert record.resource_types == ["Observation"]


def test_a_drill_down_and_a_section_list_leave_their_records(connect, browser) -> None:
    launch, client = launched(connect, browser)
    assert client.get(f"/l/{launch.handle}/vitals/heart-rate").status_code == 200
    assert client.get(f"/l/{launch.handle}/list/labs").status_code == 200
    [vitals] = records("vital-history:heart-rate")
    [labs] = records("section-list:labs")
    assert vitals.outcome == labs.outcome == "success"
    assert "Observation" in vitals.resource_types
    assert labs.sections == ["labs"]


@pytest.mark.django_db
def test_pages_without_patient_data_leave_none(client) -> None:
    client.get("/")
    client.get("/healthz")
    assert AccessRecord.objects.count() == 0
