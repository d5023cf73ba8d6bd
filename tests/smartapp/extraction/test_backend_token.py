"""SMART Backend Services tokens against the live sandbox: issued once, shared, renewed
before they expire, one request in flight per connection."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections

from sandbox.models import Token
from smartapp.extraction import backend_token
from smartapp.extraction.backend_token import BackendServicesMissing, system_token
from smartapp.registry import register_connection
from tests.fixtures.extraction import BACKEND_CLIENT

pytestmark = pytest.mark.django_db(transaction=True)


def _requests(sandbox: Any) -> int:
    counted: int = sandbox.stats()["token_requests"].get(f"client_credentials {BACKEND_CLIENT}", 0)
    return counted


def test_a_token_is_asked_for_once_and_shared(backend_connection: Any, sandbox: Any) -> None:
    connection = backend_connection()
    first, second = system_token(connection), system_token(connection)
    assert first.access_token == second.access_token
    assert _requests(sandbox) == 1
    granted = Token.objects.get(access_token=first.access_token)
    assert granted.refresh_token is None  # backend services: no refresh token
    assert first.scope == granted.scope
    assert "system/Observation.rs" in first.scope
    assert "system/Group.rs" in first.scope


def test_the_cached_token_is_sealed(backend_connection: Any) -> None:
    from django.core.cache import cache

    connection = backend_connection()
    token = system_token(connection)
    sealed = cache.get(f"backend-token:{connection.pk}")
    assert isinstance(sealed, str)
    assert token.access_token not in sealed


def test_a_token_about_to_expire_is_never_handed_out(backend_connection: Any, sandbox: Any) -> None:
    connection = backend_connection(token_ttl=30)  # under RENEW_BEFORE_S: renewed every time
    first, second = system_token(connection), system_token(connection)
    assert first.access_token != second.access_token
    assert _requests(sandbox) == 2


def test_forget_makes_the_next_call_ask_again(backend_connection: Any, sandbox: Any) -> None:
    connection = backend_connection()
    first = system_token(connection)
    backend_token.forget(connection)
    assert system_token(connection).access_token != first.access_token
    assert _requests(sandbox) == 2


def test_many_threads_at_once_make_one_request(backend_connection: Any, sandbox: Any) -> None:
    connection = backend_connection()
    tokens: list[str] = []
    start = threading.Barrier(8)

    def ask() -> None:
        try:
            start.wait()
            tokens.append(system_token(connection).access_token)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(tokens) == 8
    assert len(set(tokens)) == 1
    assert _requests(sandbox) == 1


def test_v1_servers_are_asked_in_v1_syntax(backend_connection: Any) -> None:
    token = system_token(backend_connection(smart="v1"))
    assert "system/Observation.read" in token.scope
    assert ".rs" not in token.scope


def test_operator_chosen_scopes_are_asked_for(backend_connection: Any) -> None:
    connection = backend_connection()
    connection.system_scopes = "system/Patient.rs system/Observation.rs"
    connection.save()
    assert system_token(connection).scope == "system/Patient.rs system/Observation.rs"


def test_a_connection_without_a_backend_client_is_told_so(sandbox: Any) -> None:
    connection = register_connection(
        slug="plain", name="Plain", iss=sandbox.base(), client_id="x", client_auth="none"
    )
    with pytest.raises(BackendServicesMissing):
        system_token(connection)
