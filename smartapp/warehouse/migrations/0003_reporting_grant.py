"""Tenant isolation keyed on who is asking, not on what the session says.

0002's policies showed `smartapp_reporting` the rows of the connection named by the setting
`warehouse.connection_id`; any session may `set_config` any setting, so an analyst could name
another hospital's connection and read its PHI. This migration replaces them.

`warehouse_reporting_grant` maps a login role to the connections it may read; only the app
(the table's owner, through `manage.py warehouse_grant`) writes it. On PostgreSQL only:

- every tenant table's `tenant_isolation` policy becomes `FOR SELECT TO smartapp_reporting
  USING (connection_id IN (the connections mapped to current_user))`. `current_user` is the
  role running the query: an analyst's own login role (a member of `smartapp_reporting`),
  which that session cannot change except to roles it is a member of; `smartapp_reporting`
  itself, after `SET ROLE`, maps to nothing.
- the reporting role may SELECT `warehouse_reporting_grant`, under row level security with
  the policy `own_grants`: each role sees only its own mappings (the tenant policies read
  the table as the querying role, so they need that much), and writes nothing.

The resolved-patient view stays `security_invoker`, so it reads the tables under these
policies. The role must exist before this runs (0002 creates it when the migrating user may):
without it there are no policies and row level security leaves the role nothing.

Backwards drops the new policies and does not bring back 0002's: the role then sees no rows
(fail closed) rather than rows chosen by a setting.
"""

from typing import Any

from django.db import migrations, models

ROLE = "smartapp_reporting"
GRANTS = "warehouse_reporting_grant"
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
MAPPED_TO_ME = (
    f"connection_id IN (SELECT g.connection_id FROM {GRANTS} g"
    " WHERE g.role_name = current_user::text)"
)


def _role_exists(schema_editor: Any) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE])
        return cursor.fetchone() is not None


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    for table in TENANT_TABLES:
        execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    execute(f"ALTER TABLE {GRANTS} ENABLE ROW LEVEL SECURITY")
    if not _role_exists(schema_editor):
        return
    execute(f"GRANT SELECT ON {GRANTS} TO {ROLE}")
    execute(
        f"CREATE POLICY own_grants ON {GRANTS} FOR SELECT TO {ROLE}"
        " USING (role_name = current_user::text)"
    )
    for table in TENANT_TABLES:
        execute(
            f"CREATE POLICY tenant_isolation ON {table} FOR SELECT TO {ROLE}"
            f" USING ({MAPPED_TO_ME})"
        )


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    execute = schema_editor.execute
    for table in TENANT_TABLES:
        execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    execute(f"DROP POLICY IF EXISTS own_grants ON {GRANTS}")
    if _role_exists(schema_editor):
        execute(f"REVOKE ALL ON {GRANTS} FROM {ROLE}")


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0002_reporting_isolation")]

    operations = [
        migrations.CreateModel(
            name="ReportingGrant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role_name",
                    models.CharField(help_text="a PostgreSQL login role", max_length=63),
                ),
                (
                    "connection_id",
                    models.UUIDField(help_text="the EHR connection (tenant) it may read"),
                ),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "db_table": "warehouse_reporting_grant",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("role_name", "connection_id"), name="wh_reporting_grant_key"
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
