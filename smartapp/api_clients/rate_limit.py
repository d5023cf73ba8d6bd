"""Per-client rate limit: a fixed one-minute window counted in Django's default cache.

`cache.add` starts the window's counter (only the first caller of a window succeeds, so
concurrent workers do not reset each other), `cache.incr` counts atomically (Redis INCR in
production; locmem in the demo counts per process). The key names the window, so an old
window's counter simply expires. A cache that fails lets the call through with a warning:
the limit protects capacity, not data, and tenant isolation does not depend on it.
"""

from __future__ import annotations

import logging
import math

from django.core.cache import cache

from smartapp.api_clients.bearer import ClientGrant
from smartapp.clock import clock

log = logging.getLogger(__name__)

WINDOW_S = 60


def retry_after(grant: ClientGrant) -> int | None:
    """None when this call is allowed, else whole seconds (>= 1) until the window resets."""
    now = clock().now().timestamp()
    window = int(now // WINDOW_S)
    key = f"api-rate:{grant.client_id}:{window}"
    try:
        # A little longer than the window, so the counter never vanishes inside it.
        count = 1 if cache.add(key, 1, timeout=WINDOW_S + 5) else cache.incr(key)
    except ValueError:
        return None  # the counter was evicted between add and incr: count from the next call
    except Exception as exc:  # any cache failure: allow, and say so
        log.warning("rate limit not applied, the cache failed: %s", type(exc).__name__)
        return None
    if count <= grant.rate_limit_per_minute:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_S - now))
