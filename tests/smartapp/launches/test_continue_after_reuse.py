"""Issue 14: reloading the callback, or Back to the consent page and Allow again, while the
launch is live in this browser offers "Continue to your summary" instead of "start again".

Still a refusal (400 `state_replayed`): the state stays single use, a second code is never
exchanged, and the link is offered only to the browser holding the launch's rotated cookie.
Any other browser (or a cookie from before the rotation) sees the plain refusal and nothing
about the launch.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from smart.launch_states import LaunchState
from smartapp.launches.browser import cookie_name
from smartapp.models import Launch

pytestmark = [pytest.mark.postgres]

CONTINUE = re.compile(r'<a href="([^"]*)" data-testid="continue">')


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def token_exchanges(sandbox) -> int:
    counts = sandbox.stats()["token_requests"]
    return sum(n for key, n in counts.items() if key.startswith("authorization_code"))


def replay_refused(response) -> str:
    """The page a replay gets: still the 400 refusal; its continue link, or ''."""
    assert response.status_code == 400, response.content[:300]
    body = response.content.decode()
    assert "<code>state_replayed</code>" in body
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    found = CONTINUE.search(body)
    return found[1] if found else ""


def test_reloading_the_callback_offers_the_live_session(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    assert browser.callback(callback).status_code == 303
    launch = Launch.objects.get()
    sandbox.reset_stats()

    link = replay_refused(browser.callback(callback))
    assert link == f"/l/{launch.handle}/"
    assert token_exchanges(sandbox) == 0  # the spent code is not tried again
    assert browser.client.get(link).status_code == 200
    launch.refresh_from_db()
    assert launch.state == LaunchState.ACTIVE


def test_back_to_consent_and_allow_again_offers_the_live_session(sandbox, connect, browser) -> None:
    connection = connect()
    start = browser.start_standalone(connection)
    assert browser.callback(browser.authorize(start, user="Patient/pat-02")).status_code == 303
    launch = Launch.objects.get()
    sandbox.reset_stats()

    again = browser.authorize(start, user="Patient/pat-02")  # a new code, the same state
    link = replay_refused(browser.callback(again))
    assert link == f"/l/{launch.handle}/"
    assert token_exchanges(sandbox) == 0  # the second code is never exchanged
    assert browser.client.get(link).status_code == 200
    assert Launch.objects.count() == 1


def test_another_browser_replaying_the_callback_learns_nothing(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    assert browser.callback(callback).status_code == 303
    launch = Launch.objects.get()
    sandbox.reset_stats()

    stranger = Client()
    page = stranger.get(path_of(callback))
    assert replay_refused(page) == ""
    assert launch.handle not in page.content.decode()
    assert b"John Smith" not in page.content
    assert stranger.get(f"/l/{launch.handle}/").status_code == 404
    assert token_exchanges(sandbox) == 0


def test_a_cookie_from_before_the_rotation_gets_no_link(sandbox, connect, browser) -> None:
    """Someone who copied the launch's cookie before the sign-in finished (fixation) and
    replays the callback URL gets the plain refusal: the secret was replaced at activation."""
    connection = connect()
    start = browser.start_ehr(connection)
    callback = browser.authorize(start)
    name = cookie_name(Launch.objects.get().handle)
    early = browser.client.cookies[name].value  # the secret before activation
    assert browser.callback(callback).status_code == 303

    thief = Client()
    thief.cookies[name] = early
    assert replay_refused(thief.get(path_of(callback))) == ""


def test_a_signed_out_launch_is_not_offered(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    assert browser.callback(callback).status_code == 303
    handle = Launch.objects.get().handle
    assert browser.client.post(f"/l/{handle}/sign-out").status_code == 303

    page = browser.callback(callback)
    assert replay_refused(page) == ""
    assert b"sign in again" in page.content


def test_a_failed_launch_replayed_is_not_offered(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection), deny=True)
    assert browser.callback(callback).status_code == 403
    assert replay_refused(browser.callback(callback)) == ""
