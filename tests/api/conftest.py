"""A launch the API can be called for: real HTTP to the sandbox, the app's test client holding
the launch's cookie (tests/fixtures/app.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from smartapp.models import Launch
from tests.api.clients import Tenants, tenants_fixture

CSRF = {"HTTP_X_CSRF": "1"}


@dataclass
class Launched:
    client: Client
    launch: Launch

    @property
    def base(self) -> str:
        return f"/api/v1/launches/{self.launch.handle}"

    def get(self, path: str, data: dict[str, Any] | None = None, **headers: Any) -> Any:
        return self.client.get(self.base + path, data or {}, **{**CSRF, **headers})


@pytest.fixture
def launched(sandbox: Any, connect: Any, browser: Any) -> Callable[..., Launched]:
    """`launched(patient="pat-03", **sandbox_options)`: an EHR launch, cache cleared."""

    def make(patient: str = "pat-03", **options: Any) -> Launched:
        connection = connect(**options)
        page = browser.launch(browser.start_ehr(connection, patient=patient))
        assert page.status_code == 200
        cache.clear()
        return Launched(browser.client, Launch.objects.get(patient_id=patient))

    return make


@pytest.fixture
def tenants(sandbox: Any, backend_connection: Any) -> Tenants:
    """Tenant A (`tenant-a`, a real extraction from the sandbox: pat-03 and the others) and
    tenant B (`tenant-b`, one Synthea patient loaded into the store)."""
    return tenants_fixture(sandbox, backend_connection)
