"""Where an extraction step runs next: a Celery queue, or this process.

With a broker (REDIS_URL), `enqueue` sends the task by name with its countdown, and any
worker on any host takes it. Without one (the demo's eager Celery), or inside `inline()`,
steps wait in this thread's own queue and `drain` runs them in order of when they are due,
sleeping until then: an eagerly run poll that re-queued itself at once would hammer the EHR
and recurse without end, so eager mode is never used for extraction.
"""

from __future__ import annotations

import heapq
import importlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

_local = threading.local()
_order = itertools.count()


def _queue() -> list[tuple[float, int, str, tuple[Any, ...]]] | None:
    return getattr(_local, "queue", None)


def inline_mode() -> bool:
    return _queue() is not None or bool(settings.CELERY_TASK_ALWAYS_EAGER)


def enqueue(name: str, *args: Any, countdown: float = 0.0) -> None:
    """Run task `name` with `args` (JSON values) after `countdown` seconds."""
    queue = _queue()
    if queue is None and settings.CELERY_TASK_ALWAYS_EAGER:
        queue = _local.queue = []
    if queue is not None:
        heapq.heappush(queue, (time.monotonic() + max(0.0, countdown), next(_order), name, args))
        return
    from config.celery import app

    app.send_task(name, args=list(args), countdown=max(0.0, countdown) or None)


@contextmanager
def inline() -> Iterator[None]:
    """Keep this thread's steps in process until `drain` runs them (tests, `extract` without
    a broker)."""
    previous = _queue()
    _local.queue = []
    try:
        yield
    finally:
        _local.queue = previous


def drain(
    *,
    until: Callable[[], bool] = lambda: False,
    tick: Callable[[], None] = lambda: None,
    max_wait_s: float = 30.0,
) -> int:
    """Run this thread's queued steps as they fall due; stop when none are left or `until()`.
    A wait longer than `max_wait_s` is cut short (a server asking for a long Retry-After in
    the demo). Returns the number of steps run."""
    from config.celery import app

    # The task module, so the names resolve (by name: tasks import the services that queue).
    importlib.import_module("smartapp.extraction.tasks")
    queue, ran = _queue() or [], 0
    while queue and not until():
        due, _, name, args = heapq.heappop(queue)
        time.sleep(min(max(0.0, due - time.monotonic()), max_wait_s))
        app.tasks[name](*args)
        ran += 1
        tick()
    return ran
