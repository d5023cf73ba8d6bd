"""A circuit breaker per FHIR base: an unwell EHR fails fast instead of tying up workers.

closed -> (N consecutive failures) -> open -> (cool-down) -> half-open -> one probe, which
closes it on success or opens it again on failure. Time comes from the app's clock, so the
cool-down is tested by moving the clock. State is per process; /readyz shows it, and the
`smartapp_circuit_open` gauge (labelled with the connection being worked for) follows it.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from smartapp.clock import clock
from smartapp.observability import metrics, tenant


class CircuitBreaker:
    def __init__(self, threshold: int = 5, cool_down_s: float = 30.0) -> None:
        self.threshold, self.cool_down_s = threshold, cool_down_s
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        elapsed = clock().monotonic() - self.opened_at
        return "half-open" if elapsed >= self.cool_down_s else "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self.probing:
                self.probing = True  # exactly one probe at a time
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            was_open = self.opened_at is not None
            self.failures, self.opened_at, self.probing = 0, None, False
        if was_open:
            metrics.CIRCUIT_OPEN.labels(tenant.current()).set(0)

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            self.probing = False
            opens = self.opened_at is None and self.failures >= self.threshold
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = clock().monotonic()
        if opens:
            metrics.CIRCUIT_OPEN.labels(tenant.current()).set(1)


_breakers: dict[str, CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(base: str) -> CircuitBreaker:
    with _lock:
        if base not in _breakers:
            _breakers[base] = CircuitBreaker(
                int(getattr(settings, "FHIR_BREAKER_THRESHOLD", 5)),
                float(getattr(settings, "FHIR_BREAKER_COOL_DOWN_S", 30)),
            )
        return _breakers[base]


def circuit_states() -> dict[str, dict[str, Any]]:
    """For /readyz: every FHIR base this process has talked to, and its breaker."""
    with _lock:
        return {base: {"state": b.state, "failures": b.failures} for base, b in _breakers.items()}


def reset_circuits() -> None:
    with _lock:
        _breakers.clear()
