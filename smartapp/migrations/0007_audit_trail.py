"""The PHI access trail's tables (smartapp/audit/records.py) and the triggers that keep them
append-only, per database (docs/audit.md):

- an audit row can never be UPDATEd; it can be DELETEd only once an archived segment covers it
  (retention, smartapp/audit/retention.py); TRUNCATE is refused (PostgreSQL);
- an archived segment can never be UPDATEd or DELETEd, and is accepted only when it follows the
  previous one and its end hash is the hash of its last row.

The SQL is written out here, not imported, so this migration stays what it was when applied.
On SQLite, a later migration that rebuilds either table drops these triggers with it and must
create them again.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

ROWS = "smartapp_accessrecord"
SEGMENTS = "smartapp_auditsegment"

POSTGRESQL = [
    """CREATE FUNCTION smartapp_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"""CREATE FUNCTION smartapp_audit_delete_archived() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM {SEGMENTS} WHERE upto_seq >= OLD.seq) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit row % is not archived: DELETE refused', OLD.seq
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    f"""CREATE FUNCTION smartapp_audit_segment_follows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.first_seq <> COALESCE((SELECT max(upto_seq) FROM {SEGMENTS}), 0) + 1
           OR NOT EXISTS (SELECT 1 FROM {ROWS}
                          WHERE seq = NEW.upto_seq AND hash = NEW.end_hash) THEN
            RAISE EXCEPTION 'audit segment %..% does not continue the chain',
                NEW.first_seq, NEW.upto_seq USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER smartapp_audit_no_update BEFORE UPDATE ON {ROWS}
        FOR EACH ROW EXECUTE FUNCTION smartapp_audit_refuse()""",
    f"""CREATE TRIGGER smartapp_audit_delete_archived BEFORE DELETE ON {ROWS}
        FOR EACH ROW EXECUTE FUNCTION smartapp_audit_delete_archived()""",
    f"""CREATE TRIGGER smartapp_audit_no_truncate BEFORE TRUNCATE ON {ROWS}
        FOR EACH STATEMENT EXECUTE FUNCTION smartapp_audit_refuse()""",
    f"""CREATE TRIGGER smartapp_audit_segment_fixed BEFORE UPDATE OR DELETE ON {SEGMENTS}
        FOR EACH ROW EXECUTE FUNCTION smartapp_audit_refuse()""",
    f"""CREATE TRIGGER smartapp_audit_segment_no_truncate BEFORE TRUNCATE ON {SEGMENTS}
        FOR EACH STATEMENT EXECUTE FUNCTION smartapp_audit_refuse()""",
    f"""CREATE TRIGGER smartapp_audit_segment_follows BEFORE INSERT ON {SEGMENTS}
        FOR EACH ROW EXECUTE FUNCTION smartapp_audit_segment_follows()""",
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER IF EXISTS smartapp_audit_no_update ON {ROWS}",
    f"DROP TRIGGER IF EXISTS smartapp_audit_delete_archived ON {ROWS}",
    f"DROP TRIGGER IF EXISTS smartapp_audit_no_truncate ON {ROWS}",
    f"DROP TRIGGER IF EXISTS smartapp_audit_segment_fixed ON {SEGMENTS}",
    f"DROP TRIGGER IF EXISTS smartapp_audit_segment_no_truncate ON {SEGMENTS}",
    f"DROP TRIGGER IF EXISTS smartapp_audit_segment_follows ON {SEGMENTS}",
    "DROP FUNCTION IF EXISTS smartapp_audit_refuse()",
    "DROP FUNCTION IF EXISTS smartapp_audit_delete_archived()",
    "DROP FUNCTION IF EXISTS smartapp_audit_segment_follows()",
]

SQLITE = [
    f"""CREATE TRIGGER smartapp_audit_no_update BEFORE UPDATE ON {ROWS}
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER smartapp_audit_delete_archived BEFORE DELETE ON {ROWS}
    WHEN NOT EXISTS (SELECT 1 FROM {SEGMENTS} WHERE upto_seq >= OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'audit row is not archived: DELETE refused'); END""",
    f"""CREATE TRIGGER smartapp_audit_segment_no_update BEFORE UPDATE ON {SEGMENTS}
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER smartapp_audit_segment_no_delete BEFORE DELETE ON {SEGMENTS}
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: DELETE refused'); END""",
    f"""CREATE TRIGGER smartapp_audit_segment_follows BEFORE INSERT ON {SEGMENTS}
    WHEN NEW.first_seq <> COALESCE((SELECT max(upto_seq) FROM {SEGMENTS}), 0) + 1
      OR NOT EXISTS (SELECT 1 FROM {ROWS} WHERE seq = NEW.upto_seq AND hash = NEW.end_hash)
    BEGIN SELECT RAISE(ABORT, 'audit segment does not continue the chain'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS smartapp_audit_no_update",
    "DROP TRIGGER IF EXISTS smartapp_audit_delete_archived",
    "DROP TRIGGER IF EXISTS smartapp_audit_segment_no_update",
    "DROP TRIGGER IF EXISTS smartapp_audit_segment_no_delete",
    "DROP TRIGGER IF EXISTS smartapp_audit_segment_follows",
]

FORWARD = {"postgresql": POSTGRESQL, "sqlite": SQLITE}
REVERSE = {"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}


def _run(statements: dict[str, list[str]], schema_editor: Any) -> None:
    """Each database gets its own dialect; any other vendor gets no triggers (docs/audit.md)."""
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql, None)  # no parameters: the `%` in RAISE stays as written


def install_triggers(apps: Any, schema_editor: Any) -> None:
    _run(FORWARD, schema_editor)


def drop_triggers(apps: Any, schema_editor: Any) -> None:
    _run(REVERSE, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("smartapp", "0006_connection_scopes_with_medication"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("seq", models.PositiveBigIntegerField(editable=False, unique=True)),
                ("at", models.DateTimeField(db_index=True, editable=False)),
                (
                    "actor",
                    models.TextField(
                        blank=True, editable=False, help_text="fhirUser, else the sub"
                    ),
                ),
                (
                    "connection",
                    models.SlugField(editable=False, help_text="the EHR connection's slug"),
                ),
                ("launch_id", models.UUIDField(editable=False)),
                (
                    "patient_id",
                    models.CharField(blank=True, db_index=True, editable=False, max_length=200),
                ),
                ("what", models.CharField(editable=False, max_length=100)),
                ("resource_types", models.JSONField(default=list, editable=False)),
                ("sections", models.JSONField(default=list, editable=False)),
                ("outcome", models.CharField(editable=False, max_length=80)),
                ("request_id", models.CharField(editable=False, max_length=128)),
                ("client_address", models.CharField(blank=True, editable=False, max_length=64)),
                ("prev_hash", models.CharField(editable=False, max_length=64)),
                ("hash", models.CharField(editable=False, max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "PHI access record",
                "ordering": ["-seq"],
            },
        ),
        migrations.CreateModel(
            name="AuditHead",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("appends", models.PositiveBigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="AuditSegment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_seq", models.PositiveBigIntegerField(unique=True)),
                ("upto_seq", models.PositiveBigIntegerField(unique=True)),
                ("end_hash", models.CharField(max_length=64)),
                ("file_name", models.CharField(max_length=200)),
                ("file_sha256", models.CharField(max_length=64)),
                ("created", models.DateTimeField()),
            ],
            options={
                "ordering": ["-upto_seq"],
            },
        ),
        migrations.RunPython(install_triggers, drop_triggers),
    ]
