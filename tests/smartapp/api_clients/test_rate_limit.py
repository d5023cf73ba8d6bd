"""A fixed one-minute window per client in the default cache; a failing cache allows."""

import uuid
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from smart.clock import ManualClock
from smartapp.api_clients import rate_limit
from smartapp.api_clients.bearer import ClientGrant
from smartapp.clock import use_clock

START = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)  # 10 s into a window


def grant(limit: int = 3, client_id: str = "sac_a") -> ClientGrant:
    return ClientGrant(1, client_id, "x", (uuid.uuid4(),), ("a",), frozenset(), limit)


def test_n_calls_pass_then_retry_after_until_the_window_ends():
    with use_clock(ManualClock(START)) as now:
        assert [rate_limit.retry_after(grant()) for _ in range(3)] == [None] * 3
        assert rate_limit.retry_after(grant()) == 50
        now.advance(49.5)
        assert rate_limit.retry_after(grant()) == 1
        now.advance(0.5)
        assert rate_limit.retry_after(grant()) is None


def test_clients_are_counted_apart():
    with use_clock(ManualClock(START)):
        for _ in range(3):
            rate_limit.retry_after(grant())
        assert rate_limit.retry_after(grant()) is not None
        assert rate_limit.retry_after(grant(client_id="sac_b")) is None


def test_a_failing_cache_allows_the_call_and_warns(monkeypatch, json_logs):
    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "add", broken)
    assert rate_limit.retry_after(grant(limit=0)) is None
    assert "rate limit not applied" in json_logs.text


@pytest.mark.redis
def test_the_window_is_shared_through_redis(settings):
    from django.core.cache import caches

    assert "Redis" in type(caches["default"]).__name__
    with use_clock(ManualClock(START)):
        results = [rate_limit.retry_after(grant(limit=2, client_id="sac_redis")) for _ in range(3)]
    assert results[:2] == [None, None]
    assert results[2] == 50
