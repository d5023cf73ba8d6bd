"""Tenant isolation for the use-case API's reads (PostgreSQL row level security).

`smartapp.warehouse.api_access.tenant_session` runs the API's warehouse queries as the
NOLOGIN role `smartapp_api` (`SET LOCAL ROLE`) with the setting `smartapp.api_tenants` naming
the service client's connections. On PostgreSQL only, this migration:

- creates `smartapp_api` NOLOGIN if the migrating user may (else a NOTICE: a DBA creates it),
  and makes the migrating user (the app) a member, so the app may `SET ROLE` to it;
- grants it SELECT on every tenant table (0003's list, `warehouse_patientlink` included: it
  has `connection_id`) and on the resolved-patient view (`security_invoker`, so the view reads
  the tables under these policies);
- adds the policy `api_tenant FOR SELECT TO smartapp_api USING (connection_id = ANY (the
  setting as uuid[]))`; no setting, or an empty one, is the empty array: no rows.

Row level security is already on for these tables (0002); the app, their owner, is not
subject to it, and `smartapp_reporting`'s policies are untouched (policies for other roles do
not apply to this one). `warehouse_seenresource` and `warehouse_reporting_grant` are not
granted: the role reads nothing there. Without the role there are no grants and no policies,
and `tenant_session` fails at `SET ROLE` (closed, not open).

Backwards drops the policies and the grants; the role is left (roles are cluster-wide and
may be in use by other databases).
"""

from typing import Any

from django.db import migrations

ROLE = "smartapp_api"
SETTING = "smartapp.api_tenants"
VIEW = "warehouse_patient_resolved"
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
TENANTS = (
    f"connection_id = ANY (coalesce(nullif(current_setting('{SETTING}', true), ''), '{{}}')"
    "::uuid[])"
)

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


def _role_exists(schema_editor: Any) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE])
        return cursor.fetchone() is not None


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    # schema_editor.execute passes parameters, so psycopg reads '%' as a placeholder.
    schema_editor.execute(CREATE_ROLE.replace("%", "%%"))
    if not _role_exists(schema_editor):
        return
    for table in TENANT_TABLES:
        schema_editor.execute(f"GRANT SELECT ON {table} TO {ROLE}")
        schema_editor.execute(f"DROP POLICY IF EXISTS api_tenant ON {table}")
        schema_editor.execute(
            f"CREATE POLICY api_tenant ON {table} FOR SELECT TO {ROLE} USING ({TENANTS})"
        )
    schema_editor.execute(f"GRANT SELECT ON {VIEW} TO {ROLE}")


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TENANT_TABLES:
        schema_editor.execute(f"DROP POLICY IF EXISTS api_tenant ON {table}")
    if _role_exists(schema_editor):
        schema_editor.execute(f"REVOKE ALL ON {', '.join((*TENANT_TABLES, VIEW))} FROM {ROLE}")


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0003_reporting_grant")]

    operations = [migrations.RunPython(forwards, backwards)]
