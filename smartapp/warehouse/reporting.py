"""A database session as an analyst sees the store: one tenant's rows, read-only.

On PostgreSQL, migration 0002 puts row level security on the warehouse tables for the role
`smartapp_reporting`: it may SELECT, and only the rows whose `connection_id` equals the
transaction's `warehouse.connection_id` setting (none when it is unset). A reporting tool
connects as a member of that role, or, like the tests, as the app:

    with reporting_session(connection_id) as cursor:
        cursor.execute("SELECT code, value_num FROM warehouse_observation")

The role and the setting are both `LOCAL` to the transaction the session opens, so they end
with it; if that transaction is nested in an outer one, the session resets both before it
returns, so the rest of the outer transaction runs as the app again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

REPORTING_ROLE = "smartapp_reporting"
TENANT_SETTING = "warehouse.connection_id"


@contextmanager
def reporting_session(connection_id: UUID) -> Iterator[CursorWrapper]:
    """A cursor running as `smartapp_reporting`, scoped to the tenant `connection_id`."""
    if connection.vendor != "postgresql":
        raise NotImplementedError("tenant isolation needs PostgreSQL row level security")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {REPORTING_ROLE}")
        cursor.execute("SELECT set_config(%s, %s, true)", [TENANT_SETTING, str(connection_id)])
        yield cursor
        # Reached only without an error (an error rolls the savepoint, and with it both, back).
        cursor.execute("RESET ROLE")
        cursor.execute("SELECT set_config(%s, '', true)", [TENANT_SETTING])
