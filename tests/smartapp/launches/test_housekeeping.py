"""smartapp.tasks.purge_launches: abandoned sign-ins expire, stale sessions end, old ones go."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant
from smartapp.tasks import purge_launches


def test_purge(sandbox, connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_ehr(connection, patient="pat-01"))  # active, recent
    browser.start_ehr(connection, patient="pat-02")  # abandoned at the EHR's sign-in
    active, abandoned = Launch.objects.order_by("created")
    assert abandoned.state == LaunchState.AUTHORIZING
    Launch.objects.filter(pk=abandoned.pk).update(
        state_expires_at=timezone.now() - timedelta(minutes=1)
    )

    counts = purge_launches.apply().get()
    assert counts == {
        "expired": 1,
        "ended": 0,
        "deleted": 0,
        "orphan_grants": 0,
        "api_tokens": 0,
    }
    abandoned.refresh_from_db()
    assert abandoned.state == LaunchState.EXPIRED
    assert abandoned.verifier_encrypted == ""
    assert purge_launches.apply().get() == {
        "expired": 0,
        "ended": 0,
        "deleted": 0,
        "orphan_grants": 0,
        "api_tokens": 0,
    }

    Launch.objects.filter(pk=active.pk).update(updated=timezone.now() - timedelta(hours=13))
    assert purge_launches.apply().get()["ended"] == 1
    active.refresh_from_db()
    assert active.state == LaunchState.EXPIRED
    assert TokenGrant.objects.count() == 0

    Launch.objects.update(updated=timezone.now() - timedelta(days=8))
    assert purge_launches.apply().get()["deleted"] == 2
    assert Launch.objects.count() == 0
