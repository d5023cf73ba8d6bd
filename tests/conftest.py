"""Suite-wide rules: tests marked for a real service run only when it is there.

On a laptop without PostgreSQL, Redis or Chromium those tests skip with the reason; under
CI=true a missing service is a failure, never a skip, so CI cannot go green by testing less.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from collections.abc import Iterator

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.app", "tests.fixtures.extraction"]

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"


def _postgres_missing() -> str | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return "DATABASE_URL does not point at PostgreSQL"
    return None


def _redis_missing() -> str | None:
    if not settings.REDIS_URL:
        return "REDIS_URL is not set"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis at REDIS_URL did not answer ({type(exc).__name__})"
    finally:
        client.close()
    return None


def _chromium_missing() -> str | None:
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    return None


_REQUIREMENTS = {"postgres": _postgres_missing, "redis": _redis_missing, "e2e": _chromium_missing}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, missing in _REQUIREMENTS.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason is None:
            continue
        if IN_CI:
            pytest.fail(f"CI must run the '{marker}' tests, but {reason}", pytrace=False)
        pytest.skip(f"needs {marker}: {reason}")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty cache (discovery documents, JWKS, locks), as the
    database starts empty: what one test cached must not steer the next."""
    from django.core.cache import cache

    from smartapp.fhir.breaker import reset_circuits
    from smartapp.memo import clear_all

    cache.clear()
    reset_circuits()
    clear_all()
    yield
    cache.clear()
    reset_circuits()
    clear_all()


@pytest.fixture(autouse=True)
def _audit_rows_cleared(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that commit (a live server, `transaction=True`) leave PHI access records, which
    the audit trail's triggers refuse to let pytest-django's flush delete: they are cleared
    first, with the triggers off, as only the table's owner can (tests/fixtures/audit.py)."""
    marker = request.node.get_closest_marker("django_db")
    committing = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not committing:
        yield
        return
    request.getfixturevalue("_django_db_helper")  # set up first, so torn down after this
    yield
    from smartapp.audit.records import AccessRecord, AuditSegment
    from tests.fixtures.audit import wipe

    if AccessRecord.objects.exists() or AuditSegment.objects.exists():
        wipe()


@pytest.fixture(autouse=True)
def _launch_steps_written() -> Iterator[None]:
    """The launch debugger's steps are written by a thread of this process; each test's are
    written before its database is emptied (pytest-django's own fixtures tear down later)."""
    yield
    from smartapp.diagnostics import writer

    assert writer.flush(30), "launch steps were still being written after their test"


@pytest.fixture(autouse=True)
def _revocations_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Background revocations (sign-out, a failed launch, an ended grant) run in a thread of
    the test process, never as a task on a broker nobody consumes, and each test waits for
    its own before the database is emptied. (Only the revocation's choice is patched: making
    every Celery task eager would run summary warm-ups inside the live server's requests.)"""
    from smartapp.vault import revocation

    monkeypatch.setattr(revocation, "_via_broker", lambda: False)
    yield
    assert revocation.wait_idle(30), "a revocation thread outlived its test"


class LogCapture:
    """The JSON lines the configured handler wrote, parsed."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    @property
    def text(self) -> str:
        return self._buffer.getvalue()

    @property
    def lines(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Redirect the handler configured in settings.LOGGING into a buffer.

    The handler keeps its real filters and formatter, so tests see exactly what production
    writes to stderr.
    """
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and handler.get_name() == "stderr"
    ]
    assert handlers, "settings.LOGGING configured no stream handler on the root logger"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    try:
        yield LogCapture(buffer)
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            if stream is not None:
                handler.setStream(stream)
