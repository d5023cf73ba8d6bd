"""Who may read which tenant: `ReportingGrant` rows and `smartapp_reporting` membership.

Migration 0003's policies show a role the rows of the connections mapped to `current_user`
here. Only the app, the table's owner, writes the mapping (`manage.py warehouse_grant`); the
reporting role can read its own rows and nothing else. Roles are the DBA's: this module may
grant or revoke membership in `smartapp_reporting` when the app's database user is allowed
to, and otherwise says what a DBA must run. It never creates a login role (that would put a
password, and the power to log in, in the app's hands).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from django.db import DatabaseError, connection, transaction

from smartapp.warehouse.models import ReportingGrant

REPORTING_ROLE = "smartapp_reporting"
# An unquoted PostgreSQL identifier, lower case (what `CREATE ROLE analyst_a` makes).
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleRefused(ValueError):
    """A role name that must not be mapped to a tenant."""


@dataclass(frozen=True)
class GrantResult:
    changed: bool  # the mapping was added (or removed)
    ran: tuple[str, ...] = ()  # statements run on the database
    for_dba: tuple[str, ...] = ()  # statements a DBA must run


def check_role_name(role: str) -> str:
    """`role` if it may be mapped: a plain identifier, neither the shared role (mapping it
    would give every member the tenant) nor a reserved one."""
    if not ROLE_NAME.fullmatch(role):
        raise RoleRefused(f"not a role name (expected {ROLE_NAME.pattern}): {role!r}")
    if role == REPORTING_ROLE or role == "public" or role.startswith("pg_"):
        raise RoleRefused(f"{role} is not an analyst's login role")
    return role


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _role(role: str) -> tuple[bool, bool] | None:
    """(bypasses row level security, is already a member of the reporting role), or None when
    there is no such role. The tables' owner, the app, is exempt from their policies, and so is
    any role that has its privileges; so are superusers and BYPASSRLS roles."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper OR r.rolbypassrls OR pg_has_role(r.oid, current_user, 'USAGE'),"
            " EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
            "         WHERE m.member = r.oid AND g.rolname = %s)"
            " FROM pg_roles r WHERE r.rolname = %s",
            [REPORTING_ROLE, role],
        )
        row = cursor.fetchone()
    return None if row is None else (bool(row[0]), bool(row[1]))


def _try(statement: str) -> bool:
    """Run a role statement if this database user may; False (nothing changed) if not."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    except DatabaseError:
        return False
    return True


def create_role_statement(role: str) -> str:
    return (
        f"CREATE ROLE {_quote(role)} LOGIN INHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB"
        " NOCREATEROLE PASSWORD '<a password of its own>';"
    )


@transaction.atomic
def grant_reporting(*, role: str, connection_id: UUID) -> GrantResult:
    """Map `role` to the tenant `connection_id`, and make it a member of the reporting role."""
    check_role_name(role)
    _, created = ReportingGrant.objects.get_or_create(role_name=role, connection_id=connection_id)
    if connection.vendor != "postgresql":
        return GrantResult(changed=created)
    membership = f"GRANT {_quote(REPORTING_ROLE)} TO {_quote(role)};"
    found = _role(role)
    if found is None:
        return GrantResult(created, for_dba=(create_role_statement(role), membership))
    bypasses, member = found
    if bypasses:
        # It would see every tenant whatever the mapping says: refuse rather than pretend.
        raise RoleRefused(f"{role} bypasses row level security (superuser, BYPASSRLS or owner)")
    if member:
        return GrantResult(created)
    if _try(membership):
        return GrantResult(created, ran=(membership,))
    return GrantResult(created, for_dba=(membership,))


@transaction.atomic
def revoke_reporting(*, role: str, connection_id: UUID) -> GrantResult:
    """Unmap `role` from the tenant; with no tenant left, end its reporting membership too."""
    check_role_name(role)
    deleted, _ = ReportingGrant.objects.filter(role_name=role, connection_id=connection_id).delete()
    if connection.vendor != "postgresql" or ReportingGrant.objects.filter(role_name=role).exists():
        return GrantResult(changed=deleted > 0)
    found = _role(role)
    if found is None or not found[1]:
        return GrantResult(changed=deleted > 0)
    statement = f"REVOKE {_quote(REPORTING_ROLE)} FROM {_quote(role)};"
    if _try(statement):
        return GrantResult(deleted > 0, ran=(statement,))
    return GrantResult(deleted > 0, for_dba=(statement,))
