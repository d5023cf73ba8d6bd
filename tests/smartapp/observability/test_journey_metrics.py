"""A launch, a summary page, a refresh and a sign-out move the metrics an operator reads,
each labelled with the connection and nothing that names a patient, a user or a token.
Real HTTP to the sandbox EHR; /metrics scraped and parsed as Prometheus would."""

from __future__ import annotations

from functools import partial

import pytest
from django.core.cache import cache
from django.test import Client

from smart.scopes import LaunchKind
from smartapp.models import Launch
from smartapp.summary.sections import section_names
from tests.fixtures.app import PageClient
from tests.smartapp.observability.scrape import METRICS_TOKEN, moved, scrape

pytestmark = pytest.mark.usefixtures("metrics_token")


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN


def page_client(browser) -> Client:
    client = PageClient()
    client.cookies = browser.client.cookies
    return client


def test_a_launch_counts_its_outcome_its_token_call_and_its_discovery(connect, browser) -> None:
    connection = connect()
    before = scrape(Client())
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    after = scrape(Client())
    slug = connection.slug

    changed = partial(moved, before, after)
    kind = LaunchKind.PATIENT.value
    assert changed("smartapp_launches_total", connection=slug, kind=kind, outcome="ok") == 1
    assert (
        changed(
            "smartapp_token_requests_total",
            connection=slug,
            grant="authorization_code",
            outcome="ok",
        )
        == 1
    )
    assert changed("smartapp_token_request_seconds_count", connection=slug) == 1
    assert changed("smartapp_discovery_fetches_total", connection=slug, outcome="ok") == 1


def test_a_cancelled_consent_counts_as_a_failed_launch(connect, browser) -> None:
    connection = connect()
    before = scrape(Client())
    response = browser.start_standalone(connection)
    browser.callback(browser.authorize(response, deny=True))
    after = scrape(Client())
    labels = {"connection": connection.slug, "kind": "patient"}
    ok = moved(before, after, "smartapp_launches_total", outcome="ok", **labels)
    failed = moved(before, after, "smartapp_launches_total", **labels)
    assert (ok, failed) == (0, 1)


def test_a_summary_page_moves_the_journey_and_upstream_metrics(connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    handle = Launch.objects.get().handle
    cache.clear()
    client = page_client(browser)
    before = scrape(client)
    assert client.get(f"/l/{handle}/").status_code == 200
    after = scrape(client)
    slug = connection.slug

    changed = partial(moved, before, after)
    assert changed("smartapp_summary_first_section_seconds_count", connection=slug) == 1
    assert changed("smartapp_summary_complete_seconds_count", connection=slug) == 1
    assert changed("smartapp_http_requests_total", view="portal:summary", status_class="2xx") == 1
    for section in section_names():
        assert changed("smartapp_summary_sections_total", connection=slug, section=section) == 1
        assert changed("smartapp_summary_cache_total", section=section, result="miss") == 1
    observations = {
        "connection": slug,
        "resource_type": "Observation",
        "interaction": "search-type",
        "status_class": "2xx",
    }
    assert changed("smartapp_fhir_requests_total", **observations) >= 2  # vitals and labs
    assert changed("smartapp_fhir_request_seconds_count", connection=slug) == changed(
        "smartapp_fhir_requests_total", connection=slug
    )

    again = scrape(client)
    assert client.get(f"/l/{handle}/").status_code == 200  # now from the cache
    last = scrape(client)
    for section in section_names():
        hit = {"section": section, "result": "hit"}
        assert moved(again, last, "smartapp_summary_cache_total", **hit) == 1


def test_failing_fhir_calls_are_counted_by_status_class(connect, browser) -> None:
    connection = connect(fail={"Condition": 500})
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    handle = Launch.objects.get().handle
    cache.clear()
    client = page_client(browser)
    before = scrape(client)
    client.get(f"/l/{handle}/")
    after = scrape(client)
    labels = {"connection": connection.slug, "resource_type": "Condition", "status_class": "5xx"}
    assert moved(before, after, "smartapp_fhir_requests_total", **labels) > 0
    unavailable = {"connection": connection.slug, "section": "problems", "status": "unavailable"}
    assert moved(before, after, "smartapp_summary_sections_total", **unavailable) == 1


def test_sign_out_counts_a_sign_out_and_a_session_end(connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    handle = Launch.objects.get().handle
    client = page_client(browser)
    before = scrape(client)
    assert client.post(f"/l/{handle}/sign-out").status_code == 303
    after = scrape(client)
    slug = connection.slug
    assert moved(before, after, "smartapp_sign_outs_total", connection=slug) == 1
    ended = {"connection": slug, "cause": "sign_out"}
    assert moved(before, after, "smartapp_sessions_ended_total", **ended) == 1
