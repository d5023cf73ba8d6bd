"""`make bench`: the figures users feel, taken the same way every time.

The app runs under gunicorn (4 worker processes), the sandbox EHR as a separate server, all on
loopback; PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, a SQLite file otherwise.
Figures are reported as ratios inside one run where the machine's noise would otherwise
dominate. Prints a table and writes bench/results.json. `--smoke` runs tiny counts (CI).

1. Cold summary at 200 ms per FHIR call: time to first byte (the streamed shell) and to the
   last section, parallel vs one-query-at-a-time vs the ideal.
2. Warm summary throughput and latency at 1, 8 and 32 clients, beside /healthz.
3. Refresh storm: concurrent requests on one launch whose token just expired.
4. Launch: upstream calls for an EHR launch; a second launch must not rediscover.
5. Memory: resident size per worker after 1,000 and 5,000 summary requests.
6. Observability overhead: the warm summary at 8 clients on the app as deployed (metrics in
   multiprocess mode, traces exported over OTLP/HTTP, the PHI access trail) against the same
   app with all three off (bench/apps.py), alternating rounds in one run.

The main app runs with observability on throughout, as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import (
    FULL,
    LATENCY_MS,
    ROOT,
    SECRET,
    SMOKE,
    Bench,
    OtlpSink,
    Server,
    ehr_launch,
    free_port,
    percentile,
    rss_mib,
    timed_get,
    timed_stream,
)
from bench.report import print_table


def cold_summary(bench: Bench, count: int) -> dict[str, Any]:
    iss = bench.base(latency_ms=LATENCY_MS)
    results: dict[str, list[float]] = {"parallel": [], "sequential": [], "first_byte": []}
    patients = [f"pat-{n:02d}" for n in range(1, count + 1)]
    for name, app in (("parallel", bench.app), ("sequential", bench.sequential_app)):
        for patient in patients:
            client, url = ehr_launch(bench, app, iss, patient)
            # The cache bypassed; the page streams: its first byte, then its last section.
            first, last = timed_stream(client, f"{url}?refresh=1")
            results[name].append(last)
            if name == "parallel":
                results["first_byte"].append(first)
    ideal = 1 * LATENCY_MS / 1000  # the longest chain of dependent calls is one call deep
    parallel, sequential = (
        statistics.median(results["parallel"]),
        statistics.median(results["sequential"]),
    )
    return {
        "parallel_median_ms": round(parallel * 1000),
        "parallel_p95_ms": round(percentile(results["parallel"], 0.95) * 1000),
        "sequential_median_ms": round(sequential * 1000),
        "sequential_p95_ms": round(percentile(results["sequential"], 0.95) * 1000),
        "ideal_ms": round(ideal * 1000),
        # Time to first byte: the shell, before any FHIR call has to finish (ideal: 0).
        "first_byte_median_ms": round(statistics.median(results["first_byte"]) * 1000),
        "first_byte_p95_ms": round(percentile(results["first_byte"], 0.95) * 1000),
        "parallel_over_sequential": round(parallel / sequential, 3),
        "parallel_over_ideal": round(parallel / ideal, 2),
        "launches": count,
        "fhir_latency_ms": LATENCY_MS,
    }


def throughput(
    url: str,
    clients: int,
    total: int,
    cookie_client: httpx.Client | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    cookie = cookie_client.headers.get("Cookie", "") if cookie_client is not None else ""
    sent = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
    latencies: list[float] = []

    def worker(share: int) -> None:
        with httpx.Client(timeout=60, headers=sent) as client:
            for _ in range(share):
                latencies.append(timed_get(client, url))

    shares = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, shares))
    elapsed = time.perf_counter() - started
    return {
        "rps": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
    }


def warm_summary(bench: Bench, total: int) -> dict[str, Any]:
    client, url = ehr_launch(bench, bench.app, bench.base(), "pat-03")
    client.get(url)  # warm
    handle = url.rstrip("/").rsplit("/", 1)[-1]
    api_url = f"{bench.app.url}/api/v1/launches/{handle}/summary"
    assert client.get(api_url, headers={"X-CSRF": "1"}).status_code == 200
    out: dict[str, Any] = {}
    for clients in (1, 8, 32):
        client.get(f"{url}?refresh=1")  # keep every section inside its time-to-live
        summary = throughput(url, clients, total, client)
        # The same summary as JSON (the use-case API, api/): the same builders and cache.
        api = throughput(api_url, clients, total, client, {"X-CSRF": "1"})
        health = throughput(f"{bench.app.url}/healthz", clients, total)
        out[f"c{clients}"] = {
            "summary": summary,
            "api_summary": api,
            "healthz": health,
            "summary_over_healthz_rps": round(summary["rps"] / health["rps"], 3),
            "api_over_html_rps": round(api["rps"] / summary["rps"], 3),
        }
    return out


def refresh_storm(bench: Bench, total: int) -> dict[str, Any]:
    from django.utils import timezone

    from smartapp.models import TokenGrant

    client, url = ehr_launch(bench, bench.app, bench.base(refresh="reuse_revokes_family"), "pat-04")
    client.get(url)
    TokenGrant.objects.update(expires_at=timezone.now())  # every token has just expired
    bench.reset()
    cookies = client.headers["Cookie"]
    latencies: list[float] = []
    failures = 0

    def one(_: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        status = httpx.get(url, headers={"Cookie": cookies}, timeout=60).status_code
        latencies.append(time.perf_counter() - started)
        failures += status != 200

    with ThreadPoolExecutor(min(total, 200)) as pool:
        list(pool.map(one, range(total)))
    stats = bench.stats()
    refreshes = sum(
        n for key, n in stats["token_requests"].items() if key.startswith("refresh_token")
    )
    return {
        "requests": total,
        "token_endpoint_refreshes": refreshes,
        "failures": failures,
        "reuse_rejected": sum(stats["refresh_reuse_rejected"].values()),
        "p99_ms": round(percentile(latencies, 0.99) * 1000),
    }


def launch_calls(bench: Bench) -> dict[str, Any]:
    from django.core.cache import cache

    iss = bench.base(token_ttl=3600)
    cache.clear()
    out = {}
    for label in ("first", "second"):
        bench.reset()
        client, url = ehr_launch(bench, bench.app, iss, "pat-05")
        timed_get(client, url)
        stats = bench.stats()
        out[label] = {
            "discovery": sum(stats["discovery_requests"].values()),
            "token": sum(stats["token_requests"].values()),
            "fhir": sum(stats["fhir_requests"].values()),
        }
    return out


def memory(bench: Bench, checkpoints: tuple[int, int]) -> dict[str, Any]:
    client, url = ehr_launch(bench, bench.app, bench.base(), "pat-06")
    client.get(url)
    done = 0
    out: dict[str, Any] = {}
    for checkpoint in checkpoints:
        throughput(url, 8, checkpoint - done, client)
        done = checkpoint
        out[f"after_{checkpoint}"] = {
            str(pid): round(rss_mib(pid), 1) for pid in bench.app.worker_pids()
        }
    first, last = (sum(out[f"after_{c}"].values()) for c in checkpoints)
    out["growth"] = round(last / first - 1, 3) if first else None
    return out


def overhead(bench: Bench, bare: Server, sink: OtlpSink, total: int) -> dict[str, Any]:
    """Warm summary, 8 clients: observability on (bench.app) vs off (`bare`), 3 rounds each,
    alternating so that drift in the machine's speed falls on both."""
    from smartapp.audit.records import AccessRecord

    pages = {
        "on": ehr_launch(bench, bench.app, bench.base(), "pat-04"),
        "off": ehr_launch(bench, bare, bench.base(), "pat-04"),
    }
    for client, url in pages.values():
        client.get(url)  # warm the cache
    rounds: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    records_before, exports_before = AccessRecord.objects.count(), sink.exports
    for _ in range(3):
        for mode, (client, url) in pages.items():
            client.get(f"{url}?refresh=1")  # keep every section inside its time-to-live
            rounds[mode].append(throughput(url, 8, total, client))
    on_rps = statistics.median(r["rps"] for r in rounds["on"])
    off_rps = statistics.median(r["rps"] for r in rounds["off"])
    return {
        "on": {"rps": on_rps, "p50_ms": statistics.median(r["p50_ms"] for r in rounds["on"])},
        "off": {"rps": off_rps, "p50_ms": statistics.median(r["p50_ms"] for r in rounds["off"])},
        "overhead_pct": round((off_rps / on_rps - 1) * 100, 1),
        "audit_records_written": AccessRecord.objects.count() - records_before,
        "trace_exports": sink.exports - exports_before,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, for CI")
    args = parser.parse_args()
    counts = SMOKE if args.smoke else FULL
    work = Path(tempfile.mkdtemp(prefix="smartapp-bench-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.update(
        {k: v for k, v in env.items() if k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from sandbox.clients import register_client
    from smartapp.registry import register_connection

    ports = {"app": free_port(), "seq": free_port(), "sandbox": free_port(), "bare": free_port()}
    app_urls = [f"http://localhost:{ports[name]}" for name in ("app", "seq", "bare")]
    register_client(
        client_id="bench-app",
        secret=SECRET,
        launch_uri="http://localhost:8000/smart/launch",
        redirect_uris=[f"{url}/smart/callback" for url in app_urls],
    )
    started = time.monotonic()
    sink = OtlpSink()
    metrics_dir = work / "prometheus"
    metrics_dir.mkdir()
    observed = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "OTEL_SERVICE_NAME": "smartapp-bench",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    sandbox = Server("sandbox.wsgi", ports["sandbox"], env, workers=1, threads=64)
    apps = [
        Server(
            "config.wsgi",
            ports[name],
            {**env, **extra, "APP_BASE_URL": url, "BENCH_SUMMARY_WORKERS": workers},
            workers=4,
            threads=16,
        )
        for name, url, workers, extra in (
            ("app", app_urls[0], "12", observed),
            ("seq", app_urls[1], "1", {}),
            ("bare", app_urls[2], "12", {"BENCH_BARE": "1"}),
        )
    ]
    bench = Bench(apps[0], apps[1], sandbox)
    bases: list[dict[str, Any]] = [
        {},
        {"latency_ms": LATENCY_MS},
        {"refresh": "reuse_revokes_family"},
        {"token_ttl": 3600},
    ]
    for index, options in enumerate(bases):
        register_connection(
            slug=f"bench-{index}",
            name=f"Sandbox {index}",
            iss=bench.base(**options),
            client_id="bench-app",
            client_auth="client_secret_basic",
            client_secret=SECRET,
        )
    try:
        results = {"cold_summary": cold_summary(bench, counts.cold)}
        # The one-query-at-a-time copy is done: its database connections (each thread keeps
        # one for CONN_MAX_AGE) go back before the busier phases need PostgreSQL's 100.
        apps[1].stop()
        results |= {
            "warm_summary": warm_summary(bench, counts.warm),
            "refresh_storm": refresh_storm(bench, counts.storm),
            "launch_upstream_calls": launch_calls(bench),
            "memory_rss_mib": memory(bench, counts.memory),
            "observability_overhead": overhead(bench, apps[2], sink, counts.warm),
        }
    finally:
        for server in (*apps, sandbox):
            server.stop()
        sink.stop()
    from django.conf import settings

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    report = {
        "commit": commit,
        "smoke": args.smoke,
        "seconds": round(time.monotonic() - started),
        "settings": {
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "redis": bool(settings.REDIS_URL),
            "app_workers": 4,
            "app_threads": 16,
            "cpu_count": os.cpu_count(),
        },
        "results": results,
    }
    (ROOT / "bench" / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
