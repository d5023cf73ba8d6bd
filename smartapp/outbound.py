"""Every outbound HTTP call the app makes goes through one factory.

Discovery, JWKS, the token and revocation endpoints, the FHIR API and the EHR's style document
each get a pooled client (reused across requests and threads, never one per call) with the
timeout policy for that purpose and one User-Agent. Two seams:

- `use_transport(...)` swaps the transport under every client, so wire code can be tested in
  process (an `httpx.MockTransport` or `WSGITransport`), as Authlib tests its own clients;
- `add_url_policy(...)` registers a check that every URL must pass before a request is sent
  (the hardening rules for where a token may go plug in here).

This is the one module that names the HTTP library: callers catch `TransportError` and
`HTTPError` from here, so a change of library is a change here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
from django.conf import settings

HTTPError = httpx.HTTPError
TransportError = httpx.TransportError
Timeout = httpx.Timeout
Response = httpx.Response
Transport = httpx.BaseTransport
USER_AGENT = "smartapp/0.1 (SMART on FHIR backend-for-frontend)"


class Purpose(StrEnum):
    DISCOVERY = "discovery"
    JWKS = "jwks"
    TOKEN = "token"  # noqa: S105 - the purpose, not a secret
    FHIR = "fhir"
    STYLE = "style"


class UrlRefused(HTTPError):
    """A URL policy refused the request before anything was sent."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


@dataclass(frozen=True)
class TimeoutPolicy:
    connect_s: float
    read_s: float


def _timeouts(purpose: Purpose) -> TimeoutPolicy:
    connect = float(getattr(settings, "FHIR_CONNECT_TIMEOUT_S", 3))
    if purpose is Purpose.FHIR:
        return TimeoutPolicy(connect, float(getattr(settings, "FHIR_READ_TIMEOUT_S", 10)))
    if purpose is Purpose.TOKEN:
        return TimeoutPolicy(3.0, 10.0)
    if purpose is Purpose.STYLE:
        return TimeoutPolicy(2.0, 3.0)
    return TimeoutPolicy(3.0, 5.0)  # discovery and JWKS


UrlPolicy = Callable[[Purpose, str], None]  # raises UrlRefused to stop a request
_policies: list[UrlPolicy] = []
_clients: dict[Purpose, httpx.Client] = {}
_transport: Transport | None = None
_lock = threading.Lock()


def add_url_policy(policy: UrlPolicy) -> None:
    with _lock:
        if policy not in _policies:
            _policies.append(policy)


def check_url(purpose: Purpose, url: str) -> None:
    """Run every URL policy; raises UrlRefused when one refuses."""
    for policy in list(_policies):
        policy(purpose, url)


class _PolicyTransport(httpx.BaseTransport):
    """Applies the URL policies to every request, including redirects and paging links."""

    def __init__(self, purpose: Purpose, inner: Transport) -> None:
        self.purpose, self.inner = purpose, inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        check_url(self.purpose, str(request.url))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def _new_client(purpose: Purpose) -> httpx.Client:
    timeouts = _timeouts(purpose)
    inner = _transport or httpx.HTTPTransport(
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=16)
    )
    return httpx.Client(
        timeout=httpx.Timeout(timeouts.read_s, connect=timeouts.connect_s),
        headers={"User-Agent": USER_AGENT},
        transport=_PolicyTransport(purpose, inner),
        follow_redirects=False,
    )


def client(purpose: Purpose) -> httpx.Client:
    """The shared client for `purpose` (thread-safe; made on first use)."""
    with _lock:
        found = _clients.get(purpose)
        if found is None:
            found = _clients[purpose] = _new_client(purpose)
        return found


def reset() -> None:
    """Close every pooled client (new settings or transport take effect on next use)."""
    with _lock:
        for pooled in _clients.values():
            pooled.close()
        _clients.clear()


class ResponseTooLarge(HTTPError):
    """A body went over its byte cap or its time budget; the rest was never read."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


class ReadTooSlow(HTTPError):
    """The body was still arriving when the reader's time ran out."""

    def __init__(self, why: str) -> None:
        super().__init__(why)


def read_capped(response: Response, *, max_bytes: int, expired: Callable[[], bool]) -> bytes:
    """A streamed response's body (decoded), refused past `max_bytes` or once `expired()`.

    A per-read timeout alone lets a server drip one byte at a time for ever, and reading
    the whole body first lets it fill the worker's memory; this stops either early.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"Content-Length over {max_bytes} bytes")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise ResponseTooLarge(f"body over {max_bytes} bytes")
        if expired():
            raise ReadTooSlow("the body was still arriving when the time ran out")
    return bytes(body)


def send_capped(
    purpose: Purpose,
    method: str,
    url: str,
    *,
    max_bytes: int,
    max_seconds: float,
    **request: Any,
) -> Response:
    """Send and read the answer streaming: stop past `max_bytes` (decoded) or `max_seconds`
    in all (`ResponseTooLarge`, `ReadTooSlow`). `request` is httpx's own (content, headers,
    params, timeout)."""
    started = time.monotonic()
    with client(purpose).stream(method, url, **request) as response:
        body = read_capped(
            response,
            max_bytes=max_bytes,
            expired=lambda: time.monotonic() - started > max_seconds,
        )
        # The body is decoded already: its length and encoding headers no longer describe it.
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=body, request=response.request
        )


def get_capped(purpose: Purpose, url: str, *, max_bytes: int, max_seconds: float) -> Response:
    """GET `url`, streaming: stop reading past `max_bytes` (decoded) or `max_seconds` in all."""
    return send_capped(purpose, "GET", url, max_bytes=max_bytes, max_seconds=max_seconds)


@contextmanager
def use_transport(transport: Transport) -> Iterator[None]:
    """Route every outbound request through `transport` (tests: in-process servers)."""
    global _transport
    reset()
    _transport = transport
    try:
        yield
    finally:
        _transport = None
        reset()
