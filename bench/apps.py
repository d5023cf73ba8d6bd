"""`BENCH_BARE=1`: the app with its observability switched off, for the overhead figure only.

Installed by bench/settings.py when that variable is set, never by the app's own settings:
production has no way to turn the PHI access trail or the metrics off. Here every metric
update becomes a no-op, the audit chain's append does nothing, and tracing stays off (the
bare server gets no OTEL_* variables).
"""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig


def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"

    def ready(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        from smartapp.audit import chain

        Counter.inc = _nothing  # type: ignore[method-assign]
        Histogram.observe = _nothing  # type: ignore[method-assign]
        Gauge.set = _nothing  # type: ignore[method-assign]
        chain.append = _nothing  # type: ignore[assignment]
