"""Single-flight refresh under a storm: 50 concurrent requests for one launch whose access
token has just expired, spread over 4 gunicorn worker processes, on PostgreSQL and Redis,
against a sandbox that revokes the whole token family on refresh-token reuse.

With the lock: exactly one refresh reaches the EHR, every request succeeds, the session lives.
Without it (a test-only switch): several refreshes race, the EHR sees reuse and revokes the
family, and the session dies. That second test is the failure the lock exists to prevent.

The sandbox's token endpoint rotates the refresh token and then holds its answer for
TOKEN_DELAY_MS, so the race window is wide on every run: without the lock, requests that read
the grant while the first refresh is still in flight send the spent token. Without the delay the
outcome of the unlocked storm is up to the scheduler (refreshes can fall one after another and
all succeed), and a test of it would pass or fail by chance.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.harness import Server, free_port
from smart.launch_states import LaunchState
from smartapp.models import Launch, TokenGrant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parents[2]
REQUESTS = 50
WORKERS = 4
TOKEN_DELAY_MS = 400


def gunicorn(lock: bool, log: Path) -> Server:
    """The app under gunicorn, on the test database, with or without single-flight refresh."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": str(settings.REDIS_URL),
        "SMARTAPP_TEST_NO_REFRESH_LOCK": "0" if lock else "1",
    }
    return Server("config.wsgi", free_port(), env, workers=WORKERS, threads=8, log=log)


def pids_serving(log: Path, path: str) -> set[int]:
    """The worker processes that logged finishing a request for `path`."""
    pids = set()
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("message") == "request finished" and entry.get("path") == path:
                pids.add(entry["pid"])
    return pids


@pytest.fixture
def expired_launch(sandbox, connect, browser) -> tuple[str, str]:
    connection_ = connect(
        refresh="reuse_revokes_family", token_ttl=300, token_delay_ms=TOKEN_DELAY_MS
    )
    page = browser.launch(browser.start_standalone(connection_), user="Patient/pat-01")
    assert page.status_code == 200
    handle = Launch.objects.get().handle
    # The launch's own cookie (smartapp/launches/browser.py) is what opens its pages.
    cookie = "; ".join(f"{name}={m.value}" for name, m in browser.client.cookies.items())
    TokenGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sandbox.reset_stats()
    return handle, cookie


def storm(url: str, cookie: str) -> list[int]:
    headers = {"Cookie": cookie}

    def one(_: int) -> int:
        return httpx.get(url, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(REQUESTS) as pool:
        return list(pool.map(one, range(REQUESTS)))


def refreshes(sandbox) -> int:
    return sum(
        n for key, n in sandbox.stats()["token_requests"].items() if key.startswith("refresh_token")
    )


def test_one_refresh_for_a_storm(sandbox, expired_launch, tmp_path) -> None:
    handle, cookie = expired_launch
    server = gunicorn(lock=True, log=tmp_path / "gunicorn.log")
    try:
        statuses = storm(f"{server.url}/l/{handle}/", cookie)
        assert statuses == [200] * REQUESTS
        assert refreshes(sandbox) == 1
        assert sandbox.stats()["refresh_reuse_rejected"] == {}
        # Several processes served the storm, so the one refresh was single-flight across
        # processes, not only threads. (All WORKERS is not guaranteed: on a loaded 2-core
        # machine gunicorn may hand one worker no connection at all.)
        assert len(pids_serving(tmp_path / "gunicorn.log", f"/l/{handle}/")) >= 2
        assert Launch.objects.get().state == LaunchState.ACTIVE  # the session survives
        again = httpx.get(
            f"{server.url}/l/{handle}/",
            timeout=30,
            headers={"Cookie": cookie},
        )
        assert again.status_code == 200
    finally:
        server.stop()


def test_without_the_lock_the_storm_kills_the_session(sandbox, expired_launch, tmp_path) -> None:
    handle, cookie = expired_launch
    server = gunicorn(lock=False, log=tmp_path / "gunicorn.log")
    try:
        statuses = storm(f"{server.url}/l/{handle}/", cookie)
    finally:
        server.stop()
    assert refreshes(sandbox) > 1
    assert sandbox.stats()["refresh_reuse_rejected"]  # the EHR saw reuse ...
    assert Launch.objects.get().state == LaunchState.REAUTH_REQUIRED  # ... and the session died
    assert any(status != 200 for status in statuses)
