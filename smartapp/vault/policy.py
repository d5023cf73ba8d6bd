"""When to refresh, how long a refresh may take, and which failures may be retried (pure).

SMART App Launch 2.x "refresh": an app refreshes before the access token expires. The margin
is `TOKEN_REFRESH_SKEW_S` but never more than half the token's lifetime, so a 60-second token
is not refreshed on every request.

A refresh is not idempotent (RFC 6749 6 lets the server rotate the refresh token; RFC 9700
4.14.2 has strict servers treat a second use as theft and revoke the grant). So:

- a failure the EHR answered saying it did nothing (503, 501) or one where the request never
  left (no connection) is retried with the back-off below, while the budget lasts;
- a request that may have reached the EHR without an answer coming back (a read timeout, a
  dropped connection, any other 5xx) is never replayed: its outcome is unknown;
- an OAuth error is final (RFC 6749 5.2).

The whole refresh has a budget (`TOKEN_REFRESH_BUDGET_S`): no attempt or back-off starts after
it, and every phase of an attempt is capped at the time left. The refresh lock is derived from
it, so it always outlives the refresh it guards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

LOCK_MARGIN_S = 5.0


@dataclass(frozen=True)
class RefreshPolicy:
    skew_s: float = 60.0
    retry_delays_s: tuple[float, ...] = (0.25, 0.75)  # three attempts at most
    budget_s: float = 10.0  # what a user may wait for a refresh, all attempts included

    def margin(self, lifetime_s: float) -> timedelta:
        return timedelta(seconds=min(self.skew_s, lifetime_s / 2))

    def is_stale(self, expires_at: datetime, lifetime_s: float, now: datetime) -> bool:
        """Whether a token expiring at `expires_at` should be refreshed before use."""
        return expires_at - self.margin(lifetime_s) <= now

    @property
    def worst_case_s(self) -> float:
        """The longest a refresh can hold the lock. Attempts and back-offs start only within
        the budget, and each of the four phases an HTTP client bounds on its own (pool,
        connect, write, read) is capped at the time left when the attempt starts."""
        return 4 * self.budget_s

    @property
    def lock_ttl_s(self) -> float:
        """The refresh lock's expiry: longer than any refresh, so it never lapses mid-way."""
        return self.worst_case_s + LOCK_MARGIN_S

    @property
    def lock_wait_s(self) -> float:
        """How long a second caller waits for the first one's refresh before re-reading."""
        return self.budget_s + LOCK_MARGIN_S

    def may_back_off(self, delay_s: float, remaining_s: float) -> bool:
        """Whether a retry after `delay_s` still starts within the budget."""
        return delay_s < remaining_s
