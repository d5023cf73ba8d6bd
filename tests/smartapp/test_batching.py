"""smartapp.batching: items written in batches by one thread, a full queue refused, a failing
batch logged and survived."""

from __future__ import annotations

import threading

from smartapp.batching import BatchThread


def test_items_are_written_in_batches_and_wait_idle_sees_them_done() -> None:
    written: list[list[int]] = []
    gate = threading.Event()

    def write(batch: list[int]) -> None:
        gate.wait(5)
        written.append(batch)

    thread = BatchThread("test", write, batch=100)
    assert all(thread.put(n) for n in range(50))
    gate.set()
    assert thread.wait_idle(5)
    assert sorted(n for batch in written for n in batch) == list(range(50))
    assert len(written) < 50  # the first waited at the gate; the rest shared batches


def test_a_full_queue_drops_and_a_failed_batch_does_not_stop_the_thread() -> None:
    gate, calls = threading.Event(), []

    def write(batch: list[int]) -> None:
        gate.wait(5)
        calls.append(batch)
        if len(calls) == 1:
            raise RuntimeError("database gone")

    thread = BatchThread("test", write, batch=1, limit=2)
    assert thread.put(1)
    assert thread.put(2)
    assert thread.put(3) is False  # two outstanding: the limit
    gate.set()
    assert thread.wait_idle(5)
    assert thread.put(4)
    assert thread.wait_idle(5)
    assert calls == [[1], [2], [4]]
