"""The database the suite runs on is the one DATABASE_URL names (PostgreSQL in CI)."""

from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_is_really_in_use() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (version,) = cursor.fetchone()
    assert int(version) >= 130000


@pytest.mark.redis
def test_redis_cache_round_trip() -> None:
    from django.core.cache import cache

    cache.set("suite:round-trip", {"ok": True}, timeout=10)
    assert cache.get("suite:round-trip") == {"ok": True}
    client = cache.client.get_client()  # type: ignore[attr-defined]  # django-redis API
    assert client.ping() is True
    cache.delete("suite:round-trip")
