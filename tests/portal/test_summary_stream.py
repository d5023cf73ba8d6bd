"""The summary streamed (portal/summary_page.py), read chunk by chunk over real HTTP to the
sandbox: the shell first, whatever the EHR's speed; each section as it arrives; a section past
the budget on its own, with its own retry; freshness once per page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from portal.summary_page import STALE_AFTER, card_for, ordered_rows, stale_age
from smartapp.models import Launch
from smartapp.summary.contract import Section, SectionStatus
from smartapp.summary.sections import section_names

SECTIONS = section_names()


def launched(sandbox, connect, browser, patient: str = "pat-03", **options) -> tuple[Client, str]:
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()  # the launch's own page filled the cache: start cold
    sandbox.reset_stats()
    raw = Client()  # Django's own client: the streamed chunks as they were sent
    raw.cookies = browser.client.cookies
    return raw, Launch.objects.get().handle


def chunks(client: Client, url: str) -> list[str]:
    response: Any = client.get(url)
    assert response.status_code == 200
    assert response.streaming
    return [chunk.decode() for chunk in response.streaming_content]


def test_the_shell_goes_first_with_every_placeholder_and_no_ehr_data(
    sandbox, connect, browser
) -> None:
    client, handle = launched(sandbox, connect, browser)
    sent = chunks(client, f"/l/{handle}/")
    shell = sent[0]
    assert 'data-testid="patient-line"' in shell
    assert "Loading patient details" in shell
    for name in SECTIONS:
        assert f'data-pending-section="{name}"' in shell
        assert f'data-section="{name}"' not in shell
    assert shell.index('data-pending-section="problems"') < shell.index(
        'data-pending-section="labs"'
    )
    arrived = "".join(sent[1:])
    for name in SECTIONS:
        assert arrived.count(f'data-section="{name}"') == 1  # each section once, after the shell
    assert 'data-testid="patient-name"' not in shell  # the name needs the EHR ...
    assert 'data-testid="patient-name"' in arrived  # ... and arrives with the demographics
    assert sent[-1].rstrip().endswith("</html>")


def test_cached_sections_are_in_the_shell(sandbox, connect, browser) -> None:
    client, handle = launched(sandbox, connect, browser)
    chunks(client, f"/l/{handle}/")  # fills the cache
    sent = chunks(client, f"/l/{handle}/")
    assert len(sent) == 2  # the whole page, then the end: nothing to wait for
    assert "data-pending-section" not in sent[0]
    assert 'data-testid="patient-name"' in sent[0]


@override_settings(SUMMARY_BUDGET_S=1.5, FHIR_BREAKER_THRESHOLD=1000)
def test_a_section_past_the_budget_arrives_last_on_its_own_with_its_own_retry(
    sandbox, connect, browser
) -> None:
    hung = {"Immunization": {"mode": "timeout", "hang_s": 4}}
    client, handle = launched(sandbox, connect, browser, fail=hung)
    sent = chunks(client, f"/l/{handle}/")
    order = [name for chunk in sent[1:] for name in SECTIONS if f'data-section="{name}"' in chunk]
    assert order[-1] == "immunizations"  # the others did not wait for it
    assert sorted(order) == sorted(SECTIONS)
    late = next(chunk for chunk in sent if 'data-section="immunizations"' in chunk)
    assert 'data-status="unavailable"' in late
    assert "The EHR took too long to answer." in late
    assert 'href="?refresh=immunizations"' in late
    # Its retry fetches that section only; the others come from the cache.
    sandbox.reset_stats()
    chunks(client, f"/l/{handle}/?refresh=immunizations")
    assert set(sandbox.stats()["fhir_requests"]) == {"Immunization"}


def test_the_page_is_never_cached_and_not_buffered_by_proxies(sandbox, connect, browser) -> None:
    client, handle = launched(sandbox, connect, browser)
    response: Any = client.get(f"/l/{handle}/")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Accel-Buffering"] == "no"
    b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("age", "shown"),
    [
        (timedelta(seconds=5), ""),
        (STALE_AFTER - timedelta(seconds=1), ""),
        (timedelta(minutes=12), "12 minutes ago"),
        (timedelta(hours=5), "5 hours ago"),
    ],
)
def test_a_section_says_its_age_only_when_older_than_the_page(age, shown) -> None:
    now = timezone.now()
    section = Section("problems", SectionStatus.EMPTY, (), (now - age).isoformat())
    assert stale_age(section, now) == shown


def test_abnormal_lab_results_come_first_and_keep_their_order() -> None:
    class Result:
        def __init__(self, name: str, abnormal: bool) -> None:
            self.name, self.abnormal = name, abnormal

    rows = tuple(Result(n, a) for n, a in [("a", False), ("b", True), ("c", False), ("d", True)])
    assert [r.name for r in ordered_rows("labs", rows)] == ["b", "d", "a", "c"]
    assert [r.name for r in ordered_rows("problems", rows)] == ["a", "b", "c", "d"]


def test_patient_facing_titles_keep_the_clinical_term_one_tap_away() -> None:
    section = Section("medications", SectionStatus.EMPTY, (), None)
    patient = card_for(section, patient_facing=True, now=timezone.now())
    clinician = card_for(section, patient_facing=False, now=timezone.now())
    assert (patient.title, patient.clinical_title) == ("Your medicines", "Active medications")
    assert (clinician.title, clinician.clinical_title) == ("Active medications", None)
