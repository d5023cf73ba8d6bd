"""The summary page in a real Chromium (the script-payload patient is journey 9)."""

from __future__ import annotations

import pytest
from django.test import override_settings
from playwright.sync_api import Page

from sandbox.clients import register_client
from smartapp.registry import register_connection
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in_as(page: Page, app: str, patient: str) -> None:
    page.goto(f"{app}/")
    page.click("text=Sign in with Sandbox EHR")
    page.check(f"input[value='Patient/{patient}']")
    page.click("button[type=submit]")
    page.click("button[value=allow]")
    page.wait_for_selector("h1:has-text('Summary')")


@pytest.fixture
def app(live_server, sandbox_server):
    url = live_server.url
    with override_settings(APP_BASE_URL=url):
        register_connection(
            slug="sandbox",
            name="Sandbox EHR",
            iss=f"{sandbox_server}/fhir",
            client_id="portal-app",
            client_auth="client_secret_basic",
            client_secret="portal-secret",
        )
        register_client(
            client_id="portal-app",
            redirect_uris=[f"{url}/smart/callback"],
            launch_uri=f"{url}/smart/launch",
            secret="portal-secret",
        )
        yield url


def test_summary_page_reads_well(page: Page, app) -> None:
    sign_in_as(page, app, "pat-03")
    assert page.locator("#vitals tr[data-vital=blood-pressure]").count() == 1
    assert page.locator("#labs tbody tr").count() >= 5
    assert page.locator("#vitals [data-status=ok]").count() == 1
    screenshot(page, "summary-pat-03")
