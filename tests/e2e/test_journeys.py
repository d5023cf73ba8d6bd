"""The journeys users live, in a real Chromium, against the app and the sandbox as real
servers on two sites (app `localhost`, EHR `127.0.0.1`; PostgreSQL and Redis in CI).

Every journey runs under a recorder that keeps each response body and header, the cookies,
`localStorage`/`sessionStorage` and console messages the browser saw; at the end none may
contain an access, refresh or id token (the real values, read from the sandbox's database).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, Response

from sandbox import simulation
from sandbox.clients import register_client
from sandbox.synthetic import XSS_PAYLOADS
from sandbox.synthetic import documents as docs
from smartapp.registry import register_connection
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SECRET = "journey-secret"


@dataclass
class Recorder:
    """Everything the browser saw."""

    seen: list[str] = field(default_factory=list)

    def on_response(self, response: Response) -> None:
        self.seen.append(f"{response.status} {response.url} {response.headers}")
        kind = response.headers.get("content-type", "")
        if "text" in kind or "json" in kind:
            with suppress(Exception):  # redirects and aborted loads have no body
                self.seen.append(response.text())

    def snapshot(self, context: BrowserContext) -> None:
        self.seen.append(str(context.cookies()))
        storage = "() => [JSON.stringify(localStorage), JSON.stringify(sessionStorage)]"
        for page in context.pages:
            for frame in page.frames:
                with suppress(Exception):  # frames that are gone or blocked
                    self.seen.append(str(frame.evaluate(storage)))


@dataclass
class World:
    app: str
    ehr: str
    context: BrowserContext
    recorder: Recorder

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", lambda message: self.recorder.seen.append(message.text))
        return page

    def connect(self, slug: str = "sandbox", name: str = "Sandbox EHR", **options: Any) -> str:
        """Register the app with a sandbox base (and back); the base's FHIR URL."""
        iss = f"{self.ehr}/sim/{simulation.encode(options)}/fhir" if options else f"{self.ehr}/fhir"
        register_connection(
            slug=slug,
            name=name,
            iss=iss,
            client_id="journey-app",
            client_auth="client_secret_basic",
            client_secret=SECRET,
            frame_origins=[self.ehr],
        )
        return iss


@pytest.fixture
def world(browser: Browser, live_server, sandbox_server) -> Iterator[World]:
    from sandbox.models import Token

    app = live_server.url
    context = browser.new_context()
    recorder = Recorder()
    context.on("response", recorder.on_response)
    with override_settings(APP_BASE_URL=app):
        register_client(
            client_id="journey-app",
            redirect_uris=[f"{app}/smart/callback"],
            launch_uri=f"{app}/smart/launch",
            secret=SECRET,
        )
        yield World(app, sandbox_server, context, recorder)
        recorder.snapshot(context)
        context.close()
    # The leak scan: no token value the EHR issued was ever visible to the browser.
    material = "\n".join(recorder.seen)
    tokens = [
        t
        for row in Token.objects.all()
        for t in (row.access_token, row.refresh_token, row.id_token)
        if t
    ]
    assert tokens or not Token.objects.exists()
    leaked = [t[:8] for t in tokens if t in material]
    assert leaked == [], f"tokens visible to the browser: {leaked}"


def sign_in(page: Page, user: str, untick: tuple[str, ...] = ()) -> None:
    """At the sandbox: pick who you are, then consent (unticking some scopes)."""
    page.check(f"input[value='{user}']")
    page.click("button[type=submit]")
    for scope in untick:
        page.uncheck(f"input[value='{scope}']")
    page.click("button[value=allow]")


def sections_loaded(page: Page) -> None:
    """The streamed summary has ended: the document is loaded and every placeholder has
    given way to its section."""
    page.wait_for_load_state("load")
    assert page.locator("[data-pending-section]").count() == 0


def patient_name(page: Page) -> str:
    return page.locator("[data-testid=patient-name]").inner_text()


# 1 ---------------------------------------------------------------------------------------


def test_clinician_ehr_launch_in_the_chart_and_framing_elsewhere_refused(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.ehr}/ehr/?patient=pat-05&client_id=journey-app")
    frame = page.frame_locator("#smart-app")
    frame.locator("button[value=allow]").click()
    assert frame.locator("[data-testid=patient-name]").inner_text() == "James Jones"
    app_frame = next(f for f in page.frames if f.url.startswith(world.app))
    summary_url = app_frame.url
    screenshot(page, "journey-1-ehr-launch")

    # Another site frames the same page: the browser must refuse (frame-ancestors).
    page.route(
        "http://elsewhere.test/",
        lambda route: route.fulfill(
            content_type="text/html", body=f'<iframe id="x" src="{summary_url}"></iframe>'
        ),
    )
    page.goto("http://elsewhere.test/")
    page.wait_for_timeout(1000)
    framed = [f for f in page.frames if f != page.main_frame]
    assert framed
    assert all(
        "James Jones" not in (f.content() if not f.url.startswith("chrome-error") else "")
        for f in framed
    )


# 2 ---------------------------------------------------------------------------------------


def test_two_charts_in_two_tabs(world: World) -> None:
    world.connect()
    tabs = {}
    for patient, name in (("pat-01", "John Smith"), ("pat-02", "Jennifer Johnson")):
        tab = world.page()
        tab.goto(f"{world.ehr}/ehr/launch?client_id=journey-app&patient={patient}")
        tab.click("button[value=allow]")
        assert patient_name(tab) == name
        tabs[name] = tab
    for _ in range(2):
        for name, tab in tabs.items():
            tab.reload()
            assert patient_name(tab) == name
            tab.click("#vitals a >> nth=0")
            assert tab.locator("h1").inner_text() == "Blood pressure"
            tab.go_back()
            assert patient_name(tab) == name
    screenshot(tabs["Jennifer Johnson"], "journey-2-second-tab")


# 3 ---------------------------------------------------------------------------------------


def test_patient_standalone_portal_with_two_scopes_unticked(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-03", untick=("patient/Condition.rs", "patient/Immunization.rs"))
    assert patient_name(page) == "Robert Williams"
    for section in ("problems", "immunizations"):
        assert page.locator(f"#{section} [data-status=not_shared]").count() == 1
    assert page.locator("#vitals [data-status=ok]").count() == 1
    screenshot(page, "journey-3-patient-not-shared")


# 4 ---------------------------------------------------------------------------------------


def test_qa_provider_launch_with_patient_search(world: World) -> None:
    world.connect()
    get_user_model().objects.create_user("qa", password="qa-password-123", is_staff=True)
    page = world.page()
    page.goto(f"{world.app}/admin/login/?next=/qa/launch")
    page.fill("#id_username", "qa")
    page.fill("#id_password", "qa-password-123")
    page.click("input[type=submit]")
    page.select_option("#kind", "provider")
    page.click("button[type=submit]")
    sign_in(page, "Practitioner/prac-2")
    page.fill("#name", "johnson")
    page.click("button:has-text('Search')")
    page.click("tr:has-text('Jennifer Johnson') button")
    assert patient_name(page) == "Jennifer Johnson"
    screenshot(page, "journey-4-provider")


# 5 ---------------------------------------------------------------------------------------


def test_token_expiry_mid_session_then_the_ehr_ends_it(world: World) -> None:
    from sandbox.models import Token

    world.connect(
        token_ttl=4,
        token_error={"error": "invalid_grant", "grant_type": "refresh_token", "after": 1},
    )
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-01")
    assert patient_name(page) == "John Smith"
    time.sleep(2.5)  # past the refresh margin (half of the 4 s lifetime)
    page.reload()
    assert patient_name(page) == "John Smith"  # the page kept loading: a refresh happened
    assert Token.objects.count() == 2
    time.sleep(2.5)
    page.reload()  # the EHR now refuses refreshes
    assert "Your session with Sandbox EHR has ended" in page.locator("h1").inner_text()
    assert page.locator("text=sign in again").count() == 1
    assert "John Smith" not in page.content()
    screenshot(page, "journey-5-session-ended")


# 6 ---------------------------------------------------------------------------------------


def test_cancel_at_consent(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    page.check("input[value='Patient/pat-01']")
    page.click("button[type=submit]")
    page.click("button[value=deny]")
    assert page.locator("h1").inner_text() == "You chose not to share"
    page.click("text=sign in again")
    assert page.url == f"{world.app}/"
    screenshot(page, "journey-6-cancelled")


# 7 ---------------------------------------------------------------------------------------


def test_sign_out_then_back_shows_nothing(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-02")
    summary_url = page.url
    assert patient_name(page) == "Jennifer Johnson"
    page.click("button:has-text('Sign out')")
    assert page.locator("h1").inner_text() == "You have signed out"
    page.go_back()
    assert "Jennifer Johnson" not in page.content()
    page.goto(summary_url)
    assert "Jennifer Johnson" not in page.content()
    assert page.locator("h1").inner_text() == "You have signed out"
    screenshot(page, "journey-7-signed-out")


# 9 ---------------------------------------------------------------------------------------


def test_script_payloads_never_run(world: World) -> None:
    world.connect()
    page = world.page()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/xss")
    assert patient_name(page) == f"{XSS_PAYLOADS[1]} {XSS_PAYLOADS[0]}"  # shown as text
    assert XSS_PAYLOADS[1] in page.locator("#problems").inner_text()
    assert page.locator("img[src=x]").count() == 0
    # The one script is the app's own static file; nothing the EHR sent became a script.
    sources = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert sources == ["/static/js/summary.js"]
    page.reload()
    assert dialogs == []
    screenshot(page, "journey-9-xss-patient")


# 3b --------------------------------------------------------------------------------------


def test_the_summary_page_reads_well(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/pat-03")
    sections_loaded(page)
    assert page.locator("#vitals tr[data-vital=blood-pressure]").count() == 1
    assert page.locator("#labs tbody tr").count() >= 5
    assert page.locator("#vitals [data-status=ok]").count() == 1
    screenshot(page, "summary-pat-03")


# 10 --------------------------------------------------------------------------------------


def test_clinician_opens_the_latest_discharge_summary(world: World) -> None:
    world.connect()
    page = world.page()
    page.goto(f"{world.ehr}/ehr/?patient=pat-01&client_id=journey-app")
    frame = page.frame_locator("#smart-app")
    frame.locator("button[value=allow]").click()
    newest = frame.locator("#documents tbody tr >> nth=0")
    assert "Discharge summary" in newest.inner_text()
    newest.locator("a").click()
    assert frame.locator("h1").inner_text() == "Discharge summary"
    text = frame.locator("[data-content=text]").inner_text()
    assert docs.DISCHARGE_DIAGNOSIS_LINE in text
    assert frame.locator("[data-finding]").count() == 0  # its size and hash were right
    screenshot(page, "journey-10-discharge-summary")

    # The consult letter, a PDF the EHR keeps in a Binary: the browser's own viewer shows it
    # from the app's origin, framed by the app's page inside the EHR's chart.
    frame.locator("text=Back to the summary").click()
    frame.locator(f"#documents a[href*='{docs.CONSULT}']").click()
    frame.locator("iframe[data-content=pdf]").wait_for()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        f.url.startswith("chrome-extension://") for f in page.frames
    ):
        page.wait_for_timeout(200)
    viewers = [f for f in page.frames if f.url.startswith("chrome-extension://")]
    assert viewers, [f.url for f in page.frames]
    assert all(not f.url.startswith(world.ehr + "/fhir") for f in page.frames)
    page.wait_for_timeout(1000)  # the viewer draws the page
    screenshot(page, "journey-10-consult-pdf")


# 11 --------------------------------------------------------------------------------------


def test_a_hostile_note_runs_nothing_and_loads_nothing(world: World) -> None:
    world.connect()
    page = world.page()
    dialogs: list[str] = []
    requested: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{world.app}/")
    page.click("text=Sign in with Sandbox EHR")
    sign_in(page, "Patient/xss")
    requested.clear()
    handle = page.url.split("/l/")[1].split("/")[0]
    page.goto(f"{world.app}/l/{handle}/documents/DocumentReference/{docs.XSS_HOSTILE}")
    assert docs.SURVIVING_SENTENCE in page.locator("[data-content=html]").inner_text()
    page.wait_for_timeout(1500)  # a meta refresh or a late load would have happened by now
    assert page.url.startswith(world.app)
    assert dialogs == []
    foreign = [url for url in requested if not url.startswith(world.app)]
    assert foreign == [], foreign
    sources = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert sources == []  # the document page has no script at all
    screenshot(page, "journey-11-hostile-note")
