"""`make bench` (second part): extraction throughput, end to end, on one population.

The sandbox EHR (gunicorn, one process) serves a deterministic population
(`SANDBOX_POPULATION`: 5,000 patients, about 170,000 resources; 20 with `--smoke`); the app
extracts all of it with a full Bulk Data export into the canonical store and reports:

- resources per second from `extract` starting to the job being done (kick-off, polls,
  downloads, loading, reconciliation: everything), with the steps run in this process, and
  with 1 and 2 Celery worker processes (`--pool solo`, so one process is one worker) when
  PostgreSQL and Redis are configured (DATABASE_URL, REDIS_URL);
- the loading step's share of the file tasks' time (the rest is download and parsing);
- each worker's peak resident memory (VmHWM), with files of 500 and of 5,000 resources:
  bounded by the chunk size, not the file size.

Writes bench/extraction.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.harness import ROOT, Server, free_port

POPULATION = {"full": 5000, "smoke": 20}
BACKEND_CLIENT = "bench-backend"


def _cpu_seconds(name: str) -> float:
    """CPU time used so far by every process called `name` (PostgreSQL's backends), and by
    their children that have exited (a backend ends with its connection: the postmaster's
    cutime/cstime keep its time), from /proc; 0 where it cannot be read."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm, _, rest = text.partition(") ")
        if comm.split("(", 1)[-1] == name:
            fields = rest.split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / ticks


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Workers:
    def __init__(self, env: dict[str, str], count: int) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
            "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.processes = [
            subprocess.Popen(
                [*command, "--hostname", f"bench{n}@%h"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for n in range(count)
        ]

    def peaks(self) -> list[float]:
        return [_peak_rss_mib(process.pid) for process in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(30)


def _setup(connection_iss: str, file_lines: int) -> Any:
    from joserfc import jwk

    from sandbox.clients import register_backend_client
    from smartapp.registry import register_connection

    key = jwk.RSAKey.generate_key(2048, private=True)
    public = {**key.as_dict(private=False), "alg": "RS384", "use": "sig"}
    register_backend_client(client_id=BACKEND_CLIENT, jwks={"keys": [public]})
    return register_connection(
        slug=f"bench-{file_lines}",
        name=f"Bench ({file_lines} per file)",
        iss=connection_iss,
        client_id="bench-launch",
        client_auth="none",
        backend_client_id=BACKEND_CLIENT,
        backend_key_pem=key.as_pem(private=True).decode(),
    )


def _run(connection: Any, workers: int, env: dict[str, str]) -> dict[str, Any]:
    """One full export into an empty store for this connection; the figures."""
    from smartapp.extraction import dispatch, files, jobs
    from smartapp.extraction.records import ExtractionJob
    from smartapp.warehouse.models import MODELS

    for model in MODELS.values():
        model._default_manager.filter(connection_id=connection.pk).delete()
    pool = Workers(env, workers) if workers else None
    database_cpu = _cpu_seconds("postgres")
    started = time.monotonic()
    try:
        if pool is None:
            with dispatch.inline():
                job = jobs.start(connection, full=True, requested_by="bench")
                dispatch.drain()
        else:
            job = jobs.start(connection, full=True, requested_by="bench")
            while ExtractionJob.objects.get(pk=job.pk).state not in ("done", "failed"):
                time.sleep(0.2)
                files.supervise()
        seconds = time.monotonic() - started
        database_cpu = _cpu_seconds("postgres") - database_cpu
        peaks = pool.peaks() if pool else [_peak_rss_mib(os.getpid())]
    finally:
        if pool is not None:
            pool.stop()
    job.refresh_from_db()
    if job.state != "done":
        raise RuntimeError(f"bench extraction {job.state}: {job.error_code} {job.error_detail}")
    tasks = list(job.files.values_list("load_seconds", "total_seconds"))
    load_share = sum(load for load, _ in tasks) / max(sum(total for _, total in tasks), 1e-9)
    return {
        "workers": workers or "in process",
        "resources": job.resources_loaded,
        "files": job.files_total,
        "seconds": round(seconds, 1),
        "resources_per_s": round(job.resources_loaded / seconds),
        "load_share": round(load_share, 2),
        "peak_rss_mib": peaks,
        # Resources one second of database CPU absorbs: with the per-worker rate, how many
        # workers one database core keeps busy (README, "how it scales").
        "database_cpu_s": round(database_cpu, 1),
        "resources_per_database_cpu_s": round(job.resources_loaded / database_cpu)
        if database_cpu
        else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny population, for CI")
    args = parser.parse_args()
    population = POPULATION["smoke" if args.smoke else "full"]
    work = Path(tempfile.mkdtemp(prefix="smartapp-bench-extract-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "BENCH_POPULATION": str(population),
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.update(env)
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from django.conf import settings

    from sandbox.simulation import encode

    workers_possible = (
        bool(settings.REDIS_URL) and "postgresql" in settings.DATABASES["default"]["ENGINE"]
    )
    if workers_possible:
        from config.celery import app

        app.control.purge()
    sandbox = Server("sandbox.wsgi", free_port(), env, workers=1, threads=16)
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    try:
        for lines in (500, 5000):
            iss = f"{sandbox.url}/sim/{encode({'export_file_lines': lines})}/fhir"
            connection = _setup(iss, lines)
            plans = [0, 1, 2] if workers_possible and lines == 500 else [0]
            if workers_possible and lines == 5000:
                plans = [1]
            for workers in plans:
                figures = _run(connection, workers, env)
                results.append({"file_lines": lines, **figures})
    finally:
        sandbox.stop()
    report = {
        "smoke": args.smoke,
        "population_patients": population,
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "redis": bool(settings.REDIS_URL),
        "cpu_count": os.cpu_count(),
        "chunk": settings.EXTRACT_CHUNK,
        "seconds": round(time.monotonic() - started),
        "runs": results,
    }
    (ROOT / "bench" / "extraction.json").write_text(json.dumps(report, indent=2) + "\n")
    _print(report)
    return 0


def _print(report: dict[str, Any]) -> None:
    print(
        f"\nExtraction: {report['population_patients']} patients, {report['database']}, "
        f"redis={report['redis']}, {report['cpu_count']} CPUs, chunk {report['chunk']}"
    )
    print(f"{'per file':>9} {'workers':>11} {'resources':>10} {'s':>7} {'res/s':>7} "
          f"{'load':>5} {'res/db-cpu-s':>12}  peak RSS MiB")  # fmt: skip
    for run in report["runs"]:
        print(
            f"{run['file_lines']:>9} {run['workers']!s:>11} {run['resources']:>10} "
            f"{run['seconds']:>7} {run['resources_per_s']:>7} {run['load_share']:>5} "
            f"{run['resources_per_database_cpu_s']!s:>12}  "
            f"{', '.join(str(peak) for peak in run['peak_rss_mib'])}"
        )


if __name__ == "__main__":
    sys.exit(main())
