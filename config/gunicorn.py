"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi --bind ... --workers ...`.

Prometheus multiprocess mode (prometheus_client): every worker writes its metric values to
files in PROMETHEUS_MULTIPROC_DIR and /metrics adds them up. The directory is emptied when
the arbiter starts (values of a previous run would be counted again) and a dead worker's
live gauges are dropped when it exits.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

# Threaded workers: the summary streams (its shell at once, each section as the EHR answers),
# so a slow EHR holds a thread, not a whole process; `make bench` measures this worker class.
# Each thread keeps a database connection for CONN_MAX_AGE, and so do each worker's summary
# pool (SUMMARY_WORKERS) and its two batch writers: workers x (threads + SUMMARY_WORKERS + 2)
# per host must stay under the database's max_connections. Command-line flags override both.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))


def _multiproc_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_DIR_VARIABLE, "").strip()
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    """In the arbiter, before any worker: an empty multiprocess directory."""
    directory = _multiproc_dir()
    if directory is None:
        return
    if directory.exists():
        for entry in directory.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """In the arbiter, after a worker exits: forget its live gauges."""
    if _multiproc_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
