"""The app's clock: the real one, or one a test installs (`smart.clock.ManualClock`).

Services read time through `clock()`; the circuit breaker, token expiry, refresh back-off and
housekeeping all do, so tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from smart.clock import SYSTEM, Clock

_current: Clock = SYSTEM
C = TypeVar("C", bound=Clock)


def clock() -> Clock:
    return _current


@contextmanager
def use_clock(replacement: C) -> Iterator[C]:
    global _current
    previous, _current = _current, replacement
    try:
        yield replacement
    finally:
        _current = previous
