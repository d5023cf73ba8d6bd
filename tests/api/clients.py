"""Service clients and their tenants for the API tests: tenant A filled by a real extraction
from the sandbox, tenant B holding a Synthea patient; clients issued here, tokens from the
token endpoint."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.test import Client
from django.utils import timezone

from sandbox.fhir_store import bundle_resources
from smartapp.api_clients import credentials
from smartapp.api_clients.models import ApiClient
from smartapp.models import EhrConnection
from smartapp.registry import register_connection
from smartapp.warehouse.canonical import SUPPORTED_TYPES, canonical_row
from smartapp.warehouse.load import Provenance, load
from tests.fixtures.extraction import run

# The repository's own copy of Synthea patients (a fresh clone has no ../shared).
SYNTHEA = Path(__file__).resolve().parents[1] / "fixtures" / "synthea"
ALL_SCOPES = ("summary.read", "results.read", "medications.read", "patients.read")


def synthea_bundle() -> dict:
    paths = sorted(SYNTHEA.glob("*.json"))
    assert paths, f"no Synthea bundles in {SYNTHEA}"
    return json.loads(paths[0].read_text())


@dataclass
class Tenants:
    a: EhrConnection
    b: EhrConnection
    b_patient: str


def tenants_fixture(sandbox, backend_connection) -> Tenants:
    a = backend_connection(slug="tenant-a", latency_ms=1)  # its own iss: launches use the plain one
    assert run(a).state == "done"
    b = register_connection(
        slug="tenant-b",
        name="Tenant B",
        iss="https://b.example/fhir",
        client_id="unused",
        client_auth="none",
    )
    resources = [
        r for r in bundle_resources(synthea_bundle()) if r["resourceType"] in SUPPORTED_TYPES
    ]
    provenance = Provenance(b.id, uuid.uuid4(), timezone.now(), "https://b.example/fhir", "test")
    load([canonical_row(r) for r in resources], provenance, track_seen=False)
    patient = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    return Tenants(a, b, patient)


def token_for(client_id: str, secret: str, **form: str) -> str:
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    answer = Client().post(
        "/api/v1/oauth/token",
        urlencode({**body, **form}),
        content_type="application/x-www-form-urlencoded",
        secure=True,
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["access_token"]


def call(token: str, path: str, **params: str):
    return Client().get(f"/api/v1{path}", params, HTTP_AUTHORIZATION=f"Bearer {token}")


def issued(slugs: tuple[str, ...], scopes=ALL_SCOPES, **options) -> tuple[ApiClient, str]:
    client, secret = credentials.issue("Test product", list(slugs), list(scopes), **options)
    return client, token_for(client.client_id, secret)
