"""smartapp.vault.lock: each strategy excludes a second holder and bounds the wait."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import override_settings

from smartapp.vault import lock as refresh_lock
from smartapp.vault.lock import LockTimeout


def hold_elsewhere(
    key, started: threading.Event, release: threading.Event, lock=None
) -> threading.Thread:
    lock = lock or refresh_lock.refresh_lock

    def run() -> None:
        with lock(key, 1):
            started.set()
            release.wait(5)
        connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def contend(key, lock=None) -> None:
    lock = lock or refresh_lock.refresh_lock
    started, release = threading.Event(), threading.Event()
    thread = hold_elsewhere(key, started, release, lock)
    assert started.wait(5)
    try:
        with pytest.raises(LockTimeout), lock(key, 0.3):
            pass
    finally:
        release.set()
        thread.join()
    with lock(key, 1):  # free again
        pass


def test_file_lock() -> None:
    contend(str(uuid.uuid4()), refresh_lock._file)


@override_settings(REDIS_URL=None)
def test_without_redis_the_lock_follows_the_database() -> None:
    expected = "row" if connection.vendor == "postgresql" else "file"
    assert refresh_lock.strategy() == expected


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


@pytest.mark.redis
@pytest.mark.django_db
def test_the_redis_lock_outlives_the_worst_case_refresh(settings) -> None:
    # Formerly a fixed 30 s lock against 3 attempts x 10 s plus back-off: the lock could lapse
    # mid-refresh and let a second refresh (reuse, on a rotating EHR) through.
    from django.core.cache import cache

    from smartapp.models import TokenGrant
    from smartapp.vault import tokens

    settings.TOKEN_REFRESH_BUDGET_S = 20
    grant = TokenGrant(id=uuid.uuid4())
    with tokens._lock(grant, 1.0):
        ttl = cache.ttl(f"refresh-lock:{grant.pk}")  # type: ignore[attr-defined]
    assert ttl > tokens.policy().worst_case_s >= 20 + sum(tokens.policy().retry_delays_s)


def test_in_process_queue_excludes_and_bounds_the_wait() -> None:
    contend(str(uuid.uuid4()), lock=refresh_lock.in_process)


def test_in_process_waiters_wake_when_the_holder_lets_go_and_leave_nothing_behind() -> None:
    """The threads of a process queue for one launch; each wakes as the one before it lets
    go (no fixed sleep), and the per-key entry goes with the last of them."""
    key = str(uuid.uuid4())
    order: list[int] = []
    first_in = threading.Event()

    def holder() -> None:
        with refresh_lock.in_process(key, 5):
            first_in.set()
            threading.Event().wait(0.2)  # "the refresh"
            order.append(0)

    def waiter(n: int) -> None:
        with refresh_lock.in_process(key, 5):
            order.append(n)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    assert first_in.wait(5)
    threads += [threading.Thread(target=waiter, args=(n,)) for n in (1, 2, 3)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert order[0] == 0  # nobody got in while the holder held it
    assert sorted(order) == [0, 1, 2, 3]
    assert key not in refresh_lock._local
