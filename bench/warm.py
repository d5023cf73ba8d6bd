"""Warm phases, driven by wrk (bench/loadgen.py): every section already in the cache.

Each phase pairs the client's figures (wrk) with the server's own time per request for the
same requests (gunicorn's access log, bench/serverlog.py), and each throughput with /healthz
measured on the same server in the same minute, so a busy machine moves both.

- `warm_summary`: the page, the same summary as JSON (the use-case API) and /healthz at 1, 8
  and 32 connections.
- `memory`: resident size of each worker after 1,000 and 10,000 summary requests.
- `overhead`: observability on (the app as deployed) vs off (bench/apps.py), alternating.
- `scale`: the app under 1, 2 and 4 gunicorn workers: where throughput stops growing.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from typing import Any

import httpx

from bench.harness import Bench, OtlpSink, Server, ehr_launch, rss_mib
from bench.loadgen import Load, Pinning, wrk
from bench.serverlog import server_side

LEVELS = (1, 8, 32)
SCALE_LEVELS = (8, 32)


def _warm_launch(
    bench: Bench, app: Server, patient: str, pin: Pinning
) -> tuple[str, dict[str, str]]:
    """A launch whose summary is in every worker's cache: (its URL, the headers wrk sends).
    Without Redis each worker process has a cache of its own, so one request is not enough:
    a second of wrk at 8 connections (not measured) reaches them all."""
    client, url = ehr_launch(bench, app, bench.base(), patient)
    assert client.get(url).status_code == 200
    cookie = {"Cookie": client.headers["Cookie"]}
    wrk(url, connections=8, seconds=1, phase="warm-up", pin=pin, headers=cookie)
    return url, cookie


def _refill(url: str, cookie: dict[str, str]) -> None:
    """Every section fetched again, so that each stays inside its time-to-live for a while."""
    assert httpx.get(f"{url}?refresh=1", headers=cookie, timeout=60).status_code == 200


def _paired(load: Load, server: Server, phase: str) -> dict[str, Any]:
    return {**load.figures(), "server": server_side(server.access_log, phase)}


def warm_summary(bench: Bench, seconds: int, pin: Pinning) -> dict[str, Any]:
    app = bench.app
    url, cookie = _warm_launch(bench, app, "pat-03", pin)
    handle = url.rstrip("/").rsplit("/", 1)[-1]
    targets = {
        "summary": (url, cookie),
        # The same summary as JSON (the use-case API, api/): the same builders and cache.
        "api_summary": (f"{app.url}/api/v1/launches/{handle}/summary", {**cookie, "X-CSRF": "1"}),
        "healthz": (f"{app.url}/healthz", {}),
    }
    out: dict[str, Any] = {}
    for level in LEVELS:
        # Keep every section inside its time-to-live for the three runs of this level.
        _refill(url, cookie)
        figures: dict[str, Any] = {}
        for name, (target, headers) in targets.items():
            phase = f"{name}-c{level}"
            load = wrk(
                target, connections=level, seconds=seconds, phase=phase, pin=pin, headers=headers
            )
            figures[name] = _paired(load, app, phase)
        summary, api, health = (figures[name]["rps"] for name in targets)
        figures["summary_over_healthz"] = round(summary / health, 3)
        figures["api_over_html"] = round(api / summary, 3)
        out[f"c{level}"] = figures
    return out


def drive(url: str, headers: dict[str, str], total: int, pin: Pinning, phase: str) -> int:
    """At least `total` requests at 8 connections, in wrk runs sized from the best rate so
    far (wrk runs for a time, not a count: the last run may go a little past `total`)."""
    done, rate = 0, 0.0
    while done < total:
        seconds = (2 if total >= 1000 else 1) if not rate else math.ceil((total - done) / rate)
        load = wrk(
            url, connections=8, seconds=min(seconds, 60), phase=phase, pin=pin, headers=headers
        )
        done, rate = done + load.requests, max(rate, load.rps)
    return done


def memory(bench: Bench, checkpoints: tuple[int, int], pin: Pinning) -> dict[str, Any]:
    url, cookie = _warm_launch(bench, bench.app, "pat-06", pin)
    done = 0
    out: dict[str, Any] = {}
    for checkpoint in checkpoints:
        done += drive(url, cookie, checkpoint - done, pin, "memory")
        workers = {str(pid): round(rss_mib(pid), 1) for pid in bench.app.worker_pids()}
        out[f"after_{checkpoint}"] = {
            "requests": done,
            "rss_per_worker_mib": workers,
            "rss_max_mib": max(workers.values(), default=0.0),
        }
    first, last = (sum(out[f"after_{c}"]["rss_per_worker_mib"].values()) for c in checkpoints)
    out["growth_ratio"] = round(last / first - 1, 3) if first else None
    return out


def overhead(
    bench: Bench, bare: Server, sink: OtlpSink, seconds: int, rounds: int, pin: Pinning
) -> dict[str, Any]:
    """Warm summary, 8 connections: observability on (bench.app) vs off (`bare`), alternating
    rounds so that drift in the machine's speed falls on both."""
    from smartapp.audit.records import AccessRecord

    pages = {
        "on": _warm_launch(bench, bench.app, "pat-04", pin),
        "off": _warm_launch(bench, bare, "pat-04", pin),
    }
    runs: dict[str, list[Load]] = {"on": [], "off": []}
    records_before, exports_before = AccessRecord.objects.count(), sink.exports
    for _ in range(rounds):
        for mode, (url, cookie) in pages.items():
            _refill(url, cookie)
            runs[mode].append(
                wrk(
                    url,
                    connections=8,
                    seconds=seconds,
                    phase=f"overhead-{mode}",
                    pin=pin,
                    headers=cookie,
                )
            )
    on, off = (
        {
            "rps": statistics.median(r.rps for r in runs[m]),
            "p50_ms": statistics.median(r.p50_ms for r in runs[m]),
        }
        for m in ("on", "off")
    )
    return {
        "on": on,
        "off": off,
        "overhead_pct": round((off["rps"] / on["rps"] - 1) * 100, 1),
        "audit_records_written": AccessRecord.objects.count() - records_before,
        "trace_exports": sink.exports - exports_before,
    }


def scale(
    bench: Bench,
    start: Callable[[int], Server],
    counts: tuple[int, ...],
    seconds: int,
    pin: Pinning,
) -> dict[str, Any]:
    """The warm summary and /healthz under each count of workers (each a fresh server)."""
    out: dict[str, Any] = {}
    for workers in counts:
        server = start(workers)
        try:
            url, cookie = _warm_launch(bench, server, "pat-07", pin)
            figures: dict[str, Any] = {}
            for level in SCALE_LEVELS:
                for name, target, headers in (
                    ("summary", url, cookie),
                    ("healthz", f"{server.url}/healthz", None),
                ):
                    phase = f"scale-w{workers}-{name}-c{level}"
                    load = wrk(
                        target,
                        connections=level,
                        seconds=seconds,
                        phase=phase,
                        pin=pin,
                        headers=headers,
                    )
                    figures[f"{name}_c{level}"] = _paired(load, server, phase)
            figures["rss_per_worker_mib"] = [round(rss_mib(p), 1) for p in server.worker_pids()]
        finally:
            server.stop()
        out[f"workers_{workers}"] = figures
    out["summary_grows_until_workers"] = grows_until(out, counts, "summary")
    out["healthz_grows_until_workers"] = grows_until(out, counts, "healthz")
    return out


def grows_until(sweep: dict[str, Any], counts: tuple[int, ...], name: str) -> int:
    """The worker count after which one more step (1 -> 2 -> 4) adds less than 10 % to the
    best rps of its levels; the last count when every step still adds more."""
    best = [max(sweep[f"workers_{w}"][f"{name}_c{c}"]["rps"] for c in SCALE_LEVELS) for w in counts]
    for index in range(1, len(best)):
        if best[index] < best[index - 1] * 1.1:
            return counts[index - 1]
    return counts[-1]
