"""A small per-process memo: bounded, with a time-to-live, safe across threads.

The warm summary page reads the same cached sections again and again; decoding them and
rendering their cards is most of its time (issue 18's profile). `Memo` keeps such derived
values in this process's memory so that a repeat costs a dictionary lookup.

What goes in is PHI derived from the encrypted cache, so the memo is deliberately small and
short-lived: at most `size` entries, each for at most `ttl_s` seconds, least recently used out
first. Its keys must name everything the value depends on (callers' docstrings say what),
and it is never shared between processes or written anywhere.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

_ALL: list[Memo[object]] = []


class Memo(Generic[V]):
    def __init__(self, size: int, ttl_s: float) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable) -> V | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, value: V) -> V:
        expires = time.monotonic() + self.ttl_s
        with self._lock:
            self._entries[key] = (expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def clear_all() -> None:
    """Empty every memo of this process (tests)."""
    for memo in _ALL:
        memo.clear()
