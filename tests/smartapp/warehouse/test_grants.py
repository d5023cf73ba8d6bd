"""`warehouse_grant` and `warehouse.grants`: role names checked, mappings added and removed,
roles left to the DBA. (What a mapping lets a role see: test_reporting.py, on PostgreSQL.)"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from smartapp.models import EhrConnection
from smartapp.warehouse.grants import RoleRefused, check_role_name
from smartapp.warehouse.models import ReportingGrant
from smartapp.warehouse.reporting import reporting_session


def grant(*args: str) -> str:
    out = StringIO()
    call_command("warehouse_grant", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def tenant() -> EhrConnection:
    return EhrConnection.objects.create(
        slug="one", name="One", iss="https://one.example/fhir", client_id="c"
    )


@pytest.mark.parametrize("role", ["analyst_a", "_bi", "a" * 63, "x1_2"])
def test_plain_identifiers_are_role_names(role: str) -> None:
    assert check_role_name(role) == role


@pytest.mark.parametrize(
    "role",
    [
        "",
        "Analyst",  # an unquoted identifier folds to lower case: this is not that role
        "1abc",
        "a" * 64,
        'a"; DROP TABLE x; --',
        "a b",
        "smartapp_reporting",  # every member would get the tenant
        "public",
        "pg_read_all_data",
    ],
)
def test_other_names_are_refused(role: str) -> None:
    with pytest.raises(RoleRefused):
        check_role_name(role)


@pytest.mark.django_db
def test_a_mapping_is_added_once_and_removed(tenant: EhrConnection) -> None:
    assert "ghost_analyst now reads" in grant("--role", "ghost_analyst", "--connection", "one")
    assert "already reads" in grant("--role", "ghost_analyst", "--connection", "one")
    assert list(ReportingGrant.objects.values_list("role_name", "connection_id")) == [
        ("ghost_analyst", tenant.pk)
    ]
    out = grant("--role", "ghost_analyst", "--connection", "one", "--revoke")
    assert "no longer reads" in out
    assert "did not read" in grant("--role", "ghost_analyst", "--connection", "one", "--revoke")
    assert not ReportingGrant.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "analyst", "--connection", "nope"], "no EHR connection 'nope'"),
        (["--role", "Robert'); --", "--connection", "one"], "not a role name"),
        (["--role", "smartapp_reporting", "--connection", "one"], "not an analyst"),
    ],
)
def test_bad_arguments_change_nothing(tenant, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        grant(*args)
    assert not ReportingGrant.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_missing_login_role_is_left_to_the_dba(tenant: EhrConnection) -> None:
    out = grant("--role", "ghost_analyst", "--connection", "one")
    assert 'CREATE ROLE "ghost_analyst" LOGIN' in out
    assert 'GRANT "smartapp_reporting" TO "ghost_analyst";' in out
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = 'ghost_analyst'")
        assert cursor.fetchone() is None  # printed, never run


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_role_that_bypasses_row_level_security_is_refused(tenant: EhrConnection) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        (app_user,) = cursor.fetchone()
    with pytest.raises(CommandError, match="bypasses row level security"):
        grant("--role", app_user, "--connection", "one")
    assert not ReportingGrant.objects.exists()


@pytest.mark.django_db
def test_the_tool_session_needs_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")  # runs on either database
    with pytest.raises(NotImplementedError), reporting_session("analyst_a"):
        pass
