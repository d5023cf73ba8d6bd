"""One refresh in flight per launch, across threads, processes and hosts.

Rotating EHRs spend a refresh token on first use; a second refresh with the same token is
reuse, and strict servers then revoke the whole grant (RFC 9700 4.14.2). So every refresh of
a launch's grant happens inside this lock, and the caller re-reads the grant after taking it.

- With REDIS_URL: a Redis lock (SET NX with expiry), shared by every process and host.
- Without Redis, on PostgreSQL: a row lock on the grant (SELECT ... FOR UPDATE) inside a
  transaction, with `lock_timeout` bounding the wait.
- On SQLite (the demo): a file lock (`flock`) per launch beside the database, since SQLite
  has no row locks; it holds across threads and processes of one host, which is all SQLite
  serves.

Waits are bounded: a waiter that times out gets LockTimeout and re-reads the grant rather than
refreshing on its own. The Redis lock's expiry comes from the refresh policy
(`RefreshPolicy.lock_ttl_s`, longer than the worst-case refresh), so it cannot lapse while
its holder is still talking to the EHR and let a second refresh through.

If Redis is configured but unreachable the refresh answers 503 (`ServiceUnavailable`) rather
than fall back to another lock: a process that still reaches Redis would not see that lock,
and two refreshes of one rotating grant end it.
"""

from __future__ import annotations

import fcntl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from smartapp.availability import ServiceUnavailable
from smartapp.lock_objects import grant_qs_for_update
from smartapp.observability import metrics

LOCK_TTL_S = 45.0  # the default policy's lock_ttl_s; callers pass the policy's own
WAIT_S = 15.0
# How often a process waiting for another host's or process's refresh looks again: the new
# token lands within a poll of the holder letting go, not a tenth of a second later.
POLL_S = 0.01


class LockTimeout(Exception):
    """Another request held the refresh lock for longer than the wait allows."""


@contextmanager
def _file(key: str, wait_s: float) -> Iterator[None]:
    """flock on a per-launch file: each acquisition opens its own file description, so it
    excludes other threads of this process as well as other processes."""
    folder = Path(tempfile.gettempdir()) / "smartapp-refresh-locks"
    folder.mkdir(exist_ok=True)
    deadline = time.monotonic() + wait_s
    with (folder / f"{key}.lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(key) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def in_process(key: str, wait_s: float) -> Iterator[None]:
    """One holder of `key` at a time among this process's threads; LockTimeout after `wait_s`.

    A waiter wakes the moment the holder lets go (no polling), so the threads of a process
    that all found the same token expired queue here, cheaply, and only the first of them
    goes on to the shared lock; the others find the new token when their turn comes."""
    with _local_guard:
        entry = _local.setdefault(key, _LocalLock())
        entry.users += 1
    try:
        started = time.perf_counter()
        acquired = entry.lock.acquire(timeout=max(wait_s, 0.0))
        metrics.REFRESH_LOCK_WAIT.labels("in_process").observe(time.perf_counter() - started)
        if not acquired:
            raise LockTimeout(key)
        try:
            yield
        finally:
            entry.lock.release()
    finally:
        with _local_guard:
            entry.users -= 1
            if entry.users == 0:
                del _local[key]


@dataclass
class _LocalLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # threads holding or waiting: the entry goes when the last one leaves


_local: dict[str, _LocalLock] = {}
_local_guard = threading.Lock()


@contextmanager
def _redis(key: str, wait_s: float, ttl_s: float) -> Iterator[None]:
    try:
        lock = cache.lock(  # type: ignore[attr-defined]
            f"refresh-lock:{key}", timeout=ttl_s, blocking_timeout=wait_s, sleep=POLL_S
        )
        acquired = lock.acquire()
    except (RedisError, ConnectionInterrupted) as exc:
        outage = getattr(cache, "outage", None)
        if outage is not None:
            outage.failed()
        raise ServiceUnavailable("cache", "refresh lock: Redis unreachable") from exc
    if not acquired:
        raise LockTimeout(key)
    try:
        yield
    finally:
        with suppress(Exception):  # it expired meanwhile; the next holder is unaffected
            lock.release()


@contextmanager
def _row(lock_row: Callable[[], object], key: str, wait_s: float) -> Iterator[None]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{int(wait_s * 1000)}ms"])
        try:
            lock_row()
        except OperationalError as exc:
            raise LockTimeout(key) from exc
        yield


def strategy() -> str:
    if settings.REDIS_URL:
        return "redis"
    return "row" if connection.vendor == "postgresql" else "file"


@contextmanager
def refresh_lock(
    grant_pk: Any, wait_s: float = WAIT_S, ttl_s: float = LOCK_TTL_S
) -> Iterator[None]:
    """Hold the launch's refresh lock; LockTimeout if it cannot be had within `wait_s`.
    `ttl_s` bounds how long a crashed holder keeps the Redis lock."""
    with single_flight(str(grant_pk), lambda: grant_qs_for_update(grant_pk).first(), wait_s, ttl_s):
        yield


@contextmanager
def single_flight(
    key: str, lock_row: Callable[[], object], wait_s: float = WAIT_S, ttl_s: float = LOCK_TTL_S
) -> Iterator[None]:
    """One holder of `key` at a time across threads, processes and hosts, by the strategy
    above; on PostgreSQL without Redis, `lock_row` takes the row lock that stands for it."""
    kind = strategy()
    held: AbstractContextManager[None]
    if kind == "redis":
        held = _redis(key, wait_s, ttl_s)
    elif kind == "row":
        held = _row(lock_row, key, wait_s)
    else:
        held = _file(key, wait_s)
    with ExitStack() as stack:
        started = time.perf_counter()
        try:
            stack.enter_context(held)  # the wait: until the lock is ours, or LockTimeout
        finally:
            metrics.REFRESH_LOCK_WAIT.labels(kind).observe(time.perf_counter() - started)
        yield
