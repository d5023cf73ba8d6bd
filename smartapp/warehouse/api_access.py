"""The use-case API's reads of the canonical store, fenced to the caller's tenants by the
database (migration 0004), not only by the queries' own filters.

    with tenant_session(grant.connection_ids):
        rows = Observation.objects.filter(patient_id=pid)   # other tenants' rows: invisible

On PostgreSQL the block is a transaction (a savepoint inside one) that runs as the NOLOGIN
role `smartapp_api` (`SET LOCAL ROLE`) with the setting `smartapp.api_tenants` naming the
connections; 0004's policies show that role the rows whose `connection_id` is in the setting,
nothing else, whatever the ORM query says. The role may only SELECT the warehouse tables and
the resolved-patient view: do everything else (the client lookup, the audit record, any
write) before or after the block, or it fails with "permission denied".

Why a setting is acceptable here when 0003 removed one for analysts: an analyst's session
belongs to the analyst, who could `set_config` another hospital's connection, so 0003 keys
their policies on `current_user`, which they cannot change. This session is the app's own;
nobody outside the app sends it SQL, and the app may read every tenant anyway (it owns the
tables). The guard here is against the app's own bugs: a query that forgets `connection_id`,
a join that reaches another tenant's rows, a wrong id from a URL. Code inside the block could
`RESET ROLE` or change the setting; it is not a boundary against the code that holds it,
only against its mistakes.

On SQLite (the demo) there are no roles and no row level security: the block is a plain
`transaction.atomic()`, and the queries' own `connection_id` filters are the only guard.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

API_ROLE = "smartapp_api"
TENANTS_SETTING = "smartapp.api_tenants"


def tenants_literal(connection_ids: Sequence[uuid.UUID]) -> str:
    """A PostgreSQL uuid[] literal; each id is re-parsed, so nothing else can get in."""
    return "{" + ",".join(str(uuid.UUID(str(item))) for item in connection_ids) + "}"


@contextmanager
def tenant_session(connection_ids: Sequence[uuid.UUID]) -> Iterator[None]:
    """Warehouse reads inside see only the rows of `connection_ids` (PostgreSQL); an empty
    sequence sees nothing."""
    tenants = tenants_literal(connection_ids)
    with transaction.atomic():
        if connection.vendor != "postgresql":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {API_ROLE}")
            cursor.execute("SELECT set_config(%s, %s, true)", [TENANTS_SETTING, tenants])
        yield
        # Reached only without an error (an error rolls the savepoint, and these, back). Inside
        # an outer transaction SET LOCAL would outlive the block: undo it here.
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute("SELECT set_config(%s, '', true)", [TENANTS_SETTING])
