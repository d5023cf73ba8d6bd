"""The clinician's EHR launch inside the sandbox chart's iframe, in a real Chromium.

Two real servers on two sites: the app on `localhost`, the sandbox on `127.0.0.1`. The app is
a third party inside the chart, so this proves the session cookie (SameSite=None, Secure,
Partitioned) and the framing headers work where unit tests cannot see.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import Page

from sandbox.clients import register_client
from smartapp.registry import register_connection
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_ehr_launch_inside_the_chart(page: Page, live_server, sandbox_server) -> None:
    app = live_server.url
    with override_settings(APP_BASE_URL=app):
        register_connection(
            slug="sandbox",
            name="Sandbox EHR",
            iss=f"{sandbox_server}/fhir",
            client_id="chart-app",
            client_auth="client_secret_basic",
            client_secret="chart-secret",
            frame_origins=[sandbox_server],
        )
        register_client(
            client_id="chart-app",
            redirect_uris=[f"{app}/smart/callback"],
            launch_uri=f"{app}/smart/launch",
            secret="chart-secret",
        )
        page.goto(f"{sandbox_server}/ehr/?patient=pat-05&client_id=chart-app")
        frame = page.frame_locator("#smart-app")
        frame.locator("button[value=allow]").click()
        assert frame.locator("[data-testid=patient-name]").inner_text() == "James Jones"
        assert page.locator("[data-testid=ehr-patient-name]").inner_text() == "James Jones"
        app_frame = next(f for f in page.frames if f.url.startswith(app))
        assert "/l/" in app_frame.url
        screenshot(page, "ehr-launch-in-chart")
