"""Schemathesis against the served OpenAPI document (a small budget): generated calls to every
operation, as a signed-in browser and as a service client, must never get a 5xx and every
answer must match its documented status, content type and schema."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.clients import issued

pytestmark = [pytest.mark.postgres]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "6"))


def conforms(operation, headers: dict[str, str], fixed: dict[str, str]) -> None:
    """EXAMPLES generated calls of `operation`, its path parameters pinned to real ones (a
    random handle or tenant only ever meets a 404), every answer checked."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        for name, value in fixed.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
        case.call_and_validate(base_url="http://testserver", headers=headers, checks=CHECKS)

    run()


def test_every_operation_conforms_to_the_document(tenants, launched) -> None:
    app = launched(patient="pat-03")
    cookie = "; ".join(f"{k}={m.value}" for k, m in app.client.cookies.items())
    _, token = issued(("tenant-a",), rate_limit=10_000)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    fixed = {"handle": app.launch.handle, "tenant": "tenant-a", "patient_id": "pat-03"}
    browser = {"X-CSRF": "1", "Cookie": cookie}
    service = {"Authorization": f"Bearer {token}"}
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        conforms(operation, service if "/tenants/" in operation.path else browser, fixed)
        tested.append(operation.path)
    assert len(tested) >= 11, tested  # every operation of the document, none skipped
