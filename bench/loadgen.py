"""Load generators that do not share the interpreter (or the GIL) with what they measure.

- `wrk`: Debian's wrk, a C load generator in its own process (epoll, one thread), for every
  throughput and latency phase. A Python thread pool on the same 2 cores measured itself as
  much as the app: /healthz fell from 1,072 rps at 1 client to 506 at 32. Its figures come
  from bench/wrk_report.lua as JSON (exact percentiles from wrk's histogram, and a count of
  every answer other than 200, which wrk's own error count misses for redirects).
- `burst`: the refresh storm's N requests all in flight at once: every connection opened,
  then every request written, then the answers read as they come, from one thread with a
  selector. wrk keeps each connection busy for a duration, so it cannot send exactly N
  requests at one instant; this can, at the cost of a few microseconds of Python per request.

Pinning, "where the machine allows": with 4 or more usable CPUs the load generator runs on a
quarter of them and the servers the bench starts (app, sandbox) on the rest, via taskset, so
that they stop taking each other's run queue. With fewer (this 2-core machine) nothing is
pinned: giving wrk one core of two would halve what the app, the sandbox, PostgreSQL and Redis
can use, and wrk itself takes a few percent of one core. results.json records which.

wrk missing: installed with `apt-get install -y wrk` (the bench runs as root in CI, with
Debian's registry reachable); if that fails the bench stops and says how to install it,
rather than fall back to a Python load generator that would change every figure.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.harness import PHASE_HEADER, percentile

SCRIPT = Path(__file__).with_name("wrk_report.lua")
INSTALL_HINT = (
    "wrk (the load generator) is missing and could not be installed: install it with "
    "`sudo apt-get install wrk` (Debian, Ubuntu) or your system's package, then run again"
)


@dataclass(frozen=True)
class Pinning:
    """CPUs (taskset lists) for the servers and for the load generator; None: not pinned."""

    servers: str | None = None
    load: str | None = None

    @property
    def pinned(self) -> bool:
        return self.load is not None


def pinning() -> Pinning:
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 4 or shutil.which("taskset") is None:
        return Pinning()
    share = len(usable) // 4
    return Pinning(
        servers=",".join(map(str, usable[:-share])), load=",".join(map(str, usable[-share:]))
    )


def _install_wrk() -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(INSTALL_HINT)
    print("installing Debian's wrk (the load generator)", file=sys.stderr)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    # A fresh machine may have no package lists yet: update once when the first try fails.
    said = ""
    for command in (install, ["apt-get", "update", "-qq"], install):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        said = done.stderr.strip() or said
        if shutil.which("wrk"):
            return
    raise SystemExit(f"{INSTALL_HINT}\napt-get said: {said}")


def ensure_wrk() -> str:
    """wrk's version line, installing wrk first when it is missing."""
    if shutil.which("wrk") is None:
        _install_wrk()
    shown = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    first = (shown.stdout or shown.stderr).splitlines()[0]
    return first.split(" Copyright")[0].strip()


@dataclass(frozen=True)
class Load:
    """One wrk run, as the client saw it."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    socket_errors: int

    def figures(self) -> dict[str, Any]:
        return asdict(self)


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    phase: str,
    pin: Pinning,
    headers: dict[str, str] | None = None,
) -> Load:
    """`connections` keep-alive connections for `seconds`; every answer must be a 200."""
    sent = {PHASE_HEADER: phase, **(headers or {})}
    command = [
        *(["taskset", "-c", pin.load] if pin.load else []),
        "wrk",
        "--latency",
        *("-t", "1", "-c", str(connections), "-d", f"{max(1, seconds)}s", "--timeout", "30s"),
        *("-s", str(SCRIPT)),
        *(part for name, value in sent.items() for part in ("-H", f"{name}: {value}")),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 90)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-WRK ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed in {phase}: {done.stderr.strip() or done.stdout}")
    raw = json.loads(line.removeprefix("BENCH-WRK "))
    if raw["not_200"] or raw["timeouts"]:
        raise RuntimeError(
            f"{phase}: {raw['not_200']} answers other than 200 (by status: {raw['codes']}) and"
            f" {raw['timeouts']} timeouts in {raw['requests']} requests to {url}; "
            + done.stderr.strip()
        )
    elapsed = raw["duration_us"] / 1e6
    return Load(
        requests=raw["requests"],
        seconds=round(elapsed, 2),
        rps=round(raw["requests"] / elapsed, 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        socket_errors=raw["socket_errors"],
    )


@dataclass(frozen=True)
class Burst:
    """Each request's status and latency (seconds, from its own write to the answer's end)."""

    statuses: tuple[int, ...]
    latencies: tuple[float, ...]

    def figures(self) -> dict[str, Any]:
        return {
            "requests": len(self.statuses),
            "not_200": sum(status != 200 for status in self.statuses),
            "p50_ms": round(percentile(list(self.latencies), 0.5) * 1000),
            "p99_ms": round(percentile(list(self.latencies), 0.99) * 1000),
        }


def _request(url: str, headers: dict[str, str]) -> tuple[tuple[str, int], bytes]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    text = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n{head}\r\n"
    return (parts.hostname or "localhost", parts.port or 80), text.encode()


def burst(url: str, count: int, headers: dict[str, str]) -> Burst:
    """`count` GETs of `url` in flight at once, each on its own connection (closed after)."""
    address, request = _request(url, headers)
    sockets = {}
    for _ in range(count):
        sock = socket.create_connection(address, timeout=60)
        sockets[sock.fileno()] = sock
    selector = selectors.DefaultSelector()
    started: dict[int, float] = {}
    for fd, sock in sockets.items():
        sock.sendall(request)
        started[fd] = time.perf_counter()
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    heads = dict.fromkeys(sockets, b"")
    statuses: list[int] = []
    latencies: list[float] = []
    while selector.get_map():
        ready = selector.select(timeout=120)
        if not ready:
            raise RuntimeError(f"burst: {len(selector.get_map())} answers still missing")
        for key, _ in ready:
            sock = sockets[key.fd]
            try:
                chunk = sock.recv(65536)
            except OSError:  # reset by the server: counted as a failure (status 0)
                chunk, heads[key.fd] = b"", b""
            if chunk:  # only the status line matters; the rest is read and dropped
                heads[key.fd] = (heads[key.fd] + chunk)[:32]
                continue
            latencies.append(time.perf_counter() - started[key.fd])
            status_line = heads[key.fd].split(b" ", 2)
            statuses.append(int(status_line[1]) if len(status_line) > 1 else 0)
            selector.unregister(sock)
            sock.close()
    return Burst(tuple(statuses), tuple(latencies))
