"""smartapp.vault.policy: refresh before expiry, by at most half the token's life (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smartapp.vault.policy import RefreshPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_margin_is_the_skew_or_half_the_lifetime():
    policy = RefreshPolicy(skew_s=60)
    assert policy.margin(3600) == timedelta(seconds=60)
    assert policy.margin(60) == timedelta(seconds=30)  # a 60 s token is not always stale


def test_staleness_at_the_edges():
    policy = RefreshPolicy(skew_s=60)
    expires = NOW + timedelta(seconds=61)
    assert not policy.is_stale(expires, 3600, NOW)
    assert policy.is_stale(expires, 3600, NOW + timedelta(seconds=1))
    assert policy.is_stale(NOW, 3600, NOW)
