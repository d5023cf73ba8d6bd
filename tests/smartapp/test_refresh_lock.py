"""smartapp.refresh_lock: each strategy excludes a second holder and bounds the wait."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import override_settings

from smartapp import refresh_lock
from smartapp.refresh_lock import LockTimeout


def hold_elsewhere(key, started: threading.Event, release: threading.Event) -> threading.Thread:
    def run() -> None:
        with refresh_lock.refresh_lock(key, wait_s=1):
            started.set()
            release.wait(5)
        connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def contend(key) -> None:
    started, release = threading.Event(), threading.Event()
    thread = hold_elsewhere(key, started, release)
    assert started.wait(5)
    try:
        with pytest.raises(LockTimeout), refresh_lock.refresh_lock(key, wait_s=0.3):
            pass
    finally:
        release.set()
        thread.join()
    with refresh_lock.refresh_lock(key, wait_s=1):  # free again
        pass


@override_settings(REDIS_URL=None)
def test_in_process_lock() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL without Redis the row lock is used")
    assert refresh_lock.strategy() == "in-process"
    contend(uuid.uuid4())


@pytest.mark.redis
def test_redis_lock() -> None:
    assert refresh_lock.strategy() == "redis"
    contend(uuid.uuid4())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_row_lock(sandbox, connect, browser) -> None:
    from smartapp.models import TokenGrant

    connection_ = connect()
    browser.launch(browser.start_standalone(connection_), user="Patient/pat-01")
    with override_settings(REDIS_URL=None):
        assert refresh_lock.strategy() == "row"
        contend(TokenGrant.objects.get().pk)
