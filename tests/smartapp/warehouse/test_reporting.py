"""Tenant isolation on PostgreSQL: the reporting role sees one connection's rows, read-only."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from django.db import DatabaseError, connection

from smartapp.warehouse.canonical import SUPPORTED_TYPES, canonical_row
from smartapp.warehouse.load import Provenance, load
from smartapp.warehouse.models import MODELS, Observation, PatientLink
from smartapp.warehouse.reporting import reporting_session
from tests.smartapp.warehouse.test_load import T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

A = UUID("00000000-0000-0000-0000-0000000000aa")
B = UUID("00000000-0000-0000-0000-0000000000bb")
TABLES = [model._meta.db_table for model in MODELS.values()] + ["warehouse_patientlink"]


def _fill(conn: UUID) -> None:
    resources = [
        canonical_row(
            {
                "resourceType": kind,
                "id": f"{kind.lower()}-{conn.hex[-2:]}",
                "subject": {"reference": "Patient/p"},
                **(
                    {"link": [{"other": {"reference": "Patient/q"}, "type": "replaced-by"}]}
                    if kind == "Patient"
                    else {}
                ),
            }
        )
        for kind in SUPPORTED_TYPES
    ]
    load(resources, Provenance(conn, uuid4(), T0, "https://ehr/x", "system/*.rs"), track_seen=True)


@pytest.fixture
def two_tenants() -> None:
    _fill(A)
    _fill(B)


def _connections(cursor, table: str) -> set[UUID]:
    cursor.execute(f"SELECT DISTINCT connection_id FROM {table}")  # noqa: S608
    return {row[0] for row in cursor.fetchall()}


@pytest.mark.usefixtures("two_tenants")
def test_a_session_sees_only_its_tenant_in_every_table_and_the_view() -> None:
    for table in TABLES:
        assert len(_connections(connection.cursor(), table)) == 2, table  # the app sees all
    with reporting_session(A) as cursor:
        for table in [*TABLES, "warehouse_patient_resolved"]:
            assert _connections(cursor, table) == {A}, table
    with reporting_session(B) as cursor:
        cursor.execute("SELECT patient_id, survivor_id FROM warehouse_patient_resolved")
        assert cursor.fetchall() == [("patient-bb", "q")]


@pytest.mark.usefixtures("two_tenants")
def test_without_the_setting_the_role_sees_nothing() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL ROLE smartapp_reporting")
        try:
            for table in [*TABLES, "warehouse_patient_resolved"]:
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
                assert cursor.fetchone() == (0,), table
        finally:
            cursor.execute("RESET ROLE")


@pytest.mark.usefixtures("two_tenants")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE warehouse_observation SET status = 'x'",
        "DELETE FROM warehouse_condition",
        "INSERT INTO warehouse_patientlink (connection_id, patient_id, other_id, link_type,"
        " job_id) VALUES ('00000000-0000-0000-0000-0000000000aa', 'a', 'b', 'refer',"
        " '00000000-0000-0000-0000-0000000000aa')",
        "SELECT count(*) FROM warehouse_seenresource",  # bookkeeping, not granted
    ],
)
def test_the_reporting_role_cannot_write_nor_read_bookkeeping(statement: str) -> None:
    with pytest.raises(DatabaseError, match="permission denied"), reporting_session(A) as cursor:
        cursor.execute(statement)
    # the session's savepoint rolled back: the test's connection is the app again
    assert PatientLink.objects.count() == 2


@pytest.mark.usefixtures("two_tenants")
def test_the_session_ends_as_the_app() -> None:
    with reporting_session(A) as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == ("smartapp_reporting",)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user <> 'smartapp_reporting', "
            "current_setting('warehouse.connection_id', true)"
        )
        assert cursor.fetchone() == (True, "")
    assert Observation.objects.count() == 2
