"""`make demo`, after migrating and seeding: run the app and the sandbox EHR until Ctrl-C.

Prints where everything is (with the demo client's id and secret), starts both development
servers, and on Ctrl-C (or SIGTERM/SIGHUP) stops both and exits 0, quietly.

Signals: each server runs in its own process group, so a Ctrl-C reaches only this script,
which passes SIGINT on to each server's whole group (runserver and its autoreloader child).
On a terminal this script also becomes the terminal's foreground group while the servers
run, so Ctrl-C is not delivered to `make` either (GNU make always re-raises SIGINT and would
exit 130 however cleanly its recipe ended); the terminal is handed back on the way out.

Usage: DEBUG=true python scripts/demo.py --app localhost:8000 --sandbox 127.0.0.1:9000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_S = 10.0


def demo_client() -> tuple[str, str]:
    """The demo client's id and secret, as `sandbox_seed` just registered them."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.db import connections

        from smartapp.models import EhrConnection

        try:
            connection = EhrConnection.objects.get(slug="sandbox")
            return connection.client_id, connection.get_secret("client_secret") or "(none)"
        finally:
            connections.close_all()
    except Exception as exc:  # the banner must not stop the demo
        return "smartapp-demo", f"(not readable: {type(exc).__name__}; rerun sandbox_seed)"


def banner(app: str, sandbox: str) -> str:
    client_id, secret = demo_client()
    return "\n".join(
        [
            "",
            f"  App:          http://{app}/        (health: /healthz, readiness: /readyz)",
            f"  Sandbox EHR:  http://{sandbox}/   (EHR chart: http://{sandbox}/ehr/)",
            f"  Demo client:  {client_id}  secret: {secret}",
            "                (client_secret_basic; a new secret each `make demo`)",
            f"  Admin:        http://{app}/admin/   (create a user first: make admin)",
            "  Ctrl-C stops both servers.",
            "",
        ]
    )


@contextlib.contextmanager
def terminal_foreground() -> Iterator[None]:
    """Make this process's own group the terminal's foreground group, if there is one."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield  # no terminal: signals come from kill, to make's group or to us
        return
    previous = os.tcgetpgrp(tty)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # changing the foreground from behind it
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)  # Ctrl-Z would leave make waiting on us
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(tty, os.getpgrp())
    except OSError:
        os.close(tty)
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, previous)
        os.close(tty)


def start(manage: list[str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        [*manage, *args], cwd=ROOT, stdin=subprocess.DEVNULL, process_group=0
    )


def stop(servers: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT to each server's group (what Ctrl-C does to a runserver), then wait."""
    for server in servers:
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGINT)
    for server in servers:
        try:
            server.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def serve(app: str, sandbox: str) -> int:
    """Run both servers until a stop signal (exit 0) or until one of them ends (its code)."""
    stopping = threading.Event()
    for number in STOP_SIGNALS:
        signal.signal(number, lambda *_: stopping.set())
    manage = [sys.executable, str(ROOT / "manage.py")]
    servers: list[subprocess.Popen[bytes]] = []
    try:
        servers.append(start(manage, "runsandbox", "--addr", sandbox))
        servers.append(start(manage, "runserver", app))
        while not stopping.wait(0.5):
            ended = [server.returncode for server in servers if server.poll() is not None]
            if ended:
                print("demo: a server stopped; stopping the other", file=sys.stderr)
                return ended[0] or 1
        return 0
    finally:
        stop(servers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", default="localhost:8000", help="HOST:PORT for the app")
    parser.add_argument("--sandbox", default="127.0.0.1:9000", help="HOST:PORT for the sandbox")
    args = parser.parse_args()
    print(banner(args.app, args.sandbox), flush=True)
    with terminal_foreground():
        return serve(args.app, args.sandbox)


if __name__ == "__main__":
    sys.exit(main())
