"""smartapp.style_hints: the EHR's `smart_style_url` is fetched only from the EHR's own origins,
with a byte cap and a short timeout (server-side request forgery, issue 12 item 2).

The sandbox's `token_response: {"set": {"smart_style_url": ...}}` option sends whatever URL the
test names through the real token response; a small HTTP server of the test's own, on another
port (so another origin), records every request that reaches it.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from django.core.cache import cache

from smart.url_policy import is_same_origin_url
from smartapp import outbound
from smartapp.models import Launch
from smartapp.style_hints import MAX_STYLE_BYTES, style_origins

STYLE = {"color_highlight": "#123456"}


@dataclass
class StyleServer:
    """Serves a style document (`/style.json`) or an endless one (`/huge.json`)."""

    origin: str = ""
    hits: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    finished: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def style_server() -> Iterator[StyleServer]:
    state = StyleServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if self.path != "/huge.json":
                body = json.dumps(STYLE).encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.end_headers()  # no Content-Length: the client must count for itself
            head = b'{"color_highlight": "#123456", "pad": "'
            state.sent[self.path] = 0
            try:
                self.wfile.write(head)
                for _ in range(800):  # up to 50 MB, unless the client hangs up first
                    self.wfile.write(b"x" * 65536)
                    state.sent[self.path] += 65536
            except OSError:
                pass  # the client stopped reading: what the cap is for
            finally:
                state.finished.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.origin = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def launch_with_style(connect, browser, style_url: str, **extra: Any) -> Launch:
    connection = connect(token_response={"set": {"smart_style_url": style_url}}, **extra)
    browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    cache.clear()
    launch = Launch.objects.get()
    assert launch.smart_style_url == style_url
    return launch


def stylesheet(browser, launch: Launch) -> str:
    response = browser.client.get(f"/l/{launch.handle}/style.css")
    assert response.status_code == 200
    return str(response.content.decode())


def test_a_foreign_style_url_is_never_requested(sandbox, connect, browser, style_server) -> None:
    launch = launch_with_style(connect, browser, f"{style_server.origin}/style.json")
    assert stylesheet(browser, launch) == ""
    assert style_server.hits == []


def test_a_style_url_on_a_registered_frame_origin_is_fetched(
    sandbox, connect, browser, style_server
) -> None:
    launch = launch_with_style(
        connect,
        browser,
        f"{style_server.origin}/style.json",
        frame_origins=(style_server.origin,),
    )
    assert "--accent: #123456;" in stylesheet(browser, launch)
    assert style_server.hits == ["/style.json"]


def test_a_style_url_on_the_fhir_base_origin_is_fetched(sandbox, connect, browser) -> None:
    launch = launch_with_style(connect, browser, f"{sandbox.url}/sandbox/smart-style.json")
    assert "--accent: #0b5cad;" in stylesheet(browser, launch)


def test_an_oversize_style_document_is_cut(sandbox, connect, browser, style_server) -> None:
    launch = launch_with_style(
        connect,
        browser,
        f"{style_server.origin}/huge.json",
        frame_origins=(style_server.origin,),
    )
    started = time.monotonic()
    assert stylesheet(browser, launch) == ""
    assert time.monotonic() - started < 5
    assert style_server.hits == ["/huge.json"]
    assert style_server.finished.wait(10)
    assert style_server.sent["/huge.json"] < 65536 * 800  # the app hung up long before 50 MB
    assert MAX_STYLE_BYTES <= 65536


@pytest.mark.django_db
def test_style_origins_are_the_fhir_base_and_the_frame_origins(connect, sandbox) -> None:
    connection = connect(frame_origins=("https://ehr.example.org",))
    assert style_origins(connection) == (sandbox.url, "https://ehr.example.org")


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://ehr.example.org/style.json", True),
        ("https://EHR.example.org:443/a/b.json?v=1", True),
        ("https://ehr.example.org:8443/style.json", False),
        ("http://ehr.example.org/style.json", False),  # no TLS to a non-loopback host
        ("https://evil.example.com/style.json", False),
        ("https://ehr.example.org.evil.example.com/style.json", False),
        ("https://ehr.example.org@evil.example.com/style.json", False),
        ("https://user@ehr.example.org/style.json", False),
        ("https://ehr.example.org\\@evil.example.com/", False),
        ("https://ehr.example.org:99999/", False),
        ("//ehr.example.org/style.json", False),
        ("/style.json", False),
        ("file:///etc/passwd", False),
        ("https://ehr.example.org/ x", False),
        ("http://127.0.0.1:9000/s.json", True),
        ("http://127.0.0.1:9001/s.json", False),
        ("http://169.254.169.254/latest/meta-data/", False),
    ],
)
def test_same_origin_rule(url: str, allowed: bool) -> None:
    origins = ("https://ehr.example.org", "http://127.0.0.1:9000")
    assert is_same_origin_url(url, origins) is allowed


def test_capped_get_refuses_a_declared_oversize_body_and_decodes_a_compressed_one() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/big":
            return httpx.Response(200, headers={"Content-Length": "999999"}, content=b"{}")
        body = gzip.compress(json.dumps(STYLE).encode())
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body)

    with outbound.use_transport(httpx.MockTransport(answer)):
        with pytest.raises(outbound.ResponseTooLarge):
            outbound.get_capped(
                outbound.Purpose.STYLE, "https://ehr/big", max_bytes=100, max_seconds=1
            )
        small = outbound.get_capped(
            outbound.Purpose.STYLE, "https://ehr/s.json", max_bytes=100, max_seconds=1
        )
    assert small.json() == STYLE
