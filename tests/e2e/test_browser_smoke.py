"""The browser toolchain works: Chromium renders the app served by a live server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_renders_in_chromium(page: Page, live_server) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    response = page.goto(f"{live_server.url}/")
    assert response is not None
    assert response.status == 200
    assert response.headers["x-request-id"]
    assert page.locator("h1").inner_text() == "Patient summary"
    # The stylesheet loaded (the header is styled, not browser-default).
    assert page.locator(".app-name").evaluate("e => getComputedStyle(e).fontWeight") == "600"
    assert screenshot(page, "smoke-home").stat().st_size > 0
    assert [line for line in console if line.startswith("error")] == []
