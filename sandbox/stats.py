"""What the sandbox saw, for tests and benchmarks: `GET /sandbox/stats`, `POST .../reset`.

Counters live in this process (the sandbox runs as one multi-threaded process), guarded by a
lock. Keys are flat strings so the JSON stays easy to assert on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

_lock = threading.Lock()
_counters: dict[str, Counter[str]] = {}
_since = time.time()

TOKEN_REQUESTS = "token_requests"  # noqa: S105 - a counter name; "<grant_type> <client_id>"
REFRESH_REUSE_REJECTED = "refresh_reuse_rejected"  # "<client_id>"
FHIR_REQUESTS = "fhir_requests"  # "<resource type>"
# FHIR calls whose simulated latency has passed (the answer goes out next): lets a test tell
# what a page showed before any FHIR call could have completed.
FHIR_ANSWERED = "fhir_answered"  # "<resource type>"
DISCOVERY_REQUESTS = (
    "discovery_requests"  # "smart-configuration", "metadata", "openid-configuration"
)
GRANT_SUCCESSES = "grant_successes"  # "<site key> <grant_type>", for token_error.after


def record(counter: str, key: str) -> None:
    with _lock:
        _counters.setdefault(counter, Counter())[key] += 1


def value(counter: str, key: str) -> int:
    with _lock:
        return _counters.get(counter, Counter())[key]


def snapshot() -> dict[str, Any]:
    with _lock:
        body: dict[str, Any] = {name: dict(counts) for name, counts in _counters.items()}
    for name in (
        TOKEN_REQUESTS,
        REFRESH_REUSE_REJECTED,
        FHIR_REQUESTS,
        FHIR_ANSWERED,
        DISCOVERY_REQUESTS,
    ):
        body.setdefault(name, {})
    body.pop(GRANT_SUCCESSES, None)
    body["since"] = _since
    return body


def reset() -> None:
    global _since
    with _lock:
        _counters.clear()
        _since = time.time()
