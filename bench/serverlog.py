"""Server-side time per request, from gunicorn's access log, beside the client's latency.

The client's figure includes the load generator, the loopback and the wait for a free gunicorn
thread; the server's `%(D)s` (microseconds from the request parsed to the response written)
does not. Their gap says how much of a latency is queueing and client cost rather than the
app. No app change is needed: every Server the bench starts writes an access log in
ACCESS_FORMAT, and each load generator sends an `X-Bench-Phase` header naming its phase, so
one log holds every phase and is split by that header (the format: harness.ACCESS_FORMAT).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.harness import percentile


def phase_times(log: Path) -> dict[str, list[float]]:
    """Phase -> server-side seconds of each of its requests (untagged requests left out)."""
    found: dict[str, list[float]] = defaultdict(list)
    if not log.exists():
        return found
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] != "-" and parts[2].isdigit():
            found[parts[0]].append(int(parts[2]) / 1e6)
    return found


def _settle(log: Path, quiet_s: float = 0.1, limit_s: float = 2.0) -> None:
    """Until the log's size has not changed for `quiet_s` (at most `limit_s`)."""
    deadline = time.monotonic() + limit_s
    size = -1
    while time.monotonic() < deadline:
        now = log.stat().st_size if log.exists() else 0
        if now == size:
            return
        size = now
        time.sleep(quiet_s)


def server_side(log: Path | None, phase: str) -> dict[str, Any]:
    """The phase's server-side p50/p99 in ms and its request count (zero when not logged).
    gunicorn writes a line after the response has gone out: the file is read once it has
    stopped growing, so that the last requests of a phase are in it."""
    if log is None:
        return {"requests": 0}
    _settle(log)
    times = phase_times(log).get(phase, [])
    if not times:
        return {"requests": 0}
    return {
        "requests": len(times),
        "p50_ms": round(percentile(times, 0.5) * 1000, 2),
        "p99_ms": round(percentile(times, 0.99) * 1000, 2),
    }
