"""docker-compose.yml's start-up, replayed as plain processes on loopback (no Docker engine).

The commands, the order and the environment come from the compose file (.env.example, then each
service's `environment`), with what only Docker provides substituted: service host names become
127.0.0.1, the published ports free ones, PostgreSQL a throwaway SQLite file, Redis the test's
REDIS_URL (or none: in-process cache, eager Celery), /app/var and /tmp directories under
tmp_path. One-shot services must exit 0; long-running ones must pass their own healthcheck.
Then the app answers /readyz, /metrics with the token Prometheus would use and the Host it
would send, and every registered EHR's discovery from the app's environment, with the
authorization endpoint on the origin the browser reaches the sandbox at.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from graphlib import TopologicalSorter
from pathlib import Path

import pytest

from tests.test_compose import ROOT, SERVICES, argv, dependencies, env_example, published

BIN = Path(sys.executable).parent
# Not replayed: postgres and redis are images (SQLite and the test Redis stand in); prometheus,
# grafana and jaeger are third-party images with no process here (their files are checked by
# tests/test_compose.py; OTEL_SDK_DISABLED keeps the app from exporting to a missing Jaeger);
# worker and beat need a broker and only consume tasks, which nothing in this replay sends.
SKIPPED = {"postgres", "redis", "prometheus", "grafana", "jaeger", "worker", "beat"}
HOSTS = ("postgres", "redis", "web", "sandbox", "jaeger", "prometheus")
HEALTHY_WITHIN_S = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Loopback:
    """What compose's network and volumes provide, on this machine."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.ports = {8000: free_port(), 9000: free_port()}

    def local(self, value: str) -> str:
        value = value.replace("0.0.0.0", "127.0.0.1")  # noqa: S104
        for host in HOSTS:
            value = value.replace(f"//{host}:", "//127.0.0.1:")
        for port, free in self.ports.items():
            value = re.sub(rf":{port}\b", f":{free}", value)
        value = value.replace("/app/var", str(self.tmp / "var"))
        return re.sub(r"^/tmp/", f"{self.tmp}/", value)

    def environment(self, name: str) -> dict[str, str]:
        env = env_example()
        env |= {key: str(value) for key, value in SERVICES[name].get("environment", {}).items()}
        env = {key: self.local(value) for key, value in env.items()}  # compose's values only:
        # this machine's own paths (a clone under /tmp, as CI's) are not the container's
        env |= {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(self.tmp)}
        env |= {"PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}  # the Dockerfile's
        env["DATABASE_URL"] = f"sqlite:///{self.tmp}/db.sqlite3"
        env.pop("REDIS_URL", None)
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        env["OTEL_SDK_DISABLED"] = "true"
        return env

    def command(self, name: str) -> list[str]:
        return [self.local(part) for part in argv(SERVICES[name])]

    def healthcheck(self, name: str) -> list[str]:
        return [self.local(part) for part in SERVICES[name]["healthcheck"]["test"][1:]]

    def origin(self, service: str, container_port: int) -> str:
        return self.local(published(service, container_port))


def start_up_order() -> list[str]:
    graph = {n: set(dependencies(n)) - SKIPPED for n in SERVICES if n not in SKIPPED}
    return list(TopologicalSorter(graph).static_order())


def run_one_shot(box: Loopback, name: str) -> None:
    done = subprocess.run(
        box.command(name),
        cwd=ROOT,
        env=box.environment(name),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stderr[-3000:]}"


def wait_healthy(box: Loopback, name: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{name} exited:\n{log.read_text()[-3000:]}"
        check = subprocess.run(
            box.healthcheck(name),
            cwd=ROOT,
            env=box.environment(name),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if check.returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail(f"{name} not healthy in {HEALTHY_WITHIN_S} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the process group this test started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Loopback]:
    box = Loopback(tmp_path)
    running: list[subprocess.Popen[bytes]] = []
    try:
        for name in start_up_order():
            if name in {n for n, s in SERVICES.items() if s.get("restart") == "no"}:
                run_one_shot(box, name)
                continue
            log = tmp_path / f"{name}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    box.command(name),
                    cwd=ROOT,
                    env=box.environment(name),
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            running.append(process)
            wait_healthy(box, name, process, log)
        yield box
    finally:
        for process in reversed(running):
            stop(process)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.read()


def registered_discovery(box: Loopback) -> list[list[str]]:
    """[iss, authorization_endpoint] of every registered EHR, found by the app's own code in
    web's environment (the network namespace the web process has)."""
    code = (
        "import json\n"
        "from smartapp.discovery import discover\n"
        "from smartapp.models import EhrConnection\n"
        "rows = [[c.iss, discover(c).authorization_endpoint]"
        " for c in EhrConnection.objects.order_by('slug')]\n"
        "print(json.dumps(rows))\n"
    )
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=box.environment("web"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows: list[list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return rows


def test_compose_start_up_replayed_on_loopback(system: Loopback) -> None:
    web = system.origin("web", 8000)
    status, body = get(f"{web}/readyz")
    assert status == 200
    assert json.loads(body)["status"] == "ok"

    token_file = Path(system.command("metrics-token")[-1])
    token = token_file.read_text()
    assert token == env_example()["METRICS_TOKEN"]
    port = system.ports[8000]
    status, body = get(
        f"{web}/metrics", {"Authorization": f"Bearer {token}", "Host": f"web:{port}"}
    )
    assert status == 200
    assert b"smartapp_" in body

    browser = system.origin("sandbox", 9000)
    seed = system.command("sandbox-seed")
    issuer_origin = seed[seed.index("--origin") + 1]
    rows = registered_discovery(system)
    assert {iss for iss, _ in rows} >= {f"{issuer_origin}/fhir"}
    for iss, authorization_endpoint in rows:
        assert iss.startswith(f"{issuer_origin}/"), iss
        assert authorization_endpoint.startswith(f"{browser}/"), authorization_endpoint
