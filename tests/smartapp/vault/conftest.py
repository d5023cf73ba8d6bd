"""Revocations run in a thread of the test process (never a broker nobody consumes), and every
test waits for its own before the database is emptied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.celery import app
from smartapp.vault import revocation


@pytest.fixture(autouse=True)
def revocations_in_process() -> Iterator[None]:
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the embedded default: a background thread
    try:
        yield
        assert revocation.wait_idle(30), "a revocation thread outlived its test"
    finally:
        app.conf.task_always_eager = eager
