"""`make bench`: the figures users feel, taken the same way every time.

The app runs under gunicorn (4 worker processes x 16 threads, gthread), the sandbox EHR as a
separate server, all on loopback; PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set,
a SQLite file otherwise. The load comes from Debian's wrk in its own process
(bench/loadgen.py, which also says when it is pinned apart from the servers), and every
server logs each request's own time, so client and server figures sit side by side
(bench/serverlog.py). Every goal is a ratio or a pair measured in the same run, because this
machine's noise would otherwise dominate. Prints the goal table and the details (bench/
report.py) and writes bench/results.json. `--smoke` runs tiny counts (CI).

1. Cold summary at 200 ms per FHIR call: the last section against the ideal (one round trip),
   the app's one-query-at-a-time copy and client-py's same reads (bench/cold.py).
2. First byte with 2 s per FHIR call: the streamed shell must not wait for the EHR.
3. Warm summary (page and JSON) and /healthz at 1, 8 and 32 connections (bench/warm.py).
4. Refresh storm: 200 requests at once on one launch whose token just expired.
5. Launch: upstream calls for an EHR launch; a second launch must not rediscover.
6. Memory: resident size per worker after 1,000 and 10,000 summary requests.
7. Observability overhead: the app as deployed (metrics in multiprocess mode, traces exported
   over OTLP/HTTP, the PHI access trail) against the same app with all three off
   (bench/apps.py), alternating rounds in one run.
8. Scale: the warm summary and /healthz under 1, 2 and 4 workers.

The main app runs with observability on throughout, as in production.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import cold, warm
from bench.harness import (
    FULL,
    LATENCY_MS,
    PHASE_HEADER,
    ROOT,
    SECRET,
    SLOW_EHR_LATENCY_MS,
    SMOKE,
    Bench,
    Counts,
    OtlpSink,
    Server,
    ehr_launch,
    free_port,
    timed_get,
)
from bench.loadgen import Pinning, burst, ensure_wrk, pinning
from bench.report import goals, print_table
from bench.serverlog import server_side

APP_WORKERS, APP_THREADS = 4, 16
# Every figure's unit is in its key: a suffix, or one of the names below.
UNITS = {
    "_ms": "milliseconds",
    "_s, seconds, phase_seconds": "seconds",
    "_rps, rps": "requests per second",
    "_mib": "MiB (resident set size)",
    "_pct": "percent",
    "_over_, _ratio": "a ratio of two figures of the same run (no unit)",
    "_workers": "gunicorn worker processes",
    "anything else": "a count",
}


def refresh_storm(bench: Bench, total: int) -> dict[str, Any]:
    from django.utils import timezone

    from smartapp.models import TokenGrant

    client, url = ehr_launch(bench, bench.app, bench.base(refresh="reuse_revokes_family"), "pat-04")
    client.get(url)
    TokenGrant.objects.update(expires_at=timezone.now())  # every token has just expired
    bench.reset()
    sent = burst(url, total, {"Cookie": client.headers["Cookie"], PHASE_HEADER: "storm"})
    stats = bench.stats()
    figures = sent.figures()
    return {
        "requests": total,
        "token_endpoint_refreshes": sum(
            n for key, n in stats["token_requests"].items() if key.startswith("refresh_token")
        ),
        "failures": figures["not_200"],
        "reuse_rejected": sum(stats["refresh_reuse_rejected"].values()),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "server": server_side(bench.app.access_log, "storm"),
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


@dataclass(frozen=True)
class Fleet:
    """How every server of the run starts: one environment, one work directory, one pinning;
    each app gets its own port (registered as a redirect URI), metrics directory and log."""

    env: dict[str, str]
    work: Path
    pin: Pinning
    ports: dict[str, int]
    sink: OtlpSink

    def app(self, name: str, workers: int = APP_WORKERS, **extra: str) -> Server:
        """`name`'s app; observability on unless `extra` sets BENCH_BARE."""
        url = f"http://localhost:{self.ports[name]}"
        metrics = self.work / f"prometheus-{name}"
        metrics.mkdir(exist_ok=True)
        observed = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.sink.url,
            "OTEL_SERVICE_NAME": "smartapp-bench",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        env = {**self.env, "APP_BASE_URL": url, "BENCH_SUMMARY_WORKERS": "12"}
        env |= extra if "BENCH_BARE" in extra else {**observed, **extra}
        access_log = self.work / f"access-{name}.log"
        return Server(
            "config.wsgi",
            self.ports[name],
            env,
            workers,
            APP_THREADS,
            log=self.work / f"{name}.log",
            access_log=access_log,
            cpus=self.pin.servers,
        )


def _prepare(work: Path) -> dict[str, str]:
    """The servers' environment; the database migrated; Django set up in this process."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings", "PYTHONPATH": str(ROOT)}
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.update(
        {k: v for k, v in env.items() if k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    )
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    return env


NEEDED_CONNECTIONS = 90  # the app's 64 threads in the storm, the sandbox's, the bench's own


def _warn_if_postgres_is_short() -> None:
    """Each gunicorn thread that has served a request keeps a database connection (the app's
    CONN_MAX_AGE), so a PostgreSQL shared with other work can run out mid-run; the app then
    answers 503 and wrk stops the run. Say so up front rather than after minutes."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "select current_setting('max_connections')::int"
            " - current_setting('superuser_reserved_connections')::int"
            " - (select count(*) from pg_stat_activity)"
        )
        free = int(cursor.fetchone()[0])
    if free < NEEDED_CONNECTIONS:
        print(
            f"warning: PostgreSQL has {free} free connections and the bench may use up to"
            f" {NEEDED_CONNECTIONS}; other clients of the server may make the app answer 503",
            file=sys.stderr,
        )


def _register(bench: Bench, ports: dict[str, int]) -> None:
    """The bench's client at the sandbox, and one connection per simulated EHR base."""
    from sandbox.clients import register_client
    from smartapp.registry import register_connection

    register_client(
        client_id="bench-app",
        secret=SECRET,
        launch_uri="http://localhost:8000/smart/launch",
        redirect_uris=[
            f"http://localhost:{port}/smart/callback"
            for name, port in ports.items()
            if name != "sandbox"
        ],
    )
    bases: list[dict[str, Any]] = [
        {},
        {"latency_ms": LATENCY_MS},
        {"latency_ms": SLOW_EHR_LATENCY_MS},
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


def _overhead(bench: Bench, fleet: Fleet, counts: Counts) -> dict[str, Any]:
    bare = fleet.app("bare", BENCH_BARE="1")
    try:
        return warm.overhead(bench, bare, fleet.sink, int(counts.warm_s), counts.rounds, fleet.pin)
    finally:
        bare.stop()


def _scale(bench: Bench, fleet: Fleet, counts: Counts) -> dict[str, Any]:
    def start(workers: int) -> Server:
        return fleet.app(f"w{workers}", workers=workers)

    return warm.scale(bench, start, counts.scale_workers, int(counts.scale_s), fleet.pin)


def _phases(fleet: Fleet, counts: Counts) -> tuple[dict[str, Any], dict[str, float]]:
    """Every phase's figures, and the seconds each took."""
    pin = fleet.pin
    sandbox = Server(
        "sandbox.wsgi", fleet.ports["sandbox"], fleet.env, workers=1, threads=32, cpus=pin.servers
    )
    app, sequential = fleet.app("app"), fleet.app("seq", BENCH_SUMMARY_WORKERS="1")
    bench = Bench(app, sequential, sandbox)
    _register(bench, fleet.ports)
    results: dict[str, Any] = {}
    took: dict[str, float] = {}

    def step(name: str, call: Callable[[], Any]) -> None:
        started = time.monotonic()
        results[name] = call()
        took[name] = round(time.monotonic() - started, 1)

    try:
        step("cold_summary", lambda: cold.cold_summary(bench, counts.cold))
        # The one-query-at-a-time copy is done: its database connections (each thread keeps
        # one for CONN_MAX_AGE) go back before the busier phases need PostgreSQL's 100.
        sequential.stop()
        step("slow_ehr", lambda: cold.slow_ehr_first_byte(bench, counts.slow_ehr))
        step("warm_summary", lambda: warm.warm_summary(bench, int(counts.warm_s), pin))
        step("launch_upstream_calls", lambda: launch_calls(bench))
        step("memory", lambda: warm.memory(bench, counts.memory, pin))
        step("observability_overhead", lambda: _overhead(bench, fleet, counts))
        # Last on this app: the storm busies all of its threads, and each then holds a
        # database connection for as long as the app runs.
        step("refresh_storm", lambda: refresh_storm(bench, counts.storm))
        app.stop()  # one app at a time from here: the sweep's servers have the cores
        step("scale", lambda: _scale(bench, fleet, counts))
    finally:
        for server in (app, sequential, sandbox):
            if server.process.poll() is None:
                server.stop()
    return results, took


def _commit() -> str:
    shown = ["git", "rev-parse", "--short", "HEAD"]
    return subprocess.run(shown, cwd=ROOT, capture_output=True, text=True, check=False).stdout


def _settings(wrk_version: str, pin: Pinning) -> dict[str, Any]:
    from django.conf import settings

    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "redis": bool(settings.REDIS_URL),
        "app_workers": APP_WORKERS,
        "app_threads": APP_THREADS,
        "worker_class": "gthread",
        "cpu_count": os.cpu_count(),
        "fhir_latency_ms": LATENCY_MS,
        "slow_ehr_fhir_latency_ms": SLOW_EHR_LATENCY_MS,
        "load_generator": wrk_version,
        "pinned": pin.pinned,
        "server_cpus": pin.servers,
        "load_generator_cpus": pin.load,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, for CI")
    args = parser.parse_args()
    wrk_version = ensure_wrk()  # before anything slow: a missing wrk stops the run at once
    work = Path(tempfile.mkdtemp(prefix="smartapp-bench-"))
    env = _prepare(work)
    _warn_if_postgres_is_short()
    started = time.monotonic()
    counts = SMOKE if args.smoke else FULL
    names = ("app", "seq", "bare", "sandbox", *(f"w{n}" for n in counts.scale_workers))
    sink = OtlpSink()
    try:
        fleet = Fleet(env, work, pinning(), {name: free_port() for name in names}, sink)
        results, took = _phases(fleet, counts)
    except RuntimeError as exc:  # a phase went wrong: the servers' own logs say why
        raise SystemExit(f"{exc}\nthe servers' logs and access logs: {work}") from exc
    finally:
        sink.stop()
    report: dict[str, Any] = {
        "commit": _commit().strip(),
        "smoke": args.smoke,
        "seconds": round(time.monotonic() - started),
        "phase_seconds": took,
        "units": UNITS,
        "settings": _settings(wrk_version, fleet.pin),
        "results": results,
    }
    report["goals"] = goals(report)
    (ROOT / "bench" / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
