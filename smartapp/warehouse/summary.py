"""A patient's summary from the canonical store: the summary's own section builders, asking
the store instead of the EHR.

`StoreFetch` answers the builders' `read` and `search` (smartapp/summary/builders.py) from
the rows extraction loaded, for one connection (tenant) and patient: resources deleted at the
source are left out, `category` narrows Observations as the EHR's search would, `_sort=-date`
orders newest first, and at most MAX_ROWS rows of a type are read (`truncated` beyond).
So a service client of the use-case API gets the same sections, with the same mapping, that a
clinician's page shows, and each section's `retrieved_at` is when its oldest row was read
from the EHR (its freshness), not when the store was read.

Callers run it inside `api_access.tenant_session` (PostgreSQL row level security limits the
rows to the client's tenants whatever the query asks), and name the connection too.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db.models import F, QuerySet

from smart.errors import PatientUnavailable
from smartapp.fhir.resources import parse
from smartapp.fhir.search import SearchResult
from smartapp.summary import sections
from smartapp.summary.contract import SCHEMA_VERSION, Json, PatientSummary, Section
from smartapp.summary.service import build_section
from smartapp.warehouse.models import MODELS, ClinicalRow

MAX_ROWS = 1000  # of one type for one patient; past this a section is `partial`


def _categories(resource: Json) -> set[str]:
    found: set[str] = set()
    for concept in resource.get("category") or ():
        if isinstance(concept, dict):
            codings = concept.get("coding") or ()
            found |= {c["code"] for c in codings if isinstance(c, dict) and c.get("code")}
    return found


class StoreFetch:
    """The `Fetch` protocol (smartapp/summary/builders.py) over the canonical store.

    Not `concurrent`: every read stays on the caller's thread, inside its tenant session (a
    thread of its own would have a database connection of its own, outside the session's
    role and setting, where row level security no longer fences it)."""

    concurrent = False

    def __init__(self, connection_id: uuid.UUID, patient_id: str) -> None:
        self.connection_id = connection_id
        self._patient = patient_id
        self._lock = threading.Lock()
        self.oldest: datetime | None = None  # the oldest `retrieved_at` of the rows read

    @property
    def patient(self) -> str:
        return self._patient

    def _rows(self, rtype: str) -> QuerySet[ClinicalRow]:
        return MODELS[rtype]._default_manager.filter(
            connection_id=self.connection_id, deleted_at_source__isnull=True
        )

    def _saw(self, retrieved: Sequence[datetime]) -> None:
        with self._lock:
            for at in retrieved:
                self.oldest = at if self.oldest is None else min(self.oldest, at)

    def read(self, resource_type: str, resource_id: str) -> Json:
        if resource_type not in MODELS:
            raise PatientUnavailable(f"{resource_type} is not kept in the store")
        row = self._rows(resource_type).filter(resource_id=resource_id).first()
        if row is None:
            raise PatientUnavailable(f"{resource_type} not in the store")
        self._saw([row.retrieved_at])
        return row.source  # type: ignore[no-any-return]

    def search(self, rtype: str, **params: str) -> SearchResult:
        if rtype not in MODELS:
            return SearchResult((), {}, False, 0)
        rows = self._rows(rtype).filter(patient_id=self._patient)
        if params.get("_sort") == "-date":
            rows = rows.order_by(F("effective_start").desc(nulls_last=True), "resource_id")
        else:
            rows = rows.order_by("resource_id")
        fetched = list(rows.values_list("source", "retrieved_at")[: MAX_ROWS + 1])
        truncated = len(fetched) > MAX_ROWS
        fetched = fetched[:MAX_ROWS]
        category = params.get("category")
        if category:
            fetched = [(r, at) for r, at in fetched if category in _categories(r)]
        self._saw([at for _, at in fetched])
        resources, models = [], []
        for resource, _ in fetched:
            model = parse(resource)
            if model is not None:
                resources.append(resource)
                models.append(model)
        dropped = len(fetched) - len(models)
        return SearchResult(tuple(resources), {}, truncated, dropped, models=tuple(models))

    def may_read(self, rtype: str) -> bool:
        return rtype in MODELS


def has_patient(connection_id: uuid.UUID, patient_id: str) -> bool:
    rows = MODELS["Patient"]._default_manager.filter(
        connection_id=connection_id, resource_id=patient_id, deleted_at_source__isnull=True
    )
    return bool(rows.exists())


def store_summary(
    connection_id: uuid.UUID, patient_id: str, only: Sequence[str] | None = None
) -> PatientSummary:
    """The patient's summary as the store has it: each section built by its own builder,
    one at a time (the store is one database away, not an EHR round trip), its freshness
    the oldest row it read."""
    built: dict[str, Section] = {}
    for name in only or sections.section_names():
        fetch = StoreFetch(connection_id, patient_id)
        section = build_section(name, fetch)
        when = fetch.oldest.isoformat(timespec="seconds") if fetch.oldest else None
        built[name] = Section(
            section.name, section.status, section.items, when, section.reason, section.truncated
        )
    return PatientSummary(SCHEMA_VERSION, patient_id, built)
