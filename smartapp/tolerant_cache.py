"""The Redis cache, tolerant of Redis being down: a miss, never a 500.

Everything this app keeps in the cache can be rebuilt: sessions are `cached_db` (the database
holds each one; the cache is a copy), discovery documents, JWKS and summary sections are
fetched again. So while Redis is unreachable, a read is a miss and a write is dropped, and the
app goes on from the database and the EHR, slower but whole. Only the refresh lock needs
Redis to be there (`vault.lock` answers 503 rather than refresh without it).

Why not django-redis's IGNORE_EXCEPTIONS alone: it logs a traceback per call (dozens per
page) and pays the socket timeout on every call while Redis is down. Here:

- the outage is logged once when it starts and once when it ends, per process;
- `lock`, `incr` and `decr` raise instead: a lock or a counter has no harmless "miss";
- for `COOL_DOWN_S` after a failure, calls fail at once without touching the network; then
  one caller probes with PING (the others still fail fast) and either ends the outage or
  starts another cool-down;
- when it ends, the cached copies of sessions are dropped: sessions changed during the
  outage were written to the database only, and a copy left in Redis from before (if Redis
  kept its data) would bring back a stale session, a launch the browser no longer has.

Time comes from the app's clock, so tests move it instead of waiting out the cool-down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted

from smartapp.clock import clock

log = logging.getLogger(__name__)

COOL_DOWN_S = 5.0
SESSION_KEYS = "django.contrib.sessions.cached_db*"  # cached_db's KEY_PREFIX


class Outage:
    """Whether one Redis server is down, for every thread of this process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down_since: float | None = None
        self.retry_at = 0.0
        self._lock = threading.Lock()

    @property
    def is_down(self) -> bool:
        return self.down_since is not None

    def failed(self) -> None:
        """A call failed; the first failure of an outage is logged, later ones are not."""
        now = clock().monotonic()
        with self._lock:
            if self.down_since is None:
                self.down_since = now
                log.warning(
                    "cache unavailable: sessions from the database, nothing cached",
                    extra={"backend": self.name},
                )
            if now >= self.retry_at:
                self.retry_at = now + COOL_DOWN_S

    def exception(self, *args: Any, **kwargs: Any) -> None:
        """django-redis reports each failure it swallowed here (it takes this as its logger)."""
        self.failed()

    def admit(self, probe: Callable[[], None], on_recovery: Callable[[], None]) -> None:
        """Let a call through, or raise ConnectionInterrupted to fail it fast while down."""
        now = clock().monotonic()
        with self._lock:
            if self.down_since is None:
                return
            if now < self.retry_at:
                raise ConnectionInterrupted(connection=None)
            self.retry_at = now + COOL_DOWN_S  # this caller probes; the others fail fast
        try:
            probe()
        except Exception as exc:
            raise ConnectionInterrupted(connection=None) from exc
        with self._lock:
            down_for = now - (self.down_since or now)
            self.down_since, self.retry_at = None, 0.0
        log.warning("cache available again", extra={"backend": self.name, "down_s": down_for})
        on_recovery()


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage_for(server: str) -> Outage:
    with _outages_lock:
        return _outages.setdefault(server, Outage("redis"))


def reset() -> None:
    """Forget every outage (tests)."""
    with _outages_lock:
        _outages.clear()


class TolerantRedisCache(RedisCache):  # type: ignore[misc]  # django-redis ships no types
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.outage = outage_for(server)
        # django-redis's own switch: each failing call returns its miss value and reports to
        # `self.logger.exception`, which is the outage here (logged once, not per call).
        self._ignore_exceptions = True
        self._log_ignored_exceptions = True
        self.logger = self.outage

    @property
    def client(self) -> Any:
        raw = RedisCache.client.fget(self)
        self.outage.admit(lambda: raw.get_client(write=True).ping(), self._after_outage)
        return raw

    def _after_outage(self) -> None:
        self.delete_pattern(SESSION_KEYS)

    # A lock or a counter has no harmless "miss": these raise ConnectionInterrupted while Redis
    # is down, so their callers choose to fail open or closed instead of reading None.
    def lock(self, *args: Any, **kwargs: Any) -> Any:
        return self._unmasked("lock", *args, **kwargs)

    def incr(self, *args: Any, **kwargs: Any) -> Any:
        return self._unmasked("incr", *args, **kwargs)

    def decr(self, *args: Any, **kwargs: Any) -> Any:
        return self._unmasked("decr", *args, **kwargs)

    def _unmasked(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(*args, **kwargs)
        except ConnectionInterrupted:
            self.outage.failed()
            raise
