"""A token endpoint slower than the app waits, over real HTTP to the sandbox.

A refresh is not idempotent: an EHR that rotates refresh tokens spends the old one when it
carries out the refresh, whether or not its answer arrives. So a refresh that got no answer
is never sent again (a strict EHR would take the replay for theft and revoke the grant,
`refresh: reuse_revokes_family`); the user is told the EHR did not answer in time, and what
the app held is given back. The sandbox's `token_delay_ms` does the grant, then waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from smart.clock import ManualClock
from smart.launch_states import LaunchState
from smartapp import outbound
from smartapp.clock import use_clock
from smartapp.models import Launch, TokenGrant
from smartapp.vault import revocation
from tests.smartapp.launches.test_launch_refusals import refused
from tests.smartapp.vault.test_tokens import expire_access_token, launched, refreshes

SLOW_MS = 1500  # the EHR's delay; the app is made to give up well before it


@pytest.fixture
def token_read_timeout(monkeypatch) -> Iterator[Callable[[float], None]]:
    """Lower the token client's read timeout (the other purposes keep theirs)."""
    real = outbound._timeouts

    def lower(read_s: float) -> None:
        def timeouts(purpose: outbound.Purpose) -> outbound.TimeoutPolicy:
            if purpose is outbound.Purpose.TOKEN:
                return outbound.TimeoutPolicy(3.0, read_s)
            return real(purpose)

        monkeypatch.setattr(outbound, "_timeouts", timeouts)
        outbound.reset()

    yield lower
    monkeypatch.undo()
    outbound.reset()


def eventually(check: Callable[[], bool], within_s: float = 15.0) -> bool:
    """For what the sandbox does after answering (its threads finish on their own time)."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def family_revoked() -> bool:
    from sandbox.models import Token

    return all(token.access_revoked and token.refresh_revoked for token in Token.objects.all())


def assert_not_replayed_and_told(sandbox, response, launch: Launch) -> None:
    assert refreshes(sandbox) == 1  # one refresh, never replayed ...
    assert sandbox.stats()["refresh_reuse_rejected"] == {}  # ... so the EHR saw no reuse
    refused(response, 504, "refresh_outcome_unknown")
    assert b"did not answer in time" in response.content
    assert b"Open the app again" in response.content
    assert b"John Smith" not in response.content
    assert TokenGrant.objects.count() == 0  # the grant is over: nothing left to replay later
    ended = Launch.objects.get(pk=launch.pk)
    assert ended.state == LaunchState.REAUTH_REQUIRED
    assert ended.failure_code == "refresh_outcome_unknown"


def test_a_refresh_without_an_answer_is_not_replayed(
    sandbox, connect, browser, token_read_timeout
) -> None:
    _, launch = launched(
        sandbox, connect, browser, refresh="reuse_revokes_family", token_delay_ms=SLOW_MS
    )
    token_read_timeout(0.3)
    expire_access_token()
    sandbox.reset_stats()
    response = browser.client.get(f"/l/{launch.handle}/")
    assert_not_replayed_and_told(sandbox, response, launch)
    # What the app held goes back to the EHR (RFC 7009), which on a rotating EHR also ends
    # the new tokens nobody received.
    assert revocation.wait_idle()
    assert eventually(family_revoked)
    refused(browser.client.get(f"/l/{launch.handle}/"), 401, "session_ended")
    assert refreshes(sandbox) == 1  # and later pages do not try again with the spent token


def test_the_user_waits_no_longer_than_the_refresh_budget(
    sandbox, connect, browser, settings
) -> None:
    # The token client would wait 10 s; the EHR answers in 1.5 s; the budget is 0.3 s.
    _, launch = launched(
        sandbox, connect, browser, refresh="reuse_revokes_family", token_delay_ms=SLOW_MS
    )
    settings.TOKEN_REFRESH_BUDGET_S = 0.3
    expire_access_token()
    sandbox.reset_stats()
    response = browser.client.get(f"/l/{launch.handle}/")
    assert_not_replayed_and_told(sandbox, response, launch)


def test_retries_of_answered_failures_stop_at_the_budget(sandbox, connect, browser, settings):
    _, launch = launched(
        sandbox,
        connect,
        browser,
        token_error={"error": "temporarily_unavailable", "grant_type": "refresh_token"},
    )
    settings.TOKEN_REFRESH_BUDGET_S = 0.5  # room for the 0.25 s back-off, not the 0.75 s one
    expire_access_token()
    with use_clock(ManualClock()) as clock:
        response = browser.client.get(f"/l/{launch.handle}/")
    refused(response, 503, "ehr_unavailable")
    assert refreshes(sandbox) == 2
    assert clock.slept == [0.25]
    assert TokenGrant.objects.count() == 1  # an answered refusal spends nothing: the grant stays
    assert Launch.objects.get().state == LaunchState.ACTIVE


def test_a_slow_answer_within_the_budget_is_waited_for(sandbox, connect, browser) -> None:
    _, launch = launched(
        sandbox, connect, browser, refresh="reuse_revokes_family", token_delay_ms=300
    )
    expire_access_token()
    sandbox.reset_stats()
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 1
    assert Launch.objects.get().state == LaunchState.ACTIVE
