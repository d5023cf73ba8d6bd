"""Issue 12 items 5 and 6: which browser a launch belongs to, under attack and under races.

- Session fixation: cookies planted in the victim's browser before the launch (all the cookies
  an attacker's own visit got) open nothing of the victim's launch afterwards, nor sign it out.
- Two tabs: two callbacks finishing together, and two first-contact `/smart/launch` requests
  from a new browser, each many times with real threads against PostgreSQL: no launch lost,
  every tab shows its own patient, whichever response's cookies the browser stored last.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.db import connections

from smart.launch_states import LaunchState
from smartapp.models import Launch
from tests.fixtures.app import AppBrowser, PageClient
from tests.fixtures.sandbox import LAUNCH
from tests.smartapp.launches.test_launch_flow import patient_name

pytestmark = [pytest.mark.postgres]
TRIALS = 12
NAMES = {"pat-01": "John Smith", "pat-02": "Jennifer Johnson"}


def jar(cookies: SimpleCookie) -> dict[str, str]:
    return {name: morsel.value for name, morsel in cookies.items()}


def client_with(cookies: dict[str, str]) -> PageClient:
    client = PageClient()
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


def store(cookies: dict[str, str], response: Any) -> None:
    """What a browser does with a response's Set-Cookie headers."""
    for name, morsel in response.cookies.items():
        if morsel["max-age"] == 0 or morsel.value == "":
            cookies.pop(name, None)
        else:
            cookies[name] = morsel.value


def together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_cookies_planted_before_the_launch_open_nothing_after(sandbox, connect, browser) -> None:
    connection = connect()
    attacker = AppBrowser(sandbox)
    attacker.start_ehr(connection, patient="pat-01")  # every cookie a first visit gets
    planted = jar(attacker.client.cookies)
    assert planted
    for name, value in planted.items():
        browser.client.cookies[name] = value
    page = browser.launch(browser.start_ehr(connection, patient="pat-04"))
    assert patient_name(page) == "Sarah Brown"
    victim = Launch.objects.get(patient_id="pat-04")

    thief = client_with(planted)
    assert thief.get(f"/l/{victim.handle}/").status_code == 404
    assert thief.post(f"/l/{victim.handle}/sign-out").status_code == 404
    thief.post("/sign-out")
    victim.refresh_from_db()
    assert victim.state == LaunchState.ACTIVE
    assert patient_name(browser.client.get(f"/l/{victim.handle}/")) == "Sarah Brown"
    attacker.http.close()


def test_two_callbacks_finishing_together_lose_nothing(sandbox, connect, browser) -> None:
    connection = connect()
    for trial in range(TRIALS):
        callbacks = [
            browser.authorize(browser.start_ehr(connection, patient=patient)) for patient in NAMES
        ]
        sent = jar(browser.client.cookies)
        responses = together(
            *(lambda url=url, sent=sent: client_with(sent).get(path_of(url)) for url in callbacks)
        )
        assert [r.status_code for r in responses] == [303, 303], trial
        # The browser stores the two answers' cookies in either order.
        for order in (responses, responses[::-1]):
            cookies = dict(sent)
            for response in order:
                store(cookies, response)
            tab = client_with(cookies)
            for response, patient in zip(responses, NAMES, strict=True):
                page = tab.get(response["Location"])
                assert page.status_code == 200, (trial, patient)
                assert patient_name(page) == NAMES[patient]
        browser.client.cookies = SimpleCookie(cookies)  # the next trial, in the same browser
    assert Launch.objects.filter(state=LaunchState.ACTIVE).count() == 2 * TRIALS


def test_two_first_contact_launches_from_a_new_browser(sandbox, connect) -> None:
    connection = connect()
    button = connection.iss.removesuffix("/fhir") + "/ehr/launch"
    with httpx.Client(timeout=10) as http:
        for trial in range(TRIALS):
            targets = []
            for patient in NAMES:
                pressed = http.get(
                    button,
                    params={
                        "client_id": connection.client_id,
                        "patient": patient,
                        "user": "prac-1",
                    },
                )
                target = httpx.URL(pressed.headers["location"])
                assert str(target).startswith(LAUNCH)
                targets.append(dict(target.params))
            starts = together(
                *(
                    lambda params=params: PageClient().get("/smart/launch", params)
                    for params in targets
                )
            )
            assert [r.status_code for r in starts] == [302, 302], trial
            cookies: dict[str, str] = {}
            for response in starts:
                store(cookies, response)
            tab = AppBrowser.__new__(AppBrowser)
            tab.client, tab.http = client_with(cookies), http
            for start, patient in zip(starts, NAMES, strict=True):
                page = tab.launch(start)
                assert page.status_code == 200, (trial, patient)
                assert patient_name(page) == NAMES[patient]


def test_launches_started_and_never_finished_do_not_pile_up_cookies(
    sandbox, connect, browser
) -> None:
    # Any page can make a browser start launch after launch; without pruning at the start
    # too, the Cookie header grows until servers refuse every request from that browser.
    from smartapp.launches.browser import COOKIE_PREFIX, MAX_LAUNCHES_PER_BROWSER

    connection = connect()
    for _ in range(MAX_LAUNCHES_PER_BROWSER + 5):
        assert browser.start_ehr(connection).status_code == 302
    cookies = browser.client.cookies  # the test client keeps deleted cookies, emptied
    held = [name for name in cookies if name.startswith(COOKIE_PREFIX) and cookies[name].value]
    assert len(held) == MAX_LAUNCHES_PER_BROWSER
