"""The canonical store's tables: one per FHIR type, the typed columns of
`smartapp.warehouse.canonical.CanonicalRow`, the resource itself, and where it came from.

A row's key is (connection, type, id): the table is the type, `UniqueConstraint(connection_id,
resource_id)` the rest. `connection_id` is the EHR connection's UUID, deliberately not a
foreign key: provenance outlives the connection it names. Rows are never deleted by a load;
a full run that no longer sees a resource sets `deleted_at_source` (`load.reconcile`).

On PostgreSQL, migrations 0002 and 0003 let members of the `smartapp_reporting` role SELECT
these tables under row level security: a login role sees the rows of the connections that
`ReportingGrant` maps it to, nothing else (`reporting.py`). A new table added here needs the
same GRANT and policy in a migration of its own.
"""

from __future__ import annotations

from django.db import models

from smartapp.warehouse.canonical import MEDIUM, SHORT, VALUE_DIGITS, VALUE_PLACES


class ClinicalRow(models.Model):
    """What every type's table holds (abstract)."""

    id = models.BigAutoField(primary_key=True)
    connection_id = models.UUIDField(db_index=True, help_text="the EHR connection (tenant)")
    resource_id = models.CharField(max_length=64)
    patient_id = models.CharField(max_length=64, blank=True, help_text="'' when none")
    version_id = models.CharField(max_length=SHORT, blank=True)
    version_num = models.BigIntegerField(null=True, blank=True, help_text="numeric versionId")
    last_updated = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=SHORT, blank=True)
    code_system = models.CharField(max_length=MEDIUM, blank=True)
    code = models.CharField(max_length=MEDIUM, blank=True)
    code_display = models.TextField(blank=True)
    effective_start = models.DateTimeField(null=True, blank=True)
    effective_end = models.DateTimeField(null=True, blank=True)
    value_num = models.DecimalField(
        max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES, null=True, blank=True
    )
    value_unit = models.CharField(max_length=SHORT, blank=True)
    value_text = models.TextField(blank=True)
    source = models.JSONField(help_text="the resource as the EHR sent it")
    # provenance
    job_id = models.UUIDField(help_text="the extraction job that last wrote the row")
    retrieved_at = models.DateTimeField()
    source_url = models.TextField(help_text="the NDJSON file or search URL, without credentials")
    granted_scope = models.TextField(blank=True)
    deleted_at_source = models.DateTimeField(null=True, blank=True)
    first_loaded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["connection_id", "resource_id"], name="wh_%(class)s_key"
            ),
        ]
        indexes = [
            models.Index(fields=["connection_id", "patient_id"], name="wh_%(class)s_pat"),
            models.Index(fields=["code_system", "code"], name="wh_%(class)s_code"),
            models.Index(fields=["effective_start"], name="wh_%(class)s_eff"),
            models.Index(fields=["status"], name="wh_%(class)s_status"),
        ]

    def __str__(self) -> str:
        return f"{type(self).__name__}/{self.resource_id}"


class Patient(ClinicalRow):
    gender = models.CharField(max_length=SHORT, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    family = models.TextField(blank=True)
    given = models.TextField(blank=True)
    deceased = models.BooleanField(default=False)
    replaced_by = models.CharField(
        max_length=64, blank=True, help_text="the survivor a replaced-by link names"
    )

    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_patient"


class Condition(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_condition"


class Observation(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_observation"


class MedicationRequest(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_medicationrequest"


class MedicationStatement(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_medicationstatement"


class Medication(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_medication"


class AllergyIntolerance(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_allergyintolerance"


class Immunization(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_immunization"


class Encounter(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_encounter"


class DiagnosticReport(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_diagnosticreport"


class DocumentReference(ClinicalRow):
    class Meta(ClinicalRow.Meta):
        db_table = "warehouse_documentreference"


# resourceType -> its table; the order of canonical.SUPPORTED_TYPES.
MODELS: dict[str, type[ClinicalRow]] = {
    model.__name__: model
    for model in (
        Patient,
        Condition,
        Observation,
        MedicationRequest,
        MedicationStatement,
        Medication,
        AllergyIntolerance,
        Immunization,
        Encounter,
        DiagnosticReport,
        DocumentReference,
    )
}


class PatientLink(models.Model):
    """One Patient.link of the newest version loaded (R4 Patient.link: replaced-by, replaces,
    refer, seealso)."""

    connection_id = models.UUIDField()
    patient_id = models.CharField(max_length=64)
    other_id = models.CharField(max_length=64)
    link_type = models.CharField(max_length=16)
    job_id = models.UUIDField()

    class Meta:
        db_table = "warehouse_patientlink"
        constraints = [
            models.UniqueConstraint(
                fields=["connection_id", "patient_id", "other_id", "link_type"],
                name="wh_patientlink_key",
            ),
        ]

    def __str__(self) -> str:
        return f"Patient/{self.patient_id} {self.link_type} Patient/{self.other_id}"


class SeenResource(models.Model):
    """What a full run has seen so far; `reconcile` marks the rest deleted, then drops these."""

    job_id = models.UUIDField()
    resource_type = models.CharField(max_length=64)
    resource_id = models.CharField(max_length=64)

    class Meta:
        db_table = "warehouse_seenresource"
        constraints = [
            models.UniqueConstraint(
                fields=["job_id", "resource_type", "resource_id"], name="wh_seenresource_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.resource_id} in {self.job_id}"


class ReportingGrant(models.Model):
    """An analyst's login role may read one connection's rows (migration 0003's policies).

    Written only by the app, the table's owner (`manage.py warehouse_grant`); the reporting
    role may SELECT only its own rows. The policies key on `current_user`, which the session
    cannot choose, never on a setting it could change (`set_config` is open to every role).
    """

    role_name = models.CharField(max_length=63, help_text="a PostgreSQL login role")
    connection_id = models.UUIDField(help_text="the EHR connection (tenant) it may read")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "warehouse_reporting_grant"
        constraints = [
            models.UniqueConstraint(
                fields=["role_name", "connection_id"], name="wh_reporting_grant_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role_name} reads {self.connection_id}"
