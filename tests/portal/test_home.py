"""Issue 14: the home page while signed in lists the launches active in this browser, with a
link to each one's summary (only its opaque handle in the URL), and "Sign out everywhere"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant
from smartapp.summary.service import build_summary

pytestmark = [pytest.mark.postgres]

LISTED = re.compile(r'<li data-testid="open-launch">\s*<a href="([^"]+)">([^<]*)</a>')


def listed(page) -> list[tuple[str, str]]:
    assert page.status_code == 200
    return LISTED.findall(page.content.decode())


def two_launches(connect, browser) -> tuple[Launch, Launch]:
    connection = connect()
    browser.launch(browser.start_ehr(connection, patient="pat-01"))
    browser.launch(browser.start_standalone(connection), user="Patient/pat-02")
    first = Launch.objects.get(patient_id="pat-01")
    second = Launch.objects.get(patient_id="pat-02")
    return first, second


def test_signed_out_home_lists_nothing(sandbox, connect, browser) -> None:
    connect()
    page = browser.client.get("/")
    assert listed(page) == []
    assert b"Sign out everywhere" not in page.content
    assert b"Sign in with Sandbox (ehr)" in page.content


def test_signed_in_home_lists_this_browsers_launches(sandbox, connect, browser) -> None:
    first, second = two_launches(connect, browser)
    build_summary(first, only=("demographics",))  # the patient's name is in the cache
    page = browser.client.get("/")
    rows = dict(listed(page))
    assert set(rows) == {f"/l/{first.handle}/", f"/l/{second.handle}/"}
    assert rows[f"/l/{first.handle}/"] == "John Smith"
    body = page.content.decode()
    assert 'action="/sign-out"' in body
    assert "Sign out everywhere" in body
    assert "private" in page["Cache-Control"]
    assert "no-store" in page["Cache-Control"]
    # Newest first; nothing but handles in the links (no patient id or name in a URL).
    assert next(iter(rows)) == f"/l/{second.handle}/"
    assert "pat-01" not in body
    assert "pat-02" not in body


def test_without_a_cached_name_the_organisation_and_start(sandbox, connect, browser) -> None:
    first, _ = two_launches(connect, browser)
    cache.clear()
    rows = dict(listed(browser.client.get("/")))
    assert rows[f"/l/{first.handle}/"] == "Patient summary from Sandbox (ehr)"


def test_a_cached_name_is_not_shown_once_the_access_token_expired(
    sandbox, connect, browser
) -> None:
    first, _ = two_launches(connect, browser)
    build_summary(first, only=("demographics",))
    TokenGrant.objects.filter(launch=first).update(expires_at=timezone.now() - timedelta(seconds=1))
    rows = dict(listed(browser.client.get("/")))
    assert rows[f"/l/{first.handle}/"] == "Patient summary from Sandbox (ehr)"


def test_a_provider_launch_without_a_patient_yet(sandbox, connect, browser) -> None:
    connection = connect()
    browser.sign_in_staff()
    browser.launch(
        browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
    )
    handle = Launch.objects.get().handle
    assert listed(browser.client.get("/")) == [(f"/l/{handle}/", "Find a patient in Sandbox (ehr)")]


def test_another_browser_sees_none_of_them(sandbox, connect, browser) -> None:
    first, second = two_launches(connect, browser)
    build_summary(first, only=("demographics",))
    stranger = Client().get("/")
    assert listed(stranger) == []
    body = stranger.content.decode()
    assert first.handle not in body
    assert second.handle not in body
    assert "John Smith" not in body


def test_ended_launches_are_not_listed(sandbox, connect, browser) -> None:
    first, second = two_launches(connect, browser)
    assert browser.client.post(f"/l/{first.handle}/sign-out").status_code == 303
    assert [href for href, _ in listed(browser.client.get("/"))] == [f"/l/{second.handle}/"]


def test_sign_out_everywhere_from_the_home_page(sandbox, connect, browser) -> None:
    first, second = two_launches(connect, browser)
    done = browser.client.post("/sign-out")
    assert done.status_code == 303
    assert b"You have signed out" in browser.client.get(done["Location"]).content
    for launch in (first, second):
        launch.refresh_from_db()
        assert launch.state == LaunchState.SIGNED_OUT
    assert listed(browser.client.get("/")) == []
