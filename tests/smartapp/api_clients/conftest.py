from __future__ import annotations

import pytest

from smartapp.api_clients import credentials
from smartapp.api_clients.models import ApiClient
from smartapp.models import EhrConnection


def make_tenant(slug: str, *, enabled: bool = True) -> EhrConnection:
    return EhrConnection.objects.create(
        slug=slug, name=slug, iss=f"https://{slug}.example/fhir", client_id=slug, enabled=enabled
    )


@pytest.fixture
def tenants(db) -> tuple[EhrConnection, EhrConnection]:
    return make_tenant("hosp-a"), make_tenant("hosp-b")


@pytest.fixture
def issued(tenants) -> tuple[ApiClient, str]:
    return credentials.issue(
        "Care app", ["hosp-a"], ["summary.read", "results.read"], created_by="test"
    )


@pytest.fixture(autouse=True)
def _routes(settings) -> None:
    """This package's routes as config/urls.py wires them (tests/smartapp/api_clients/urls)."""
    settings.ROOT_URLCONF = "tests.smartapp.api_clients.urls"
