"""axe-core reports no WCAG 2.x A/AA violation on any page of the app, light and dark.

Each test is one launch (they cost seconds) walked through several pages; every page is
checked and the failure lists them all, rule and element. Contexts are made with
`bypass_csp=True` so the vendored axe can be injected (tests/e2e/axe.py says why), and with
the colour scheme under test (`prefers-color-scheme`).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Frame, Page

from sandbox.synthetic import documents as docs
from tests.e2e.axe import Violation, report, run_axe
from tests.e2e.launches import Wired, drilldown_urls, settle
from tests.e2e.synthea import SyntheaPatient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["light", "dark"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Audit:
    def __init__(self, scheme: str) -> None:
        self.scheme = scheme
        self.found: dict[str, list[Violation]] = {}

    def check(self, name: str, target: Page | Frame) -> None:
        settle(target)
        self.found[f"{name} [{self.scheme}] {target.url}"] = run_axe(target)

    def assert_clean(self, pages: int) -> None:
        assert len(self.found) == pages, list(self.found)
        assert not any(self.found.values()), "axe violations:\n" + report(self.found)


def goto(page: Page, url: str, status: int = 200) -> Page:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url} answered {response.status}"
    return page


def test_public_pages(wired: Wired, scheme: str) -> None:
    """Home, signed out, a page that is not there, the QA launch page."""
    audit = Audit(scheme)
    page = wired.context(bypass_csp=True, color_scheme=scheme).new_page()
    audit.check("home", goto(page, f"{wired.app}/"))
    audit.check("signed out", goto(page, f"{wired.app}/signed-out"))
    audit.check("404", goto(page, f"{wired.app}/no-such-page", status=404))
    audit.check("unknown launch", goto(page, f"{wired.app}/l/no-such-launch/", status=404))
    wired.qa_sign_in(page)
    audit.check("QA launch", page)
    audit.assert_clean(5)


def test_patient_portal_pages(
    wired: Wired, synthea: dict[str, SyntheaPatient], scheme: str
) -> None:
    """A patient's standalone launch: the summary (desktop and phone), the drill-downs, the
    callback replayed, then signed out."""
    audit = Audit(scheme)
    page = wired.context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 800}
    ).new_page()
    launched = wired.standalone(page, synthea["Alexis_Toy"].id)
    audit.check("summary", page)
    page.set_viewport_size({"width": 390, "height": 844})
    audit.check("summary at 390x844", page)
    page.set_viewport_size({"width": 1280, "height": 800})
    for name, url in drilldown_urls(page).items():
        audit.check(name, goto(page, url))
    assert launched.callbacks, "the launch went through no callback"
    page.goto(launched.callbacks[0])  # the same state again: refused or "continue"
    audit.check("callback replayed", page)
    goto(page, launched.summary)
    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{wired.app}/signed-out**")
    audit.check("signed out after sign-out", page)
    audit.assert_clean(7)


def test_ehr_launch_pages_in_the_chart(
    wired: Wired, synthea: dict[str, SyntheaPatient], scheme: str
) -> None:
    """A clinician's EHR launch: the summary inside the sandbox chart's iframe (the frame is
    checked, not the EHR around it), and a drill-down in the same frame."""
    audit = Audit(scheme)
    page = wired.context(bypass_csp=True, color_scheme=scheme).new_page()
    frame = wired.in_chart(page, synthea["Trey_Berge"].id)
    audit.check("summary in the chart", frame)
    frame.goto(drilldown_urls(frame)["vital history"])
    audit.check("vital history in the chart", frame)
    audit.assert_clean(2)


def test_provider_patient_search(wired: Wired, scheme: str) -> None:
    """QA's provider launch: the patient search, empty and with results; then the launch
    debugger's pages and the conformance report."""
    audit = Audit(scheme)
    page = wired.context(bypass_csp=True, color_scheme=scheme).new_page()
    wired.qa_sign_in(page)
    wired.provider(page)
    audit.check("patient search", page)
    page.fill("#name", "johnson")
    page.click("button:has-text('Search')")
    page.wait_for_selector("tr:has-text('Jennifer Johnson')")
    audit.check("patient search results", page)
    handle = page.url.split("/l/", 1)[1].split("/", 1)[0]
    audit.check("launch debugger: launches", goto(page, f"{wired.app}/qa/launches"))
    audit.check("launch debugger: one launch", goto(page, f"{wired.app}/qa/launches/{handle}"))
    goto(page, f"{wired.app}/qa/check")
    page.click("button:has-text('Check')")
    page.wait_for_selector("[data-testid=findings]")
    audit.check("conformance report", page)
    audit.assert_clean(5)


def test_document_pages(wired: Wired, scheme: str) -> None:
    """Notes and documents (issue 19): the full list, filtered; a note in text, one in HTML,
    a PDF and an image; a document that cannot be opened."""
    audit = Audit(scheme)
    page = wired.context(bypass_csp=True, color_scheme=scheme).new_page()
    wired.standalone(page, "pat-01")
    base = page.url.split("/l/", 1)[0] + "/l/" + page.url.split("/l/", 1)[1].split("/", 1)[0]
    audit.check("documents list", goto(page, f"{base}/list/documents"))
    audit.check(
        "documents list, radiology", goto(page, f"{base}/list/documents?category=Radiology")
    )
    for rid in (docs.DISCHARGE, docs.PROGRESS, docs.CONSULT, docs.WOUND_PHOTO):
        audit.check(rid, goto(page, f"{base}/documents/DocumentReference/{rid}"))
    audit.check(
        "no such document",
        goto(page, f"{base}/documents/DocumentReference/{docs.ENTERED_IN_ERROR}", status=404),
    )
    audit.assert_clean(7)
