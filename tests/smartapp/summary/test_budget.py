"""Time budgets against a hung EHR (issue 12, item 12): the summary's threads stay bounded
however often the page is reloaded, what the budget abandons stops, and a drill-down answers
a clear "the EHR is slow" page within its own budget."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from smartapp.models import Launch
from smartapp.summary import service

# Everything the summary searches hangs (the launch itself reads the Patient, so that one
# answers: the callback checks the patient context before any page).
# Every type hangs but Patient, which never fails (`rate` 0): the simulated EHR's options must
# fit in an issuer URL, which one rule per summary type no longer does.
HUNG = {"*": {"mode": "timeout", "hang_s": 6}, "Patient": {"mode": 503, "rate": 0}}
RELOADS = 6


def launch_for(connect, browser, patient: str, **options) -> Launch:
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()
    return Launch.objects.get()


def app_threads() -> set[threading.Thread]:
    """This process's threads but the test servers' request threads (the hung sandbox's)."""
    return {
        thread
        for thread in threading.enumerate()
        if "process_request_thread" not in thread.name and thread.is_alive()
    }


def _busy_now() -> int:
    """Summary sections still being built (0 once what the budget abandoned has stopped)."""
    return service.busy_workers()


@override_settings(
    SUMMARY_BUDGET_S=1.0,
    FHIR_READ_TIMEOUT_S=30,
    FHIR_BREAKER_THRESHOLD=1000,  # keep the breaker out of it: this is about threads
)
def test_a_hung_ehr_does_not_pile_up_summary_threads(sandbox, connect, browser) -> None:
    launch = launch_for(connect, browser, "pat-02", fail=HUNG)
    before = app_threads()
    for _ in range(RELOADS):
        page = browser.client.get(f"/l/{launch.handle}/?refresh=1")
        assert page.status_code == 200
        assert b"The EHR took too long to answer." in page.content
    grown = app_threads() - before
    # One pool per process: at most SUMMARY_WORKERS threads, plus the medications and the
    # documents sections' pairs, however many reloads (one pool per request grew by a pool's
    # worth per reload).
    assert len(grown) <= settings.SUMMARY_WORKERS + 2 + 2, sorted(t.name for t in grown)
    # What the budget abandoned stops with the budget, not after the 30 s read timeout (nor
    # the EHR's 6 s hang): no section is still being built a moment later.
    settled = time.monotonic() + 3
    while _busy_now() and time.monotonic() < settled:
        time.sleep(0.05)
    assert _busy_now() == 0


@override_settings(DRILLDOWN_BUDGET_S=1.0, SUMMARY_BUDGET_S=1.0, FHIR_READ_TIMEOUT_S=30)
def test_a_drilldown_answers_a_clear_page_within_its_budget(sandbox, connect, browser) -> None:
    launch = launch_for(
        connect, browser, "pat-02", fail={"Observation": {"mode": "timeout", "hang_s": 6}}
    )
    started = time.monotonic()
    response = browser.client.get(f"/l/{launch.handle}/vitals/heart-rate")
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert b"The EHR is slow to answer" in response.content
    assert b"Try again" in response.content
    assert b"<code>ehr_slow</code>" in response.content
    assert elapsed < 6  # within the budget (1 s), not the EHR's hang nor the read timeout
    labs = browser.client.get(f"/l/{launch.handle}/labs", {"code": "http://loinc.org|2345-7"})
    assert labs.status_code == 504
