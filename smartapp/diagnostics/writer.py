"""Launch steps written in batches by a thread of each process, off the page's path.

A page queues its steps and goes on: nobody waits for diagnostics. A caller inside a
transaction writes in it instead (in a savepoint), since the writer's own connection could not
see the launch row that transaction has not committed yet. On SQLite (the embedded default)
every step is written where it is recorded: SQLite takes one writer at a time, and a second
one in a thread of its own only adds lock waits. A step that cannot be written (its
launch deleted meanwhile, the database gone) is logged and dropped: losing a diagnostic is
better than failing a clinician's page. So is a step beyond a launch's cap or a full queue
(counted in `smartapp_launch_steps_dropped_total`).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Count

from smartapp.batching import BatchThread
from smartapp.diagnostics.records import LaunchStep
from smartapp.observability import metrics

log = logging.getLogger(__name__)

BATCH = 500
QUEUE_LIMIT = 20_000  # steps waiting in one process; beyond it (a database down) they drop
MAX_STEPS_PER_LAUNCH = 3000


def _within_cap(steps: list[LaunchStep]) -> list[LaunchStep]:
    """The steps whose launch has fewer than MAX_STEPS_PER_LAUNCH (a session reloaded all
    day, or a hostile client replaying its callback, cannot grow the table without bound)."""
    launches = {step.launch_id for step in steps}
    counts = dict(
        LaunchStep.objects.filter(launch_id__in=launches)
        .values("launch_id")
        .annotate(n=Count("id"))
        .values_list("launch_id", "n")
    )
    kept = []
    for step in steps:
        if counts.get(step.launch_id, 0) < MAX_STEPS_PER_LAUNCH:
            kept.append(step)
            counts[step.launch_id] = counts.get(step.launch_id, 0) + 1
    if len(kept) < len(steps):
        metrics.LAUNCH_STEPS_DROPPED.labels("cap").inc(len(steps) - len(kept))
    return kept


def _write_batch(steps: list[LaunchStep]) -> None:
    """One INSERT for the batch, on this thread's connection (kept while batches keep coming,
    closed when the queue runs dry)."""
    close_old_connections()
    try:
        steps = _within_cap(steps)
        LaunchStep.objects.bulk_create(steps)
    except DatabaseError:  # one step of a deleted launch spoils the batch: one by one, then
        for step in steps:
            _write_one(step)


def _write_one(step: LaunchStep) -> None:
    try:
        with transaction.atomic():
            step.save(force_insert=True)
    except DatabaseError as exc:
        log.warning(
            "launch step not written", extra={"step": step.name, "error": type(exc).__name__}
        )


# Idle, the thread gives its connection back: steps come in bursts (a launch, a cold page), and
# a connection held by every process's writer between them counts against max_connections.
def _release() -> None:
    connection.close()  # this thread's (the proxy resolves per thread, at call time)


_thread: BatchThread[LaunchStep] = BatchThread(
    "launch-steps", _write_batch, BATCH, QUEUE_LIMIT, on_idle=_release
)


def write(step: LaunchStep) -> None:
    here = transaction.get_connection()
    if here.in_atomic_block:
        _write_one(step)
    elif here.vendor == "sqlite":  # SQLite takes one writer at a time anyway
        for kept in _within_cap([step]):
            _write_one(kept)
    elif not _thread.put(step):
        metrics.LAUNCH_STEPS_DROPPED.labels("queue_full").inc()


def flush(timeout_s: float = 5.0) -> bool:
    """Wait until this process has written what it queued (the debugger reads after this)."""
    return _thread.wait_idle(timeout_s)
