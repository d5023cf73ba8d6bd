"""smartapp.availability and smartapp.tolerant_cache: Redis or PostgreSQL out of reach.

The services stopped here are the test's own: a redis-server started on a free port, and a
TCP proxy in front of PostgreSQL that the test cuts and restores. The machine's shared
PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.test import override_settings
from django.utils import timezone
from django_redis.exceptions import ConnectionInterrupted

from bench.harness import free_port
from smart.clock import ManualClock
from smart.launch_states import LaunchState
from smartapp import tolerant_cache
from smartapp.availability import AvailabilityMiddleware
from smartapp.clock import use_clock
from smartapp.models import Launch, TokenGrant
from smartapp.tolerant_cache import COOL_DOWN_S, Outage
from tests.conftest import IN_CI

TOLERANT = "smartapp.tolerant_cache.TolerantRedisCache"


# --- the test's own services --------------------------------------------------------------


class OwnRedis:
    """A private redis-server (no persistence) that the test stops and starts."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if IN_CI:
                pytest.fail("CI must run the Redis outage test, but redis-server is missing")
            pytest.skip("needs the redis-server binary")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def settings(self) -> dict[str, object]:
        """The app's Redis settings, pointed here (the backend the app ships for Redis)."""
        backend = settings.CACHES["default"]["BACKEND"] if settings.REDIS_URL else TOLERANT
        cache = {
            "BACKEND": backend,
            "LOCATION": self.url,
            "KEY_PREFIX": "smartapp",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
        return {
            "REDIS_URL": self.url,
            "CELERY_BROKER_URL": self.url,
            "CACHES": {"default": cache},
            "SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
        }


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()
    tolerant_cache.reset()


class TcpProxy:
    """Forwards a loopback port to PostgreSQL; `cut()` drops everything, `restore()` listens
    again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        self._track(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return  # cut
            self._track(client)
            self._track(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def db_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(
        connection.settings_dict["HOST"] or "127.0.0.1",
        int(connection.settings_dict["PORT"] or 5432),
    )
    yield proxy
    proxy.cut()


@contextmanager
def through(proxy: TcpProxy) -> Iterator[None]:
    """This thread's database connection (the app under the test client) goes via the proxy;
    the sandbox's server threads keep theirs."""
    original = connection.settings_dict
    connection.close()
    connection.settings_dict = {**original, "HOST": "127.0.0.1", "PORT": proxy.port}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict = original


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503, response.content[:300]
    body = response.content.decode()
    assert "temporarily unavailable" in body
    assert "<code>service_unavailable</code>" in body
    assert "Traceback" not in body
    assert response["Retry-After"]
    assert "no-store" in response["Cache-Control"]


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_down_is_a_503_and_the_same_browser_carries_on(
    sandbox, connect, browser, db_proxy
) -> None:
    connection_ = connect()
    page = browser.launch(browser.start_standalone(connection_), user="Patient/pat-01")
    assert page.status_code == 200
    handle = Launch.objects.get().handle
    browser.client.raise_request_exception = False  # see what a browser sees
    with through(db_proxy):
        assert browser.client.get(f"/l/{handle}/").status_code == 200
        db_proxy.cut()  # PostgreSQL stopped, or restarting
        assert_unavailable_page(browser.client.get(f"/l/{handle}/"))
        as_json = browser.client.get(f"/l/{handle}/", HTTP_ACCEPT="application/json")
        assert as_json.status_code == 503
        assert as_json.json()["error"] == "service_unavailable"
        ready = browser.client.get("/readyz")
        assert ready.status_code == 503
        assert {"name": "database", "ok": False} in ready.json()["checks"]
        db_proxy.restore()
        again = browser.client.get(f"/l/{handle}/")  # same cookies, no new sign-in
        assert again.status_code == 200
    assert Launch.objects.get().state == LaunchState.ACTIVE


# --- Redis --------------------------------------------------------------------------------


def messages(json_logs, logger: str) -> list[str]:
    return [str(line["message"]) for line in json_logs.lines if line.get("logger") == logger]


def test_redis_down_sessions_come_from_the_database_and_recover(
    sandbox, connect, browser, own_redis, monkeypatch, json_logs
) -> None:
    monkeypatch.setattr(tolerant_cache, "COOL_DOWN_S", 0.0)  # probe on every call: no waiting
    browser.client.raise_request_exception = False
    with override_settings(**own_redis.settings()):
        connection_ = connect()
        page = browser.launch(browser.start_standalone(connection_), user="Patient/pat-01")
        assert page.status_code == 200
        handle = Launch.objects.get().handle
        own_redis.stop()
        # The same browser goes on: its session is read from the database, sections and
        # discovery are fetched instead of cached.
        assert browser.client.get(f"/l/{handle}/").status_code == 200
        second = browser.launch(browser.start_standalone(connection_), user="Patient/pat-02")
        assert second.status_code == 200  # and a new launch works
        # A refresh needs the Redis lock: the app's 503 page, the grant untouched.
        TokenGrant.objects.update(expires_at=timezone.now() - timedelta(hours=1))
        assert_unavailable_page(browser.client.get(f"/l/{handle}/"))
        ready = browser.client.get("/readyz")
        assert ready.status_code == 503
        assert {"name": "cache", "ok": False} in ready.json()["checks"]
        own_redis.start()  # empty, as a restarted Redis without persistence is
        again = browser.client.get(f"/l/{handle}/")
        assert again.status_code == 200  # refreshed under the lock, same browser, no sign-in
        assert browser.client.get("/readyz").status_code == 200
    assert Launch.objects.get(handle=handle).state == LaunchState.ACTIVE
    said = messages(json_logs, "smartapp.tolerant_cache")
    assert said.count("cache unavailable: sessions from the database, nothing cached") == 1
    assert said.count("cache available again") == 1


def test_an_outage_fails_fast_until_one_probe_and_is_logged_once(json_logs) -> None:
    outage = Outage("redis")
    probes: list[str] = []
    recovered: list[bool] = []

    def probe_down() -> None:
        probes.append("down")
        raise ConnectionError("refused")

    with use_clock(ManualClock()) as clock:
        outage.admit(probe_down, lambda: None)  # up: no probe at all
        outage.failed()
        outage.failed()
        for _ in range(5):
            with pytest.raises(ConnectionInterrupted):
                outage.admit(probe_down, lambda: None)
        assert probes == []  # fails fast: no network while cooling down
        clock.advance(COOL_DOWN_S)
        with pytest.raises(ConnectionInterrupted):
            outage.admit(probe_down, lambda: None)
        with pytest.raises(ConnectionInterrupted):
            outage.admit(probe_down, lambda: None)
        assert probes == ["down"]  # one probe, then another cool-down
        clock.advance(COOL_DOWN_S)
        outage.admit(lambda: None, lambda: recovered.append(True))
        outage.admit(probe_down, lambda: None)  # up again
    assert recovered == [True]
    assert messages(json_logs, "smartapp.tolerant_cache") == [
        "cache unavailable: sessions from the database, nothing cached",
        "cache available again",
    ]


# --- the mapping, wherever the failure is raised ------------------------------------------


def wrapped(layer: Callable[..., HttpResponse]) -> Any:
    """`layer` as Django wraps every middleware: its exception becomes a 500 at that layer."""
    return convert_exception_to_response(layer)


def test_an_outage_raised_outside_the_view_is_a_503(rf) -> None:
    # Django wraps each middleware so that its exception becomes a 500 at that layer (as the
    # session middleware's failing save would); the outer middleware makes it a 503.
    def session_layer(request) -> HttpResponse:
        raise OperationalError("could not connect to server")

    response = AvailabilityMiddleware(wrapped(session_layer))(rf.get("/"))
    assert_unavailable_page(response)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_other_errors_stay_500(rf) -> None:
    def broken(request) -> HttpResponse:
        raise ValueError("a bug")

    response = AvailabilityMiddleware(wrapped(broken))(rf.get("/"))
    assert response.status_code == 500


def test_json_callers_get_json(rf) -> None:
    def cache_layer(request) -> HttpResponse:
        raise ConnectionInterrupted(connection=None)

    request = rf.get("/l/x/", HTTP_ACCEPT="application/json")
    response = AvailabilityMiddleware(wrapped(cache_layer))(request)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "service_unavailable"
    assert "cache" not in response.content.decode()  # which service: /readyz, for operators
