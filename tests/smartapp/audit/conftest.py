"""Fixtures for the audit trail's tests: a launch to audit, rows written straight to the
chain, and a way around the append-only triggers for the tests that must tamper or clean up.

Tests that commit (`transaction=True`) leave rows the triggers will not let pytest-django's
flush delete; `committed_audit` empties the audit tables first, as only a database owner
can: with triggers off for the session on PostgreSQL, dropped and re-created on SQLite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from smartapp.audit import chain
from tests.fixtures.audit import TABLES, TRIGGERS, triggers_off, wipe

__all__ = ["TABLES", "TRIGGERS", "append_at", "entry", "triggers_off", "wipe"]


def entry(**overrides: Any) -> chain.Entry:
    values: dict[str, Any] = {
        "at": timezone.now(),
        "actor": "Practitioner/p1",
        "connection": "general",
        "launch_id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "patient_id": "pat-1",
        "what": "summary",
        "resource_types": ("Condition", "Observation"),
        "sections": ("problems", "vitals"),
        "outcome": "success",
        "request_id": "req-00000001",
        "client_address": "10.0.0.7",
    }
    values.update(overrides)
    return chain.Entry(**values)


def append_at(*moments: datetime, **overrides: Any) -> None:
    for moment in moments:
        chain.append(entry(at=moment, **overrides))


@pytest.fixture
def committed_audit(transactional_db: None) -> Iterator[None]:
    """A database whose commits are real; the audit tables are emptied before the flush."""
    wipe()
    yield
    wipe()


@pytest.fixture
def connection_and_launch(db: None) -> Any:
    from smartapp.models import EhrConnection, Launch

    ehr = EhrConnection.objects.create(
        slug="general", name="General", iss="https://ehr.example/fhir", client_id="app"
    )
    return Launch.objects.create(
        handle="h" * 40,
        connection=ehr,
        kind="ehr",
        browser="b" * 64,
        state_hash="s" * 64,
        state_expires_at=timezone.now(),
        redirect_uri="http://localhost/cb",
        verifier_encrypted="x",
        nonce="n",
        authorization_endpoint="https://ehr.example/auth",
        token_endpoint="https://ehr.example/token",
        expected_issuer="https://ehr.example/fhir",
        requested_scope="launch openid fhirUser",
        patient_id="pat-1",
        fhir_user="Practitioner/p1",
    )
