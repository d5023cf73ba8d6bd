"""tenant_session: on PostgreSQL the database shows the block only its tenants' rows, in
every warehouse table and the resolved-patient view, whatever the query says (migration
0004's policies for `smartapp_api`). On SQLite it is a plain transaction."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from smartapp.models import EhrConnection
from smartapp.warehouse.api_access import tenant_session, tenants_literal
from smartapp.warehouse.models import MODELS, Observation, Patient
from tests.smartapp.api_clients.conftest import make_tenant
from tests.smartapp.warehouse.test_reporting import _fill

pytestmark = pytest.mark.django_db
TABLES = [model._meta.db_table for model in MODELS.values()] + ["warehouse_patientlink"]
VIEW = "warehouse_patient_resolved"


@pytest.fixture
def stores() -> tuple[EhrConnection, EhrConnection]:
    """Two tenants, each with a row in every table (written by the app, the owner)."""
    one, two = make_tenant("store-one"), make_tenant("store-two")
    _fill(one.pk)
    _fill(two.pk)
    return one, two


def _seen(table: str) -> set[uuid.UUID]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT connection_id FROM {table}")  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def test_tenants_literal_reparses_every_id():
    a = uuid.uuid4()
    assert tenants_literal([a]) == "{" + str(a) + "}"
    assert tenants_literal([]) == "{}"
    with pytest.raises(ValueError, match="badly formed"):
        tenants_literal(["x'}; DROP TABLE warehouse_patient; --"])  # type: ignore[list-item]


@pytest.mark.postgres
def test_an_unfiltered_query_sees_only_the_sessions_tenant(stores):
    one, two = stores
    assert set(Observation.objects.values_list("connection_id", flat=True)) == {one.pk, two.pk}
    with tenant_session([one.pk]):
        assert set(Observation.objects.values_list("connection_id", flat=True)) == {one.pk}
        assert Observation.objects.filter(connection_id=two.pk).count() == 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM warehouse_observation")
            assert cursor.fetchone()[0] == 1
        for table in [*TABLES, VIEW]:
            assert _seen(table) == {one.pk}, table
    # After the block the app (the owner) sees everything again, in the same transaction.
    assert Patient.objects.count() == 2


@pytest.mark.postgres
def test_several_tenants_and_none(stores):
    one, two = stores
    with tenant_session([one.pk, two.pk]):
        assert _seen("warehouse_patient") == {one.pk, two.pk}
    with tenant_session([]):
        for table in [*TABLES, VIEW]:
            assert _seen(table) == set(), table
    with tenant_session([uuid.uuid4()]):
        assert not Patient.objects.exists()


@pytest.mark.postgres
def test_the_session_reads_only_the_warehouse(stores):
    one, _ = stores
    for attempt in (
        lambda: Patient.objects.filter(connection_id=one.pk).update(family="x"),
        lambda: list(EhrConnection.objects.all()),
        lambda: connection.cursor().execute("SELECT count(*) FROM warehouse_seenresource"),
    ):
        with pytest.raises(DatabaseError, match="permission denied"), tenant_session([one.pk]):
            attempt()
    assert Patient.objects.filter(family="x").count() == 0


@pytest.mark.postgres
def test_an_error_inside_rolls_the_role_back(stores):
    one, two = stores
    with pytest.raises(RuntimeError), tenant_session([one.pk]):
        raise RuntimeError("boom")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_setting('smartapp.api_tenants', true)")
        user, setting = cursor.fetchone()
    assert user != "smartapp_api"
    assert not setting
    assert _seen("warehouse_patient") == {one.pk, two.pk}


@pytest.mark.postgres
def test_nested_in_an_outer_transaction(stores):
    one, _ = stores
    assert connection.in_atomic_block  # the test's own; the session nests a savepoint
    with transaction.atomic(), tenant_session([one.pk]):
        assert _seen("warehouse_condition") == {one.pk}


def test_a_transaction_on_either_database_fenced_on_postgresql(stores):
    one, two = stores
    with tenant_session([one.pk]):
        assert connection.in_atomic_block
        seen = set(Patient.objects.values_list("connection_id", flat=True))
    # PostgreSQL fences the rows; on SQLite (no roles, no row level security) the query's own
    # filter is the only guard (documented).
    assert seen == ({one.pk} if connection.vendor == "postgresql" else {one.pk, two.pk})
