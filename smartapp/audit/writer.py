"""Group commit for the PHI access trail: many pages' records, one chain transaction.

The chain is a single sequence, so every append takes the one head lock and commits (a disk
flush on PostgreSQL): about 1.7 ms each, one at a time, whatever the number of workers. A
page's thread therefore hands its record to this process's writer thread and waits for it:
the writer takes every record waiting (up to BATCH), appends them in one transaction
(`chain.append_many`) and wakes their pages. A record is still written before its request
ends (the page waits up to WAIT_S), and a busy process pays one lock and one commit per batch
instead of per page.

The writer thread is `smartapp.batching`'s, one per process (after a fork, a new one). A failed
batch is logged and counted (`smartapp_audit_write_failures_total`), never raised into a page.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.db import close_old_connections, transaction

import smartapp.audit.chain as chain
from smartapp.batching import BatchThread
from smartapp.observability import metrics

log = logging.getLogger(__name__)

BATCH = 200
WAIT_S = 10.0  # how long a page waits for its record before it logs and goes on


@dataclass
class _Pending:
    entry: chain.Entry
    done: threading.Event = field(default_factory=threading.Event)
    written: bool = False


def _write(batch: list[_Pending]) -> None:
    written = _append([pending.entry for pending in batch], fresh_connection=True)
    for pending in batch:
        pending.written = written
        pending.done.set()


def _append(entries: list[chain.Entry], *, fresh_connection: bool = False) -> bool:
    """Append `entries` in one transaction; a failure is logged and counted, never raised.
    The writer thread asks for `fresh_connection`: CONN_MAX_AGE applies to it as to a
    request's thread."""
    try:
        if fresh_connection:
            close_old_connections()
        if len(entries) == 1:
            chain.append(entries[0])
        else:
            chain.append_many(entries)
    except Exception:
        metrics.AUDIT_WRITE_FAILURES.inc(len(entries))
        log.exception("audit record not written", extra={"audit_records": len(entries)})
        return False
    return True


_thread: BatchThread[_Pending] = BatchThread("audit-writer", _write, BATCH)


def write(entry: chain.Entry) -> bool:
    """Append `entry` to the chain through this process's writer; True once it is committed,
    False when it could not be (logged and counted already, or not done within WAIT_S).

    A caller already inside a transaction appends in it, on its own connection: the writer's
    connection could not see that transaction's rows nor wait for it to end."""
    if transaction.get_connection().in_atomic_block:
        return _append([entry])
    pending = _Pending(entry)
    _thread.put(pending)
    if not pending.done.wait(WAIT_S):
        metrics.AUDIT_WRITE_FAILURES.inc()
        log.error("audit record not written in time", extra={"audit_what": entry.what})
        return False
    return pending.written
