"""Tenant isolation on PostgreSQL: an analyst's login role sees the rows of the connections
mapped to it, read-only, whatever its session sets.

Each analyst here is a real LOGIN role on a connection of its own (as a BI tool would be), so
the rows must be committed first: these tests run outside a test transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import StringIO
from uuid import UUID, uuid4

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from psycopg import errors

from smartapp.models import EhrConnection
from smartapp.warehouse.canonical import SUPPORTED_TYPES, canonical_row
from smartapp.warehouse.load import Provenance, load
from smartapp.warehouse.models import MODELS
from smartapp.warehouse.reporting import REPORTING_ROLE, reporting_session
from tests.smartapp.warehouse.test_load import T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABLES = [model._meta.db_table for model in MODELS.values()] + ["warehouse_patientlink"]
VIEW = "warehouse_patient_resolved"


def _fill(conn: UUID) -> None:
    resources = [
        canonical_row(
            {
                "resourceType": kind,
                "id": f"{kind.lower()}-{conn.hex[-4:]}",
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


def _tenant(slug: str) -> EhrConnection:
    tenant = EhrConnection.objects.create(
        slug=slug, name=slug, iss=f"https://{slug}.example/fhir", client_id=slug
    )
    _fill(tenant.pk)
    return tenant


def grant(role: str, slug: str, *extra: str) -> str:
    out = StringIO()
    call_command("warehouse_grant", "--role", role, "--connection", slug, *extra, stdout=out)
    return out.getvalue()


@pytest.fixture
def tenants() -> tuple[EhrConnection, EhrConnection]:
    return _tenant("one"), _tenant("two")


@pytest.fixture
def login_role() -> Iterator[Callable[[str], str]]:
    """Makes LOGIN roles (as a DBA would), dropped afterwards: roles outlive test databases."""
    made: list[str] = []

    def make(prefix: str) -> str:
        role = f"{prefix}_{uuid4().hex[:10]}"
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE ROLE {role} LOGIN")
        made.append(role)
        return role

    yield make
    with connection.cursor() as cursor:
        for role in made:
            cursor.execute(f"DROP ROLE IF EXISTS {role}")  # memberships go with it


@pytest.fixture
def session() -> Iterator[Callable[[str], psycopg.Cursor]]:
    """A cursor on a connection of its own, logged in as the given role."""
    opened: list[psycopg.Connection] = []

    def open_as(role: str) -> psycopg.Cursor:
        settings = connection.settings_dict
        conn = psycopg.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=settings["PORT"] or 5432,
            dbname=settings["NAME"],
            user=role,
            autocommit=True,
        )
        opened.append(conn)
        return conn.cursor()

    yield open_as
    for conn in opened:
        conn.close()


@pytest.fixture
def analysts(tenants, login_role) -> tuple[str, str]:
    """analyst_a reads tenant one, analyst_b tenant two, mapped by the command."""
    role_a, role_b = login_role("analyst_a"), login_role("analyst_b")
    assert f'ran: GRANT "{REPORTING_ROLE}"' in grant(role_a, "one")
    grant(role_b, "two")
    return role_a, role_b


def _seen(cursor, table: str) -> set[UUID]:
    cursor.execute(f"SELECT DISTINCT connection_id FROM {table}")  # noqa: S608
    return {row[0] for row in cursor.fetchall()}


def _sees_only(cursor, tenant: EhrConnection | None) -> None:
    expected = set() if tenant is None else {tenant.pk}
    for table in [*TABLES, VIEW]:
        assert _seen(cursor, table) == expected, table


def test_each_analyst_sees_only_its_tenant_in_every_table_and_the_view(
    tenants, analysts, session
) -> None:
    one, two = tenants
    for table in TABLES:
        assert _seen(connection.cursor(), table) == {one.pk, two.pk}, table  # the app sees all
    _sees_only(session(analysts[0]), one)
    cursor = session(analysts[1])
    _sees_only(cursor, two)
    cursor.execute(f"SELECT patient_id, survivor_id FROM {VIEW}")  # noqa: S608
    assert cursor.fetchall() == [(f"patient-{two.pk.hex[-4:]}", "q")]


@pytest.mark.parametrize("local", [False, True])
def test_naming_another_tenant_in_a_setting_changes_nothing(
    tenants, analysts, session, local: bool
) -> None:
    one, two = tenants
    cursor = session(analysts[0])
    with cursor.connection.transaction():
        cursor.execute("SELECT set_config('warehouse.connection_id', %s, %s)", [str(two.pk), local])
        _sees_only(cursor, one)


def test_the_analyst_is_its_own_session_user_and_cannot_become_another(
    tenants, analysts, session
) -> None:
    one, _ = tenants
    cursor = session(analysts[0])
    cursor.execute("RESET ROLE")
    cursor.execute("SELECT current_user, session_user")
    assert cursor.fetchone() == (analysts[0], analysts[0])
    _sees_only(cursor, one)
    for statement in (
        "SET ROLE postgres",
        f"SET ROLE {analysts[1]}",
        f"SET SESSION AUTHORIZATION {analysts[1]}",
    ):
        with pytest.raises(errors.InsufficientPrivilege):
            cursor.execute(statement)


def test_as_the_shared_role_nothing_is_visible(tenants, analysts, session) -> None:
    cursor = session(analysts[0])
    cursor.execute(f"SET ROLE {REPORTING_ROLE}")
    _sees_only(cursor, None)
    cursor.execute("SELECT count(*) FROM warehouse_reporting_grant")
    assert cursor.fetchone() == (0,)


def test_a_member_without_a_mapping_sees_nothing(tenants, analysts, login_role, session) -> None:
    role = login_role("analyst_c")
    with connection.cursor() as cursor:
        cursor.execute(f"GRANT {REPORTING_ROLE} TO {role}")
    _sees_only(session(role), None)


def test_an_analyst_sees_only_its_own_mapping(tenants, analysts, session) -> None:
    one, _ = tenants
    cursor = session(analysts[0])
    cursor.execute("SELECT role_name, connection_id FROM warehouse_reporting_grant")
    assert cursor.fetchall() == [(analysts[0], one.pk)]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE warehouse_observation SET status = 'x'",
        "DELETE FROM warehouse_condition",
        "INSERT INTO warehouse_patientlink (connection_id, patient_id, other_id, link_type,"
        " job_id) VALUES ({two}, 'a', 'b', 'refer', {two})",
        "SELECT count(*) FROM warehouse_seenresource",  # bookkeeping, not granted
        "INSERT INTO warehouse_reporting_grant (role_name, connection_id, created)"
        " VALUES (current_user, {two}, now())",
        "UPDATE warehouse_reporting_grant SET connection_id = {two}",
        "UPDATE warehouse_reporting_grant SET role_name = current_user",
        "DELETE FROM warehouse_reporting_grant",
        "TRUNCATE warehouse_observation",
    ],
)
def test_an_analyst_writes_nothing_nor_reads_bookkeeping(
    tenants, analysts, session, statement: str
) -> None:
    _, two = tenants
    with pytest.raises(errors.InsufficientPrivilege):
        session(analysts[0]).execute(statement.format(two=f"'{two.pk}'"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM warehouse_reporting_grant")
        assert cursor.fetchone() == (2,)


def test_revoking_removes_access(tenants, analysts, session) -> None:
    one, two = tenants
    grant(analysts[0], "two")
    cursor = session(analysts[0])
    assert _seen(cursor, "warehouse_observation") == {one.pk, two.pk}
    assert "no longer reads" in grant(analysts[0], "two", "--revoke")
    _sees_only(cursor, one)
    out = grant(analysts[0], "one", "--revoke")
    assert f'ran: REVOKE "{REPORTING_ROLE}"' in out  # the last mapping went: the membership too
    with pytest.raises(errors.InsufficientPrivilege):
        cursor.execute("SELECT count(*) FROM warehouse_observation")
    _sees_only(session(analysts[1]), two)


def test_the_tool_session_runs_as_the_role_then_as_the_app_again(tenants, analysts) -> None:
    one, _ = tenants
    with reporting_session(analysts[0]) as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (analysts[0],)
        _sees_only(cursor, one)
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = session_user")
        assert cursor.fetchone() == (True,)
