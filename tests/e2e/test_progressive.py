"""The summary on a slow EHR, in a real browser: the first byte and the patient line come
before any FHIR call has completed, and the sections follow in the page's own order.

The order is read from events, not from a clock: the sandbox counts each FHIR call once its
simulated latency has passed (`fhir_answered`), and the test reads that count at the moment
the browser has the patient line.
"""

from __future__ import annotations

import httpx
import pytest
from django.core.cache import cache

from smartapp.summary.sections import section_names
from tests.e2e.test_journeys import World, sign_in, world  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LATENCY_MS = 2000


def answered(ehr: str) -> dict[str, int]:
    stats = httpx.get(f"{ehr}/sandbox/stats", timeout=10).json()
    return dict(stats["fhir_answered"])


def test_shell_and_patient_line_before_any_fhir_answer(world: World) -> None:  # noqa: F811
    world.connect(latency_ms=LATENCY_MS)
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-03")
    page.wait_for_url(f"{world.app}/l/**")
    page.wait_for_load_state("load")
    summary = page.url

    cache.clear()  # cold again: every section must come from the slow EHR
    httpx.post(f"{world.ehr}/sandbox/stats/reset", timeout=10)
    page.goto(summary, wait_until="commit")  # the first byte
    assert answered(world.ehr) == {}
    page.wait_for_selector("[data-testid=patient-line]", state="attached")
    assert answered(world.ehr) == {}  # the patient line came before any FHIR answer
    assert page.locator("[data-pending-section]").count() == len(section_names())
    assert page.locator("[data-section]").count() == 0

    page.wait_for_load_state("load")
    assert answered(world.ehr)  # the sections needed the EHR ...
    assert page.locator("[data-pending-section]").count() == 0
    # ... and took their placeholders' places: the page reads in the registry's order.
    order = page.locator("[data-section]").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('data-section'))"
    )
    assert order == list(section_names())
    assert page.locator("[data-testid=patient-name]").inner_text()


def test_skip_link_print_button_and_printed_header(world: World) -> None:  # noqa: F811
    world.connect()
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-03")
    page.wait_for_url(f"{world.app}/l/**")
    page.wait_for_load_state("load")
    # The first Tab reaches the skip link, which lands on the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    # The print button is shown by the page's script and prints the page.
    assert page.locator("[data-print]").is_visible()
    page.evaluate("window.print = () => { document.body.dataset.printed = 'yes' }")
    page.click("[data-print]")
    assert page.evaluate("document.body.dataset.printed") == "yes"
    # Printed: no controls, and the patient line with the printed-on time on every page
    # (a fixed element repeats on each printed page).
    page.emulate_media(media="print")
    assert not page.locator(".page-actions").is_visible()
    line = page.locator("[data-testid=patient-line]")
    assert line.evaluate("e => getComputedStyle(e).position") == "fixed"
    printed_on = line.locator("[data-printed-on]")
    assert printed_on.is_visible()
    assert printed_on.inner_text()
