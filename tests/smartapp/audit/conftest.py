"""Fixtures for the audit trail's tests: a launch to audit, rows written straight to the
chain, and a way around the append-only triggers for the tests that must tamper or clean up.

Tests that commit (`transaction=True`) leave rows the triggers will not let pytest-django's
flush delete; `committed_audit` empties the audit tables first, as only a database owner
can: with triggers off for the session on PostgreSQL, dropped and re-created on SQLite.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from smartapp.audit import chain

TRIGGERS = importlib.import_module("smartapp.migrations.0007_audit_trail")
TABLES = ("smartapp_accessrecord", "smartapp_auditsegment", "smartapp_audithead")


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


@contextmanager
def triggers_off() -> Iterator[None]:
    """What a table owner can do and the app's role cannot (docs/audit.md): write past the
    triggers. PostgreSQL: DISABLE TRIGGER USER for the block, in its own transaction.
    SQLite: drop them and create them again from migration 0007's SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in TABLES[:2]:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield
            for table in TABLES[:2]:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for sql in TRIGGERS.SQLITE_REVERSE:
                cursor.execute(sql)
            yield
            for sql in TRIGGERS.SQLITE:
                cursor.execute(sql)


def wipe() -> None:
    with triggers_off(), connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608  (our own table names)


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
