"""Loading canonical rows into the store: an idempotent, newest-wins upsert per table.

`load()` writes each type's rows with one `INSERT ... ON CONFLICT (connection_id,
resource_id) DO UPDATE ... WHERE <incoming is newer> OR <row was deleted at source>`
(per `CHUNK` rows, so a statement stays under the drivers' parameter limits). The rule for
"newer" (`is_newer`, and `NEWER_SQL`, the same rule in SQL):

1. meta.lastUpdated first: a later instant wins; a row that has one beats one that has none.
2. equal (or both absent) lastUpdated: the higher numeric meta.versionId wins, a number
   beats none.
3. neither side has a lastUpdated nor a numeric versionId: the later retrieval wins when the
   resource differs (nothing else can tell them apart).
4. otherwise (equal metadata) the stored row stays as it is.

So loading the same resources again changes nothing, not even `updated_at` or `job_id`, and
an older copy (a stale NDJSON file, a cached search page) never overwrites a newer one. A
row a full run marked deleted at source comes back with whatever copy is loaded next.

`reconcile()` ends a full (not `_since`) run: what the job did not see is marked
`deleted_at_source`; nothing is ever deleted. `resolved_patient_id()` follows Patient
`replaced-by` links to the survivor; migration 0002 defines the same rule as the view
`warehouse_patient_resolved(connection_id, patient_id, survivor_id)`. An analyst's query:

    SELECT o.code, o.value_num, o.value_unit, o.effective_start,
           COALESCE(r.survivor_id, o.patient_id) AS patient
    FROM warehouse_observation o
    LEFT JOIN warehouse_patient_resolved r
      ON r.connection_id = o.connection_id AND r.patient_id = o.patient_id
    WHERE o.deleted_at_source IS NULL AND o.code_system = 'http://loinc.org'
      AND o.code = '4548-4';
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django.db import connection, transaction
from django.utils import timezone

from smartapp.warehouse.canonical import CanonicalRow
from smartapp.warehouse.models import MODELS, ClinicalRow, Patient, PatientLink, SeenResource

CHUNK = 900  # rows per statement: 29 columns x 900 < SQLite's 32766 and PostgreSQL's 65535
MAX_HOPS = 32  # replaced-by links followed before a chain counts as a cycle
COLUMNS = (
    "connection_id",
    "resource_id",
    "patient_id",
    "version_id",
    "version_num",
    "last_updated",
    "status",
    "code_system",
    "code",
    "code_display",
    "effective_start",
    "effective_end",
    "value_num",
    "value_unit",
    "value_text",
    "source",
    "job_id",
    "retrieved_at",
    "source_url",
    "granted_scope",
    "deleted_at_source",
    "first_loaded_at",
    "updated_at",
)
PATIENT_COLUMNS = ("gender", "birth_date", "family", "given", "deceased", "replaced_by")
KEPT_ON_UPDATE = frozenset({"connection_id", "resource_id", "first_loaded_at"})
NEWER_SQL = """(
    (excluded.last_updated IS NOT NULL
     AND (t.last_updated IS NULL OR excluded.last_updated > t.last_updated))
 OR ((excluded.last_updated = t.last_updated
      OR (excluded.last_updated IS NULL AND t.last_updated IS NULL))
     AND excluded.version_num IS NOT NULL
     AND (t.version_num IS NULL OR excluded.version_num > t.version_num))
 OR (excluded.last_updated IS NULL AND t.last_updated IS NULL
     AND excluded.version_num IS NULL AND t.version_num IS NULL
     AND excluded.source <> t.source)
 OR t.deleted_at_source IS NOT NULL
)"""
# Query parameters that carry a credential (OAuth, S3/GCS/Azure pre-signed file URLs).
_SECRET_PARAMS = frozenset(
    {"access_token", "token", "code", "sig", "signature", "key", "api_key", "client_secret"}
)
_SECRET_PREFIXES = ("x-amz-", "x-goog-")


def without_credentials(url: str) -> str:
    """The URL with user:password and credential-bearing query values removed: provenance
    says where a resource came from, it must never let anyone fetch it again."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    query = [
        (name, "REDACTED" if _is_secret(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(query, safe=",:/"), ""))


def _is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_PARAMS or lowered.startswith(_SECRET_PREFIXES)


@dataclass(frozen=True)
class Provenance:
    """Where and when a batch of resources was retrieved, for which tenant, under which grant."""

    connection_id: UUID
    job_id: UUID
    retrieved_at: datetime
    source_url: str
    scope: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source_url", without_credentials(self.source_url))


@dataclass(frozen=True)
class LoadResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


def is_newer(incoming: CanonicalRow, current: CanonicalRow) -> bool:
    """`NEWER_SQL` in Python (without the deleted-at-source clause): used within one batch."""
    a, b = incoming.last_updated, current.last_updated
    if a is not None and (b is None or a > b):
        return True
    if a != b:
        return False
    an, bn = incoming.version_number, current.version_number
    if an is not None and (bn is None or an > bn):
        return True
    return a is None and an is None and bn is None and incoming.source != current.source


def _newest(rows: Iterable[CanonicalRow]) -> dict[str, dict[str, CanonicalRow]]:
    """Rows by type and id, one per id: the newest of any repeats (the first of equals)."""
    found: dict[str, dict[str, CanonicalRow]] = defaultdict(dict)
    for row in rows:
        current = found[row.resource_type].get(row.resource_id)
        if current is None or is_newer(row, current):
            found[row.resource_type][row.resource_id] = row
    return found


def _values(row: CanonicalRow, prov: Provenance, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {
        "connection_id": prov.connection_id,
        "resource_id": row.resource_id,
        "patient_id": row.patient_id or "",
        "version_id": row.version_id,
        "version_num": row.version_number,
        "last_updated": row.last_updated,
        "status": row.status,
        "code_system": row.code_system,
        "code": row.code,
        "code_display": row.code_display,
        "effective_start": row.effective_start,
        "effective_end": row.effective_end,
        "value_num": row.value_num,
        "value_unit": row.value_unit,
        "value_text": row.value_text,
        "source": dict(row.source),
        "job_id": prov.job_id,
        "retrieved_at": prov.retrieved_at,
        "source_url": prov.source_url,
        "granted_scope": prov.scope,
        "deleted_at_source": None,
        "first_loaded_at": now,
        "updated_at": now,
    }
    if row.resource_type == "Patient":
        values.update(
            gender=row.gender,
            birth_date=row.birth_date,
            family=row.family,
            given=row.given,
            deceased=row.deceased,
            replaced_by=row.replaced_by,
        )
    return values


def upsert_sql(model: type[ClinicalRow], columns: Sequence[str], rows: int, vendor: str) -> str:
    """The one statement that loads `rows` rows into `model`'s table."""
    table = model._meta.db_table
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in KEPT_ON_UPDATE)
    # Which returned rows were inserted: PostgreSQL's xmax is 0 for a fresh tuple; elsewhere
    # an inserted row is the only one whose first load is also its last update.
    inserted = "(xmax = 0)" if vendor == "postgresql" else "(first_loaded_at = updated_at)"
    # Only identifiers from the model's own metadata go into the text; values are parameters.
    return (
        f"INSERT INTO {table} AS t ({', '.join(columns)}) "  # noqa: S608
        f"VALUES {', '.join([placeholders] * rows)} "
        f"ON CONFLICT (connection_id, resource_id) DO UPDATE SET {updates} "
        f"WHERE {NEWER_SQL} "
        f"RETURNING resource_id, {inserted}"
    )


def _upsert(
    model: type[ClinicalRow], rows: Sequence[CanonicalRow], prov: Provenance, now: datetime
) -> tuple[set[str], set[str]]:
    """(inserted ids, updated ids) after loading `rows` (distinct ids) into `model`'s table."""
    columns = COLUMNS + (PATIENT_COLUMNS if model is Patient else ())
    fields = [model._meta.get_field(name) for name in columns]
    inserted: set[str] = set()
    updated: set[str] = set()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params: list[Any] = []
        for row in chunk:
            values = _values(row, prov, now)
            params.extend(
                f.get_db_prep_save(values[c], connection)  # type: ignore[union-attr]
                for f, c in zip(fields, columns, strict=True)
            )
        with connection.cursor() as cursor:
            cursor.execute(upsert_sql(model, columns, len(chunk), connection.vendor), params)
            for resource_id, fresh in cursor.fetchall():
                (inserted if fresh else updated).add(resource_id)
    return inserted, updated


def _relink(rows: Iterable[CanonicalRow], prov: Provenance) -> None:
    """The PatientLink rows of Patients just written: those of the version now stored."""
    rows = list(rows)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        PatientLink.objects.filter(
            connection_id=prov.connection_id, patient_id__in=[r.resource_id for r in chunk]
        ).delete()
    PatientLink.objects.bulk_create(
        [
            PatientLink(
                connection_id=prov.connection_id,
                patient_id=row.resource_id,
                other_id=other,
                link_type=kind,
                job_id=prov.job_id,
            )
            for row in rows
            for other, kind in row.links
        ],
        ignore_conflicts=True,
    )


def load(
    resources: Sequence[CanonicalRow], provenance: Provenance, *, track_seen: bool
) -> LoadResult:
    """Upsert `resources` for `provenance.connection_id`, newest wins (module docstring).

    `track_seen` (a full run) also records every (type, id) under the job for `reconcile`."""
    now = timezone.now()
    newest = _newest(resources)
    result = LoadResult()
    with transaction.atomic():
        for kind, by_id in newest.items():
            rows = list(by_id.values())
            inserted, updated = _upsert(MODELS[kind], rows, provenance, now)
            result += LoadResult(len(inserted), len(updated), 0)
            if kind == "Patient":
                _relink((by_id[i] for i in inserted | updated), provenance)
        if track_seen:
            SeenResource.objects.bulk_create(
                [
                    SeenResource(job_id=provenance.job_id, resource_type=kind, resource_id=rid)
                    for kind, by_id in newest.items()
                    for rid in by_id
                ],
                ignore_conflicts=True,
            )
    unchanged = len(resources) - result.inserted - result.updated
    return LoadResult(result.inserted, result.updated, unchanged)


def reconcile(
    connection_id: UUID, job_id: UUID, resource_types: Sequence[str], *, at: datetime
) -> dict[str, int]:
    """After a full run: mark this connection's rows of `resource_types` that the job did not
    see as deleted at source (`at`), then forget what the job saw. Returns counts per type."""
    unknown = set(resource_types) - MODELS.keys()
    if unknown:
        raise ValueError(f"not stored here: {sorted(unknown)}")
    counts: dict[str, int] = {}
    with transaction.atomic():
        for kind in resource_types:
            seen = SeenResource.objects.filter(job_id=job_id, resource_type=kind)
            counts[kind] = (
                MODELS[kind]
                ._default_manager.filter(
                    connection_id=connection_id, deleted_at_source__isnull=True
                )
                .exclude(resource_id__in=seen.values("resource_id"))
                .update(deleted_at_source=at, updated_at=timezone.now())
            )
        forget_seen(job_id)
    return counts


def forget_seen(job_id: UUID) -> int:
    """Drop what a job saw (it was cancelled or failed: its run cannot reconcile)."""
    deleted, _ = SeenResource.objects.filter(job_id=job_id).delete()
    return deleted


def resolved_patient_id(connection_id: UUID, patient_id: str) -> str:
    """The Patient that `patient_id` ends up as, following replaced-by links: the end of the
    chain; for a cycle (or a chain longer than MAX_HOPS) the smallest id on it, so every
    member resolves alike. The view `warehouse_patient_resolved` applies the same rule."""
    path = [patient_id]
    while True:
        successor = (
            Patient.objects.filter(connection_id=connection_id, resource_id=path[-1])
            .values_list("replaced_by", flat=True)
            .first()
        )
        if not successor:
            return path[-1]
        if successor in path or len(path) > MAX_HOPS:
            return min(path)
        path.append(successor)
