"""Cold phases: the summary with the cache bypassed (`?refresh=1`), every section from the EHR.

- `cold_summary`: at 200 ms per FHIR call, the parallel app's last byte against three
  measures taken on the same patients in the same run: the ideal (one round trip: the
  longest chain of dependent calls is one call deep), the app's own one-query-at-a-time copy,
  and client-py making the same reads one after another with the same launch's token
  (bench/baseline.py), fetched right after the app's page so both see the same machine.
- `slow_ehr_first_byte`: at 2 s per FHIR call, how soon the streamed page's first byte (the
  shell) leaves; it must not wait for the EHR at all.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.baseline import client_py_summary, launch_context
from bench.harness import (
    LATENCY_MS,
    PHASE_HEADER,
    SLOW_EHR_LATENCY_MS,
    Bench,
    ehr_launch,
    percentile,
    timed_stream,
)
from bench.serverlog import server_side


def _ms(values: list[float], share: float | None = None) -> int:
    value = statistics.median(values) if share is None else percentile(values, share)
    return round(value * 1000)


def _fhir_calls(bench: Bench) -> int:
    return sum(bench.stats()["fhir_requests"].values())


def _parallel_and_baseline(bench: Bench, iss: str, patients: list[str]) -> dict[str, Any]:
    """The parallel app's page, then client-py's reads with the launch's token, per patient;
    the sandbox's call counts for the first patient (stats are reset before each)."""
    out: dict[str, Any] = {"parallel": [], "first_byte": [], "client_py": [], "calls": {}}
    for patient in patients:
        client, url = ehr_launch(bench, bench.app, iss, patient)
        client.headers[PHASE_HEADER] = "cold"
        bench.reset()
        first, last = timed_stream(client, f"{url}?refresh=1")
        out["calls"].setdefault("app", _fhir_calls(bench))
        out["parallel"].append(last)
        out["first_byte"].append(first)
        bench.reset()
        seconds, parsed = client_py_summary(iss, *launch_context(url))
        out["calls"].setdefault("client_py", _fhir_calls(bench))
        out["calls"].setdefault("client_py_resources", parsed)
        out["client_py"].append(seconds)
    return out


def cold_summary(bench: Bench, count: int) -> dict[str, Any]:
    iss = bench.base(latency_ms=LATENCY_MS)
    patients = [f"pat-{n:02d}" for n in range(1, count + 1)]
    measured = _parallel_and_baseline(bench, iss, patients)
    sequential: list[float] = []
    for patient in patients:
        client, url = ehr_launch(bench, bench.sequential_app, iss, patient)
        sequential.append(timed_stream(client, f"{url}?refresh=1")[1])
    ideal = LATENCY_MS / 1000  # the longest chain of dependent calls is one call deep
    parallel = statistics.median(measured["parallel"])
    client_py = statistics.median(measured["client_py"])
    return {
        "launches": count,
        "fhir_latency_ms": LATENCY_MS,
        "ideal_ms": round(ideal * 1000),
        "parallel_median_ms": _ms(measured["parallel"]),
        "parallel_p95_ms": _ms(measured["parallel"], 0.95),
        "sequential_median_ms": _ms(sequential),
        "sequential_p95_ms": _ms(sequential, 0.95),
        "client_py_median_ms": _ms(measured["client_py"]),
        "client_py_p95_ms": _ms(measured["client_py"], 0.95),
        # Time to first byte: the shell, before any FHIR call has to finish (ideal: 0).
        "first_byte_median_ms": _ms(measured["first_byte"]),
        "first_byte_p95_ms": _ms(measured["first_byte"], 0.95),
        "parallel_over_ideal": round(parallel / ideal, 3),
        "parallel_over_sequential": round(parallel / statistics.median(sequential), 3),
        "parallel_over_client_py": round(parallel / client_py, 3),
        # FHIR calls the sandbox answered for one page, and for client-py's same reads.
        "fhir_calls": measured["calls"],
        "server_side": server_side(bench.app.access_log, "cold"),
    }


def slow_ehr_first_byte(bench: Bench, count: int) -> dict[str, Any]:
    """Launches at 2 s per FHIR call; each page streamed with the cache bypassed."""
    iss = bench.base(latency_ms=SLOW_EHR_LATENCY_MS)
    firsts: list[float] = []
    lasts: list[float] = []
    for n in range(count):
        client, url = ehr_launch(bench, bench.app, iss, f"pat-{n + 1:02d}")
        client.headers[PHASE_HEADER] = "slow-ehr"
        first, last = timed_stream(client, f"{url}?refresh=1")
        firsts.append(first)
        lasts.append(last)
    return {
        "launches": count,
        "fhir_latency_ms": SLOW_EHR_LATENCY_MS,
        "first_byte_median_ms": _ms(firsts),
        "first_byte_max_ms": round(max(firsts) * 1000),
        "last_byte_median_ms": _ms(lasts),
        "server_side": server_side(bench.app.access_log, "slow-ehr"),
    }
