"""Smaller finding of issue 12: anonymous `GET /smart/launch` cannot fill the tables.

Launch starts are budgeted per client address in the shared cache (a 429 page with
`Retry-After` past the budget, before any write); a request without a registered `iss` and a
`launch` writes nothing; a valid one writes its launch row and no session row.
"""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from smartapp.models import Launch
from tests.smartapp.launches.test_launch_refusals import refused

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_past_the_budget_a_429_before_any_write(sandbox, connect, browser, settings) -> None:
    settings.LAUNCH_STARTS_PER_WINDOW = 3
    settings.LAUNCH_START_WINDOW_S = 60
    connection = connect()
    for _ in range(3):
        assert browser.start_ehr(connection).status_code == 302
    response = browser.start_ehr(connection)
    refused(response, 429, "too_many_launches")
    assert response["Retry-After"] == "60"
    assert response["Referrer-Policy"] == "no-referrer"
    assert Launch.objects.count() == 3
    other = browser.client.get(
        "/smart/launch", {"iss": connection.iss, "launch": "x"}, REMOTE_ADDR="192.0.2.7"
    )
    assert other.status_code == 302  # another address has its own budget
    standalone = browser.start_standalone(connection)
    refused(standalone, 429, "too_many_launches")


def test_invalid_starts_write_nothing(sandbox, connect, browser) -> None:
    connection = connect()
    for params in [{}, {"iss": connection.iss}, {"launch": "x"}, {"iss": "https://x.test/fhir"}]:
        for _ in range(5):
            assert browser.client.get("/smart/launch", params).status_code == 400
    assert Launch.objects.count() == 0
    assert Session.objects.count() == 0


def test_a_valid_start_writes_its_launch_row_and_no_session(sandbox, connect, browser) -> None:
    connection = connect()
    for _ in range(5):
        assert browser.start_ehr(connection).status_code == 302
    assert Launch.objects.count() == 5
    assert Session.objects.count() == 0
    browser.launch(browser.start_ehr(connection))
    assert Session.objects.count() == 0  # nor does finishing one: the launch's cookie binds it
