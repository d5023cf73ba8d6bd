"""A budget of launch starts per client address, so anonymous traffic cannot fill the tables.

Every `GET /smart/launch` with a registered `iss` writes a launch row (its `state` has to be
kept somewhere until the EHR sends the browser back). A fixed-window counter in the shared
cache (Redis in production, so every worker counts together) allows `LAUNCH_STARTS_PER_WINDOW`
starts per `LAUNCH_START_WINDOW_S` seconds from one address; beyond that the answer is a 429
page with `Retry-After`, before any write. The address is `REMOTE_ADDR`: the app has no
trusted-proxy setting, and a client-supplied `X-Forwarded-For` would let anyone pick their own
bucket. Behind a proxy, every user shares the proxy's address, so size the budget for that
(or add a trusted-proxy setting first).

If the cache cannot be reached the start is allowed (and logged): the budget protects the
tables, it must not be what takes launches down.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from smart.errors import TooManyLaunches
from smartapp.launches.browser import sha256

log = logging.getLogger(__name__)

DEFAULT_STARTS_PER_WINDOW = 300
DEFAULT_WINDOW_S = 60


def _limits() -> tuple[int, int]:
    starts = int(getattr(settings, "LAUNCH_STARTS_PER_WINDOW", DEFAULT_STARTS_PER_WINDOW))
    window = int(getattr(settings, "LAUNCH_START_WINDOW_S", DEFAULT_WINDOW_S))
    return starts, window


def check_launch_budget(request: HttpRequest) -> None:
    """Count one launch start for the client's address; TooManyLaunches past the budget."""
    starts, window = _limits()
    if starts <= 0:
        return  # 0 turns the budget off
    address = request.META.get("REMOTE_ADDR") or "unknown"
    key = f"launch-starts:{sha256(address)[:32]}"  # no address in the cache's key space
    try:
        cache.add(key, 0, timeout=window)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: a new window
        cache.add(key, 1, timeout=window)
        count = 1
    except Exception as exc:  # the cache is down: fail open, loudly
        log.warning("launch budget not counted", extra={"error": type(exc).__name__})
        return
    if count > starts:
        raise TooManyLaunches(f"{count} launch starts in {window} s", retry_after_s=window)
