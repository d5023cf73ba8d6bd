"""When to refresh, and how to retry a refresh that met a temporary failure (pure).

SMART App Launch 2.x "refresh": an app refreshes before the access token expires. The margin
is `TOKEN_REFRESH_SKEW_S` but never more than half the token's lifetime, so a 60-second token
is not refreshed on every request. Timeouts and 5xx from the token endpoint are retried with
the back-off below; an OAuth error is final (RFC 6749 5.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RefreshPolicy:
    skew_s: float = 60.0
    retry_delays_s: tuple[float, ...] = (0.25, 0.75)  # three attempts in all

    def margin(self, lifetime_s: float) -> timedelta:
        return timedelta(seconds=min(self.skew_s, lifetime_s / 2))

    def is_stale(self, expires_at: datetime, lifetime_s: float, now: datetime) -> bool:
        """Whether a token expiring at `expires_at` should be refreshed before use."""
        return expires_at - self.margin(lifetime_s) <= now
