"""The resolved-patient view, and (PostgreSQL) tenant isolation for analysts.

Superseded for isolation by 0003: the policies below keyed on a setting any session may
change (`set_config`), so 0003 drops them and keys the policies on `current_user` instead.

`warehouse_patient_resolved(connection_id, patient_id, survivor_id)` follows Patient
replaced-by links with a recursive CTE: the end of the chain, or for a cycle (or a chain of
more than 32 links) the smallest id on it; `smartapp.warehouse.load.resolved_patient_id`
applies the same rule. SQLite gets the same view (it has WITH RECURSIVE).

On PostgreSQL only: a NOLOGIN role `smartapp_reporting` (created if the migrating user may;
otherwise a NOTICE, and a DBA creates it), granted SELECT on the store's tables and the view;
row level security on every table with the policy `tenant_isolation`: the role sees the rows
of the connection named by the setting `warehouse.connection_id`, none without it. The
tables' owner (the app) is unaffected (no FORCE). The view is `security_invoker`
(PostgreSQL 15), so it reads the tables as the reporting role and cannot bypass the policy.
`warehouse_seenresource` (no tenant column, bookkeeping only) is not granted and has RLS with
no policy: the role sees nothing there. A table added later needs its own GRANT and policy.
"""

from typing import Any

from django.db import migrations

ROLE = "smartapp_reporting"
TENANT_TABLES = (
    "warehouse_patient",
    "warehouse_condition",
    "warehouse_observation",
    "warehouse_medicationrequest",
    "warehouse_medicationstatement",
    "warehouse_medication",
    "warehouse_allergyintolerance",
    "warehouse_immunization",
    "warehouse_encounter",
    "warehouse_diagnosticreport",
    "warehouse_documentreference",
    "warehouse_patientlink",
)
ALL_TABLES = (*TENANT_TABLES, "warehouse_seenresource")

VIEW_BODY = """
WITH RECURSIVE chain(connection_id, patient_id, current_id, depth) AS (
    SELECT connection_id, resource_id, resource_id, 0 FROM warehouse_patient
  UNION ALL
    SELECT c.connection_id, c.patient_id, p.replaced_by, c.depth + 1
    FROM chain c
    JOIN warehouse_patient p
      ON p.connection_id = c.connection_id AND p.resource_id = c.current_id
    WHERE p.replaced_by <> '' AND c.depth < 32
), marked AS (
    SELECT c.connection_id, c.patient_id, c.current_id,
           NOT EXISTS (
               SELECT 1 FROM warehouse_patient n
               WHERE n.connection_id = c.connection_id AND n.resource_id = c.current_id
                 AND n.replaced_by <> ''
           ) AS terminal
    FROM chain c
)
SELECT connection_id, patient_id,
       COALESCE(MAX(CASE WHEN terminal THEN current_id END), MIN(current_id)) AS survivor_id
FROM marked
GROUP BY connection_id, patient_id
"""

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        BEGIN
            CREATE ROLE {ROLE} NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'role {ROLE} not created (%): a DBA must create it', SQLERRM;
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
        BEGIN
            EXECUTE format('GRANT {ROLE} TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
            RAISE NOTICE 'cannot make % a member of {ROLE} (%)', current_user, SQLERRM;
        END;
    END IF;
END
$$;
"""


def _policy_sql() -> str:
    grants = "\n".join(
        f"        EXECUTE 'GRANT SELECT ON {table} TO {ROLE}';\n"
        f"        EXECUTE 'CREATE POLICY tenant_isolation ON {table} FOR SELECT TO {ROLE} "
        f"USING (connection_id = NULLIF(current_setting(''warehouse.connection_id'', true),"
        f" '''')::uuid)';"
        for table in TENANT_TABLES
    )
    return f"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
{grants}
        EXECUTE 'GRANT SELECT ON warehouse_patient_resolved TO {ROLE}';
    ELSE
        RAISE NOTICE 'role {ROLE} missing: no grants, no policies (RLS still denies it all)';
    END IF;
END
$$;
"""


def forwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    with_options = " WITH (security_invoker = true)" if vendor == "postgresql" else ""
    schema_editor.execute(f"CREATE VIEW warehouse_patient_resolved{with_options} AS {VIEW_BODY}")
    if vendor != "postgresql":
        return
    # schema_editor.execute passes parameters, so psycopg reads '%' as a placeholder.
    schema_editor.execute(CREATE_ROLE.replace("%", "%%"))
    for table in ALL_TABLES:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    schema_editor.execute(_policy_sql())


def backwards(apps: Any, schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    schema_editor.execute("DROP VIEW IF EXISTS warehouse_patient_resolved")
    if vendor != "postgresql":
        return
    for table in ALL_TABLES:
        schema_editor.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        schema_editor.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    schema_editor.execute(
        f"""DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
                EXECUTE 'REVOKE ALL ON {", ".join(TENANT_TABLES)} FROM {ROLE}';
            END IF;
        END $$;"""
    )


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
