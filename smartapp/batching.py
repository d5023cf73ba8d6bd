"""One background thread per process that takes queued items off in batches.

Where many requests each hand the database a small write and a batch costs about what one
item does, a page queues its item and a thread of its process writes whatever has gathered
in one go: the PHI access trail (`audit.writer`, whose pages wait for their batch) and the
launch diagnostics (`diagnostics.writer`, whose pages do not). The thread starts on first use
in each process, and again in a child after a fork (threads do not survive one).

`write_batch` owns its failures; anything it lets escape is logged here, and the thread goes
on with the next batch.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from smartapp.observability import tracing

log = logging.getLogger(__name__)
T = TypeVar("T")


class BatchThread(Generic[T]):
    def __init__(
        self,
        name: str,
        write_batch: Callable[[list[T]], None],
        batch: int,
        limit: int | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._on_idle = on_idle  # called when the queue is empty after a batch
        self._limit = limit  # items queued at most; beyond it `put` drops (a database down)
        self._write_batch = write_batch
        self._batch = batch
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.SimpleQueue[T] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._outstanding = 0  # queued or being written

    def put(self, item: T) -> bool:
        """Queue `item`; this process's thread writes it with whatever else is waiting.
        False when the queue is full (`limit`): the item was dropped."""
        self._running()
        with self._idle:
            if self._limit is not None and self._outstanding >= self._limit:
                return False
            self._outstanding += 1
        self._queue.put(item)
        return True

    def wait_idle(self, timeout_s: float) -> bool:
        """Whether everything queued so far was written (or failed) within `timeout_s`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout_s)

    def _running(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()  # first use here: a new queue and a thread of our own
            self._queue = queue.SimpleQueue()
            self._idle = threading.Condition()
            self._outstanding = 0
            threading.Thread(
                target=self._run, args=(self._queue,), name=self.name, daemon=True
            ).start()

    def _run(self, items: queue.SimpleQueue[T]) -> None:
        while True:
            batch = [items.get()]
            while len(batch) < self._batch:
                try:
                    batch.append(items.get_nowait())
                except queue.Empty:
                    break
            try:
                with tracing.untraced():
                    self._write_batch(batch)
            except Exception:
                log.exception("a batch was not written", extra={"writer": self.name})
            finally:
                with self._idle:
                    self._outstanding -= len(batch)
                    self._idle.notify_all()
            if self._on_idle is not None and items.empty():
                try:
                    self._on_idle()
                except Exception:
                    log.exception("idle hook failed", extra={"writer": self.name})
