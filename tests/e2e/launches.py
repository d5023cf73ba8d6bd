"""Launches for the page-quality browser tests (accessibility, layout, screenshots): the app on
the live server (`localhost`) wired to the sandbox EHR (`127.0.0.1`), browser contexts with the
options each test needs (size, colour scheme, CSP bypass for axe), and the three ways in:
a patient's standalone launch, an EHR launch inside the sandbox's chart iframe, and a QA
provider launch that ends on the patient search.

One launch is meant to serve several pages: each helper returns where it landed, and the
callers walk to the drill-downs from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import override_settings
from playwright.sync_api import Browser, BrowserContext, Frame, Page

from sandbox.clients import register_client
from smartapp.registry import register_connection

CLIENT_ID = "page-quality-app"
SECRET = "page-quality-secret"
# The size of an EHR's chart iframe the clinician layout is written for (issue 14).
CHART_FRAME = (1280, 680)
SETTLE_MS = 15_000


@dataclass
class Wired:
    """The app and the sandbox EHR, registered with each other, and the contexts opened."""

    app: str
    ehr: str
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    def context(self, **options: Any) -> BrowserContext:
        """A fresh browser (own cookies); closed at the end of the test."""
        context = self.browser.new_context(**options)
        self.contexts.append(context)
        return context

    # -- the three launches ---------------------------------------------------------------

    def standalone(self, page: Page, patient_id: str) -> Launched:
        """A patient signs in from the app's home page; the summary they land on."""
        callbacks = _callback_urls(page)
        page.goto(f"{self.app}/")
        page.click("text=Sign in with Sandbox EHR")
        page.check(f"input[value='Patient/{patient_id}']")
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(f"{self.app}/l/**")
        settle(page)
        return Launched(page.url, callbacks)

    def in_chart(
        self, page: Page, patient_id: str, frame_size: tuple[int, int] = CHART_FRAME
    ) -> Frame:
        """A clinician opens the patient's chart in the sandbox EHR, which frames the app
        (cross-site iframe); the chart's iframe is sized `frame_size` (the sandbox's own is
        100% x 75vh of a narrow column) before the app loads in it. The app's frame."""
        width, height = frame_size
        page.set_viewport_size({"width": width + 80, "height": height + 200})
        page.goto(f"{self.ehr}/ehr/?patient={patient_id}&client_id={CLIENT_ID}")
        page.eval_on_selector(
            "#smart-app",
            """(frame, [w, h]) => {
                frame.closest('main').style.maxWidth = 'none';
                frame.style.width = w + 'px';
                frame.style.height = h + 'px';
                frame.style.border = '0';
                frame.style.display = 'block';
                // whole pixels, so a screenshot of the frame is exactly w x h
                const r = frame.getBoundingClientRect();
                frame.style.marginTop = (Math.ceil(r.top) - r.top) + 'px';
                frame.style.marginLeft = (Math.ceil(r.left) - r.left) + 'px';
            }""",
            [width, height],
        )
        page.frame_locator("#smart-app").locator("button[value=allow]").click()
        frame = _app_frame(page, self.app)
        settle(frame)
        inner = frame.evaluate("[window.innerWidth, window.innerHeight]")
        assert inner == [width, height], f"the chart's iframe is {inner}, not {frame_size}"
        return frame

    def qa_sign_in(self, page: Page) -> None:
        """A QA staff member signs in (Django admin login); they land on the QA launch page."""
        from django.contrib.auth import get_user_model

        password = "qa-password-123"
        get_user_model().objects.create_user("qa", password=password, is_staff=True)
        page.goto(f"{self.app}/admin/login/?next=/qa/launch")
        page.fill("#id_username", "qa")
        page.fill("#id_password", password)
        page.click("input[type=submit]")
        page.wait_for_url(f"{self.app}/qa/launch")
        settle(page)

    def provider(self, page: Page) -> str:
        """From the QA launch page: a provider launch as a practitioner; the patient search."""
        page.select_option("#kind", "provider")
        page.click("button[type=submit]")
        page.check("input[value='Practitioner/prac-2']")
        page.click("button[type=submit]")
        page.click("button[value=allow]")
        page.wait_for_url(f"{self.app}/l/**/patients**")
        settle(page)
        return page.url


@dataclass
class Launched:
    """Where a launch landed (the summary) and the callback URLs the browser went through."""

    summary: str
    callbacks: list[str]

    @property
    def handle(self) -> str:
        return handle_of(self.summary)


def handle_of(url: str) -> str:
    """The launch handle in an app URL (`/l/<handle>/...`)."""
    parts = urlsplit(url).path.split("/")
    assert parts[1] == "l", url
    return parts[2]


def _callback_urls(page: Page) -> list[str]:
    seen: list[str] = []
    page.on(
        "request",
        lambda request: seen.append(request.url) if "/smart/callback" in request.url else None,
    )
    return seen


def _app_frame(page: Page, app: str) -> Frame:
    for _ in range(150):
        frames = [f for f in page.frames if f.url.startswith(f"{app}/l/")]
        if frames:
            return frames[0]
        page.wait_for_timeout(100)
    raise AssertionError(
        f"the app's summary never loaded in the chart: {[f.url for f in page.frames]}"
    )


def settle(target: Page | Frame) -> None:
    """Wait until the page (or frame) has loaded and stopped fetching (sections that arrive
    after the first byte included)."""
    target.wait_for_load_state("load", timeout=SETTLE_MS)
    target.wait_for_load_state("networkidle", timeout=SETTLE_MS)


def drilldown_urls(target: Page | Frame) -> dict[str, str]:
    """From a summary: the first vital's history, the first lab's history, the labs list."""
    base = target.url
    handle = handle_of(base)
    vital = target.locator("[data-section=vitals] a[href*='/vitals/']").first.get_attribute("href")
    lab = target.locator("[data-section=labs] a[href*='/labs?code=']").first.get_attribute("href")
    assert vital, "the summary links to no vital's history"
    assert lab, "the summary links to no lab's history"
    return {
        "vital history": urljoin(base, vital),
        "lab history": urljoin(base, lab),
        "labs list": urljoin(base, f"/l/{handle}/list/labs"),
    }


@pytest.fixture
def wired(browser: Browser, live_server: Any, sandbox_server: str) -> Iterator[Wired]:
    """The app registered at the sandbox (client) and the sandbox at the app (connection)."""
    app = live_server.url
    with override_settings(APP_BASE_URL=app):
        register_client(
            client_id=CLIENT_ID,
            redirect_uris=[f"{app}/smart/callback"],
            launch_uri=f"{app}/smart/launch",
            secret=SECRET,
        )
        register_connection(
            slug="sandbox",
            name="Sandbox EHR",
            iss=f"{sandbox_server}/fhir",
            client_id=CLIENT_ID,
            client_auth="client_secret_basic",
            client_secret=SECRET,
            frame_origins=[sandbox_server],
        )
        world = Wired(app, sandbox_server, browser)
        yield world
        for context in world.contexts:
            context.close()
