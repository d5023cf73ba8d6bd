"""Other products' calls: a service client's token (api/auth.py), one tenant at a time.

A tenant is an EHR connection, named by its slug. A client bound to other tenants, a tenant
that does not exist and a patient the tenant does not hold all answer the same 404: a client
learns nothing about tenants it was not given. The data is the canonical store's
(smartapp/warehouse/summary.py: the summary's own builders over the rows extraction loaded),
read inside `tenant_session`, where PostgreSQL's row level security shows only the client's
tenants' rows whatever a query asks (smartapp/warehouse/api_access.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import BaseModel, Field

from api import cursor, schemas, summaries
from api.auth import ServiceBearer, require_scope
from api.cursor import DEFAULT_LIMIT, MAX_LIMIT
from api.http import respond
from smart.fhir_ids import is_fhir_id
from smartapp.api_clients.bearer import ClientGrant
from smartapp.audit import service_access
from smartapp.fhir.resources import parse
from smartapp.summary.demographics import demographics
from smartapp.summary.sections import section_names
from smartapp.warehouse import api_access
from smartapp.warehouse.models import MODELS
from smartapp.warehouse.summary import has_patient, store_summary

router = Router(auth=ServiceBearer(), tags=["Service clients (canonical store)"])
SCOPE_KEY = "x-required-scope"
# The scope each operation needs (smartapp/api_clients/scopes.py), in the document too.
PATIENTS, SUMMARY, RESULTS, MEDICATIONS = (
    "patients.read",
    "summary.read",
    "results.read",
    "medications.read",
)


def _needs(scope: str) -> dict[str, Any]:
    """The scope the operation needs, for the OpenAPI document (api/main.py turns it into the
    operation's security requirement)."""
    return {SCOPE_KEY: scope}


ERRORS = schemas.ERRORS


def _tenant(grant: ClientGrant, slug: str) -> uuid.UUID | None:
    for connection_id, bound in zip(grant.connection_ids, grant.connection_slugs, strict=True):
        if bound == slug:
            return connection_id
    return None


@dataclass(frozen=True)
class Reading:
    connection_id: uuid.UUID
    access: service_access.ServiceAccess


@contextmanager
def _reading(
    request: HttpRequest,
    scope: str,
    tenant: str,
    what: str,
    patient_id: str | None = None,
    sections: tuple[str, ...] = (),
) -> Iterator[Reading]:
    """The tenant's id inside its tenant session, the call audited however it ends (a missing
    scope, a tenant that is not the client's, a patient the tenant does not hold: 404 alike)."""
    grant: ClientGrant = request.auth  # type: ignore[attr-defined]
    connection_id = _tenant(grant, tenant)
    named = patient_id if patient_id is not None and is_fhir_id(patient_id) else ""
    with service_access.accessed(
        request, grant, tenant if connection_id else "", what, named, sections
    ) as access:
        require_scope(request, scope)
        if connection_id is None or (patient_id is not None and not named):
            raise Http404
        with api_access.tenant_session([connection_id]):
            if patient_id is not None and not has_patient(connection_id, patient_id):
                raise Http404
            yield Reading(connection_id, access)


class PatientsQuery(BaseModel):
    cursor: str | None = Field(None, max_length=500, description="from `page.next_cursor`")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


@router.get(
    "/tenants/{tenant}/patients",
    response={200: schemas.PatientList, 304: None, **ERRORS},
    url_name="tenant-patients",
    openapi_extra=_needs(PATIENTS),
)
def patients(request: HttpRequest, tenant: str, query: Query[PatientsQuery]) -> HttpResponse:
    """The tenant's patients in the store (scope `patients.read`), by id, a page at a time."""
    with _reading(request, PATIENTS, tenant, "api:patients") as reading:
        rows = MODELS["Patient"]._default_manager.filter(
            connection_id=reading.connection_id, deleted_at_source__isnull=True
        )
        start = cursor.decode(query.cursor, request.path, {})
        total = rows.count()
        shown = list(rows.order_by("resource_id")[start : start + query.limit])
        reading.access.patients = [row.resource_id for row in shown]
    today = date.today()
    matches = []
    for row in shown:
        model = parse(row.source)
        if model is not None:
            about = schemas.DemographicsOut.model_validate(demographics(model, today))
            matches.append(schemas.PatientMatch(id=row.resource_id, demographics=about))
    end = start + query.limit
    following = cursor.encode(end, request.path, {}) if end < total else None
    return respond(
        request,
        schemas.PatientList(
            patients=matches, page=schemas.Page(next_cursor=following, total=total)
        ),
    )


@router.get(
    "/tenants/{tenant}/patients/{patient_id}/summary",
    response={200: schemas.SummaryOut, 304: None, **ERRORS},
    url_name="tenant-summary",
    openapi_extra=_needs(SUMMARY),
)
def summary(request: HttpRequest, tenant: str, patient_id: str) -> HttpResponse:
    """A patient's whole summary from the store (scope `summary.read`)."""
    names = tuple(section_names())
    with _reading(request, SUMMARY, tenant, "api:summary", patient_id, names) as reading:
        built = store_summary(reading.connection_id, patient_id)
    return respond(request, summaries.summary_out(built, "store", tenant))


@router.get(
    "/tenants/{tenant}/patients/{patient_id}/results",
    response={200: schemas.ResultsOut, 304: None, **ERRORS},
    url_name="tenant-results",
    openapi_extra=_needs(RESULTS),
)
def results(
    request: HttpRequest, tenant: str, patient_id: str, query: Query[schemas.ResultsQuery]
) -> HttpResponse:
    """The latest result of each kind from the store (scope `results.read`)."""
    names = ("vitals", "labs")
    with _reading(request, RESULTS, tenant, "api:results", patient_id, names) as reading:
        built = store_summary(reading.connection_id, patient_id, names)
    return respond(
        request, summaries.latest_results(built, "store", tenant, query.category, query.code)
    )


@router.get(
    "/tenants/{tenant}/patients/{patient_id}/medications",
    response={200: schemas.MedicationsOut, 304: None, **ERRORS},
    url_name="tenant-medications",
    openapi_extra=_needs(MEDICATIONS),
)
def medications(
    request: HttpRequest, tenant: str, patient_id: str, query: Query[schemas.MedicationsQuery]
) -> HttpResponse:
    """Current medications with their status from the store (scope `medications.read`)."""
    names = ("medications",)
    with _reading(request, MEDICATIONS, tenant, "api:medications", patient_id, names) as reading:
        built = store_summary(reading.connection_id, patient_id, names)
    return respond(request, summaries.medications(built, "store", tenant, query.status))
