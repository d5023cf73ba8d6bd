"""Launch steps written in batches by a thread of each process, off the page's path.

A page queues its steps and goes on: nobody waits for diagnostics. A caller inside a
transaction writes in it instead (in a savepoint), since the writer's own connection could not
see the launch row that transaction has not committed yet. A step that cannot be written (its
launch deleted meanwhile, the database gone) is logged and dropped: losing a diagnostic is
better than failing a clinician's page.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection, transaction

from smartapp.batching import BatchThread
from smartapp.diagnostics.records import LaunchStep

log = logging.getLogger(__name__)

BATCH = 500


def _write_batch(steps: list[LaunchStep]) -> None:
    """One INSERT for the batch; its connection is closed afterwards (an idle process holds
    none, and a test database can be dropped once the queue is empty)."""
    try:
        LaunchStep.objects.bulk_create(steps)
    except DatabaseError:  # one step of a deleted launch spoils the batch: one by one, then
        for step in steps:
            _write_one(step)
    finally:
        connection.close()


def _write_one(step: LaunchStep) -> None:
    try:
        with transaction.atomic():
            step.save(force_insert=True)
    except DatabaseError as exc:
        log.warning(
            "launch step not written", extra={"step": step.name, "error": type(exc).__name__}
        )


_thread: BatchThread[LaunchStep] = BatchThread("launch-steps", _write_batch, BATCH)


def write(step: LaunchStep) -> None:
    if transaction.get_connection().in_atomic_block:
        _write_one(step)
    else:
        _thread.put(step)


def flush(timeout_s: float = 5.0) -> bool:
    """Wait until this process has written what it queued (the debugger reads after this)."""
    return _thread.wait_idle(timeout_s)
