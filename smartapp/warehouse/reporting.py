"""How an analyst reads the store: as their own login role, one tenant's rows, read-only.

On PostgreSQL, migration 0003 puts row level security on the warehouse tables for members of
`smartapp_reporting`: they may SELECT, and only the rows of the connections that
`ReportingGrant` maps to `current_user` (`manage.py warehouse_grant`). `current_user` is the
login role itself, so nothing the session does (`set_config`, `RESET ROLE`) widens it; `SET
ROLE smartapp_reporting` narrows it to nothing.

Analysts and BI tools must log in as their own login role (a member of `smartapp_reporting`)
on a connection of their own, never through the app's connection: a session that started as
the app can `RESET ROLE` back to the app, the tables' owner, whom no policy restricts.

`reporting_session` is for tools and tests run by the app's operators, not for analysts: it
shows what a role sees, from the app's connection (which must be allowed to `SET ROLE` to it):

    with reporting_session("analyst_a") as cursor:
        cursor.execute("SELECT code, value_num FROM warehouse_observation")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from smartapp.warehouse.grants import REPORTING_ROLE, ROLE_NAME

__all__ = ["REPORTING_ROLE", "reporting_session"]


@contextmanager
def reporting_session(role: str) -> Iterator[CursorWrapper]:
    """A cursor running as `role` inside a transaction (`SET LOCAL ROLE`). Tools and tests
    only: the role ends with the transaction, and the code holding the cursor could `RESET
    ROLE` itself, so it is no boundary against whoever holds it."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("tenant isolation needs PostgreSQL row level security")
    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"not a role name: {role!r}")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {connection.ops.quote_name(role)}")
        yield cursor
        # Reached only without an error (an error rolls the savepoint, and the role, back).
        cursor.execute("RESET ROLE")
