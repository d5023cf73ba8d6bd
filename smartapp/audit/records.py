"""The audit trail's tables: one row per access to patient data, archived segments, the head.

`AccessRecord` rows are append-only and hash-chained (`smartapp.audit.chain` documents the
canonical form an auditor recomputes). The database refuses UPDATE on them, TRUNCATE (on
PostgreSQL) and DELETE of any row not covered by an `AuditSegment`; segments themselves can be
neither changed nor deleted (triggers in migration 0007). A superuser or the tables' owner
can still drop or disable triggers: production runs the app as a role granted only what it
needs (the GRANT SQL is in docs/audit.md), and the hash chain, the archives and
`audit_verify` detect what the triggers cannot prevent. `AuditHead` is a
single row whose UPDATE serialises writers, so two accesses never chain onto the same parent.

`launch_id` is a plain UUID, not a foreign key: the trail outlives the launches it names, which
housekeeping purges long before the retention period ends.
"""

from __future__ import annotations

from django.db import models

ZERO_HASH = "0" * 64  # the parent of the very first row of a trail


class AccessRecord(models.Model):
    """Who read which patient's data, through which EHR connection, when, and how it ended."""

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(db_index=True, editable=False)
    actor = models.TextField(blank=True, editable=False, help_text="fhirUser, else the sub")
    connection = models.SlugField(editable=False, help_text="the EHR connection's slug")
    launch_id = models.UUIDField(editable=False)
    patient_id = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    what = models.CharField(max_length=100, editable=False)
    resource_types = models.JSONField(default=list, editable=False)
    sections = models.JSONField(default=list, editable=False)
    outcome = models.CharField(max_length=80, editable=False)
    request_id = models.CharField(max_length=128, editable=False)
    client_address = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        app_label = "smartapp"
        ordering = ["-seq"]  # noqa: RUF012  (Django convention)
        verbose_name = "PHI access record"

    def __str__(self) -> str:
        return f"#{self.seq} {self.actor or '?'} {self.what} {self.patient_id or '-'}"


class AuditSegment(models.Model):
    """A run of the chain written to an NDJSON archive file and then deleted from the table.

    `end_hash` is the hash of row `upto_seq`: the next row's `prev_hash` and where
    `audit_verify` starts once the rows before it are gone."""

    first_seq = models.PositiveBigIntegerField(unique=True)
    upto_seq = models.PositiveBigIntegerField(unique=True)
    end_hash = models.CharField(max_length=64)
    file_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    created = models.DateTimeField()

    class Meta:
        app_label = "smartapp"
        ordering = ["-upto_seq"]  # noqa: RUF012  (Django convention)

    def __str__(self) -> str:
        return f"audit segment {self.first_seq}..{self.upto_seq} ({self.file_name})"


class AuditHead(models.Model):
    """One row (id 1). Writers UPDATE it first inside their transaction: the row lock on
    PostgreSQL, the database write lock on SQLite, so appends happen one at a time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    appends = models.PositiveBigIntegerField(default=0)

    class Meta:
        app_label = "smartapp"

    def __str__(self) -> str:
        return f"audit head ({self.appends} appends)"
