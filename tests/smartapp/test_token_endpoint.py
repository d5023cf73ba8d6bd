"""smartapp.token_endpoint: which answers mean "the EHR may have done it" (never replay a
refresh then), and a whole call bounded in time and size, dripping endpoints included."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from smart.client_auth import ClientCredentials
from smart.errors import EhrUnavailable, TokenResponseInvalid
from smartapp import outbound, token_endpoint
from smartapp.token_endpoint import TokenCallUnanswered

PUBLIC = ClientCredentials("app", "none")
GOOD = {"access_token": "at", "token_type": "Bearer", "scope": "openid", "expires_in": 60}


def answering(status: int, body: bytes = b"{}") -> outbound.Transport:
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body))


@pytest.mark.parametrize("status", [500, 502, 504, 524])
def test_a_5xx_that_may_follow_the_work_is_an_unknown_outcome(status: int) -> None:
    with outbound.use_transport(answering(status)), pytest.raises(TokenCallUnanswered):
        token_endpoint.refresh(PUBLIC, "https://ehr.example/token", "rt", within_s=5)


@pytest.mark.parametrize("status", [501, 503])
def test_a_5xx_that_says_nothing_was_done_may_be_retried(status: int) -> None:
    with outbound.use_transport(answering(status)), pytest.raises(EhrUnavailable) as raised:
        token_endpoint.refresh(PUBLIC, "https://ehr.example/token", "rt", within_s=5)
    assert not isinstance(raised.value, TokenCallUnanswered)


def test_an_oversize_answer_is_refused() -> None:
    too_much = answering(200, b" " * (token_endpoint.MAX_ANSWER_BYTES + 1))
    with outbound.use_transport(too_much), pytest.raises(TokenResponseInvalid):
        token_endpoint.refresh(PUBLIC, "https://ehr.example/token", "rt", within_s=5)


@pytest.fixture
def dripping_endpoint() -> Iterator[str]:
    """A token endpoint that answers its headers, then one byte every 0.1 s for ever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
            )
            while not stop.is_set():
                time.sleep(0.1)
                try:
                    connection.sendall(b"1\r\n \r\n")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/token"
    stop.set()
    server.close()
    thread.join(5)


def test_an_endpoint_that_drips_its_answer_is_cut_at_the_budget(dripping_endpoint) -> None:
    # Each read arrives well within the read timeout; only the whole-call budget stops it,
    # and it must, or a refresh could outlive its lock (issue 12 item 8).
    with pytest.raises(TokenCallUnanswered):
        token_endpoint.refresh(PUBLIC, dripping_endpoint, "rt", within_s=0.5)
