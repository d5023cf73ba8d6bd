"""smartapp.vault.policy: refresh before expiry, by at most half the token's life (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

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


@pytest.mark.parametrize("budget_s", [0.5, 10.0, 120.0])
def test_the_lock_is_derived_from_the_budget(budget_s: float) -> None:
    rules = RefreshPolicy(budget_s=budget_s)
    # Every phase of an attempt is capped at the time left, so no refresh outlasts this:
    assert rules.worst_case_s >= budget_s
    assert rules.lock_ttl_s > rules.worst_case_s
    assert rules.lock_wait_s >= budget_s  # a waiter gives the holder its whole budget


def test_a_back_off_starts_only_within_the_budget() -> None:
    rules = RefreshPolicy(budget_s=1.0)
    assert rules.may_back_off(0.25, remaining_s=0.9)
    assert not rules.may_back_off(0.75, remaining_s=0.6)
