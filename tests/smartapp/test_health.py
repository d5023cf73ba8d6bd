"""smartapp.health: liveness without I/O; readiness names each unreachable dependency."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings
from django.db import connections
from django.db.utils import load_backend
from django.test import override_settings

from smartapp import health


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def redis_settings(url: str) -> dict[str, object]:
    cache = {**settings.CACHES["default"]}
    cache.update(BACKEND="smartapp.tolerant_cache.TolerantRedisCache", LOCATION=url)
    cache.setdefault("OPTIONS", {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2})
    return {"REDIS_URL": url, "CELERY_BROKER_URL": url, "CACHES": {"default": cache}}


@pytest.fixture
def staff(client):
    """An operator signed in to the admin: /readyz shows them the details."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create(username="ops", is_staff=True)
    client.force_login(user)
    return client


def test_healthz_answers_without_io(client) -> None:
    # No django_db mark: any database access would raise. The cache points at a closed port:
    # any cache access would fail. Liveness must not depend on either.
    with override_settings(**redis_settings(f"redis://127.0.0.1:{closed_port()}/0")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_on_the_configured_services(staff) -> None:
    response = staff.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failing"] == []
    names = [check["name"] for check in body["checks"]]
    assert names[:2] == ["database", "cache"]
    assert ("broker" in names) == bool(settings.REDIS_URL)


@pytest.mark.django_db
def test_readyz_names_redis_when_it_is_unreachable(staff) -> None:
    with override_settings(**redis_settings(f"redis://127.0.0.1:{closed_port()}/0")):
        response = staff.get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["failing"] == ["cache (redis)", "broker (redis)"]
    database = next(check for check in body["checks"] if check["name"] == "database")
    assert database["ok"] is True


@pytest.mark.django_db
def test_readyz_reports_error_classes_not_messages(staff) -> None:
    url = f"redis://:hunter2-password@127.0.0.1:{closed_port()}/0"
    with override_settings(**redis_settings(url)):
        response = staff.get("/readyz")
    assert response.status_code == 503
    assert b"hunter2" not in response.content


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_is_unreachable(staff, monkeypatch) -> None:
    # A real PostgreSQL connection object aimed at a port nothing listens on.
    configured = connections.configure_settings(
        {
            "default": {"ENGINE": "django.db.backends.dummy"},
            "unreachable": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "test",
                "USER": "postgres",
                "HOST": "127.0.0.1",
                "PORT": closed_port(),
                "OPTIONS": {"connect_timeout": 2},
            },
        }
    )
    wrapper = load_backend("django.db.backends.postgresql").DatabaseWrapper(
        configured["unreachable"], alias="unreachable"
    )
    monkeypatch.setattr(health, "connection", wrapper)
    response = staff.get("/readyz")
    wrapper.close()
    assert response.status_code == 503
    assert response.json()["failing"] == ["database (postgresql)"]


@pytest.mark.redis
@pytest.mark.django_db
def test_readyz_on_real_redis(staff) -> None:
    assert "redis" in settings.CACHES["default"]["BACKEND"].lower()
    body = staff.get("/readyz").json()
    assert body["failing"] == []
    assert {"name": "broker", "backend": "redis", "ok": True} in body["checks"]
    assert {"name": "cache", "backend": "redis", "ok": True} in body["checks"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_readyz_on_real_postgresql(staff) -> None:
    body = staff.get("/readyz").json()
    assert {"name": "database", "backend": "postgresql", "ok": True} in body["checks"]


def test_readyz_keeps_details_from_anonymous_callers(sandbox, connect, browser) -> None:
    from smartapp.fhir.breaker import breaker_for

    connection = connect()
    breaker_for(connection.iss).failed()  # an EHR this process has talked to
    anonymous = browser.client.get("/readyz")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert set(body) == {"status", "checks"}
    assert all(set(check) == {"name", "ok"} for check in body["checks"])
    assert connection.iss.encode() not in anonymous.content
    assert b"sandbox" not in anonymous.content.lower()
    browser.sign_in_staff()
    detailed = browser.client.get("/readyz").json()
    assert connection.iss in detailed["ehr_circuits"]
    assert all("backend" in check for check in detailed["checks"])


@pytest.mark.django_db
def test_readyz_anonymous_still_says_which_check_failed(client) -> None:
    with override_settings(**redis_settings(f"redis://127.0.0.1:{closed_port()}/0")):
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert {"name": "cache", "ok": False} in body["checks"]
    assert {"name": "database", "ok": True} in body["checks"]
