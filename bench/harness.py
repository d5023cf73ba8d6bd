"""The benchmark's moving parts: servers on loopback, a browser-like client, an EHR launch."""

from __future__ import annotations

import http.cookiejar
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-client-secret"
LATENCY_MS = 200


# Each request's phase (a header the load generators send) and server-side microseconds, in
# gunicorn's access log (bench/serverlog.py); the header atom takes the name in lower case.
PHASE_HEADER = "X-Bench-Phase"
ACCESS_FORMAT = "%({x-bench-phase}i)s %(s)s %(D)s"
SLOW_EHR_LATENCY_MS = 2000  # the first-byte phase: an EHR that takes 2 s per FHIR call


@dataclass(frozen=True)
class Counts:
    cold: int  # launches of different patients, each way (and client-py fetches)
    slow_ehr: int  # launches at SLOW_EHR_LATENCY_MS, for the first byte
    warm_s: float  # seconds of wrk per phase and concurrency level
    storm: int  # concurrent requests on the expired launch
    memory: tuple[int, int]  # summary requests at the two checkpoints
    scale_s: float  # seconds of wrk per phase in the worker-count sweep
    scale_workers: tuple[int, ...]  # the sweep's worker counts (each a fresh server)
    rounds: int  # alternating rounds of the observability comparison


FULL = Counts(
    cold=10,
    slow_ehr=3,
    warm_s=5,
    storm=200,
    memory=(1000, 10_000),
    scale_s=3,
    scale_workers=(1, 2, 4),
    rounds=3,
)
SMOKE = Counts(
    cold=2,
    slow_ehr=1,
    warm_s=1,
    storm=20,
    memory=(20, 50),
    scale_s=1,
    scale_workers=(1, 2),
    rounds=1,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Server:
    """A gunicorn server on loopback (the app or the sandbox), up when the constructor returns."""

    def __init__(
        self,
        module: str,
        port: int,
        env: dict[str, str],
        workers: int,
        threads: int,
        log: Path | None = None,
        access_log: Path | None = None,
        cpus: str | None = None,
    ) -> None:
        """`access_log`: one line per request with its server-side time and the load
        generator's X-Bench-Phase header (bench/serverlog.py); `cpus`: pinned with taskset."""
        host = "127.0.0.1" if module.startswith("sandbox") else "localhost"
        self.url = f"http://{host}:{port}"
        self.port = port
        self.workers = workers
        self.log = log
        self.access_log = access_log
        logging = ["--access-logfile", str(access_log), "--access-logformat", ACCESS_FORMAT]
        self.process = subprocess.Popen(
            [
                *(["taskset", "-c", cpus] if cpus else []),
                sys.executable,
                "-m",
                "gunicorn",
                module,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(threads),
                "--timeout",
                "120",
                *(logging if access_log else []),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w") if log else subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{module} did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Bench:
    app: Server
    sequential_app: Server
    sandbox: Server

    def stats(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.sandbox.url}/sandbox/stats").json()
        return body

    def reset(self) -> None:
        httpx.post(f"{self.sandbox.url}/sandbox/stats/reset")

    def base(self, **options: Any) -> str:
        from sandbox.simulation import encode

        return (
            f"{self.sandbox.url}/sim/{encode(options)}/fhir"
            if options
            else f"{self.sandbox.url}/fhir"
        )


def browser() -> httpx.Client:
    # The app's session cookie is Secure; on loopback over plain HTTP a browser still keeps it.
    policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
    return httpx.Client(timeout=60, cookies=http.cookiejar.CookieJar(policy=policy))


def send_cookies(client: httpx.Client) -> None:
    """httpx merges cookies into a default-policy jar when sending, which drops Secure cookies
    over plain HTTP; send the app's cookies (the launch's own) as a browser on loopback would."""
    client.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


def ehr_launch(bench: Bench, app: Server, iss: str, patient: str) -> tuple[httpx.Client, str]:
    """The EHR's "open app" button through to the summary; (the browser, the summary URL)."""
    from sandbox.walk import walk_authorization

    client = browser()
    pressed = client.get(
        f"{iss.removesuffix('/fhir')}/ehr/launch",
        params={"client_id": "bench-app", "patient": patient},
    )
    launch_url = pressed.headers["location"].replace("http://localhost:8000", app.url)
    start = client.get(launch_url)
    send_cookies(client)
    landed = walk_authorization(client, start.headers["location"], f"{app.url}/smart/callback")
    assert isinstance(landed, str), "the launch did not reach the callback"
    done = client.get(landed)
    send_cookies(client)  # the launch's cookie is replaced when it becomes active
    if done.status_code != 303:
        code = (
            done.text.split("<code>")[1].split("</code>")[0]
            if "<code>" in done.text
            else done.status_code
        )
        raise RuntimeError(f"the launch failed at the callback: {code}")
    summary_url = f"{app.url}{done.headers['location']}"
    return client, summary_url


def timed_stream(client: httpx.Client, url: str) -> tuple[float, float]:
    """(time to first byte, time to the last byte) of a streamed page."""
    started = time.perf_counter()
    with client.stream("GET", url) as response:
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        chunks = response.iter_raw()
        next(chunks)
        first = time.perf_counter() - started
        for _ in chunks:
            pass
    return first, time.perf_counter() - started


def timed_get(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return time.perf_counter() - started


SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

exports = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global exports
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        exports += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        body = str(exports).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


class OtlpSink:
    """A stand-in trace collector in its own process on loopback (as a collector would be, off
    the load generator's interpreter): accepts OTLP/HTTP exports and counts them, so the traced
    app pays for building, batching and sending its spans as in production."""

    def __init__(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the OTLP sink did not start")

    @property
    def exports(self) -> int:
        return int(httpx.get(self.url, timeout=5).text)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
