"""The browser's calls (BFF style): the launch's cookie plus `X-CSRF: 1` (api/auth.py).

Everything here reads through the same services as the pages: `launch_for` (the cookie
bound to the launch's row), `build_summary` (the section builders, the encrypted cache, the
vault's single-flight refresh) and the PHI access trail. An EHR token never leaves the server.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router
from pydantic import BaseModel, Field

from api import cursor, schemas, summaries
from api.auth import BrowserCall
from api.cursor import DEFAULT_LIMIT, MAX_LIMIT
from api.http import respond
from api.problems import ApiProblem
from portal import search
from portal.common import patient_demographics
from portal.summary_page import ordered_rows
from portal.views import filtered
from smartapp import audit
from smartapp.launches import pages as launches
from smartapp.models import Launch
from smartapp.summary import sections as registry
from smartapp.summary import service as summary_service

router = Router(auth=BrowserCall(), tags=["Browser (launch session)"])
ERRORS = schemas.ERRORS
# The registry's sections, as the path parameter's enum (the OpenAPI document lists them).
SectionName = StrEnum(  # type: ignore[misc]
    "SectionName", {name: name for name in registry.section_names()}
)


def _launch(request: HttpRequest, handle: str, *, with_patient: bool = True) -> Launch:
    launch = launches.launch_for(handle, request.COOKIES)
    if with_patient and not launch.patient_id:
        raise ApiProblem(
            409, "no_patient", "No patient chosen", "Pick a patient for this launch first."
        )
    return launch


def _live(launch: Launch) -> schemas.LiveLaunch:
    return schemas.LiveLaunch(
        handle=launch.handle,
        connection=launch.connection.slug,
        ehr_name=launch.connection.name,
        kind=launch.kind,
        patient_id=launch.patient_id or None,
        user=launch.fhir_user or None,
        started_at=launch.created,
        ends_at=launch.updated + timedelta(seconds=settings.SESSION_COOKIE_AGE),
        summary_url=reverse("api-v1:launch-summary", args=[launch.handle]),
        sign_out_url=reverse("portal:sign-out", args=[launch.handle]),
    )


@router.get("/session", response={200: schemas.SessionOut, 304: None, **ERRORS})
def session(request: HttpRequest) -> HttpResponse:
    """Who is signed in in this browser: its live launches, when each ends if left idle, and
    where to sign out (like Duende BFF's `/bff/user`). Never a token."""
    live = [_live(launch) for launch in launches.active_launches(request.COOKIES)]
    body = schemas.SessionOut(
        signed_in=bool(live), launches=live, sign_out_url=reverse("portal:sign-out-all")
    )
    return respond(request, body)


@router.get(
    "/launches/{handle}/patient",
    response={200: schemas.PatientLine, 304: None, **ERRORS},
    url_name="launch-patient",
)
def patient_line(request: HttpRequest, handle: str) -> HttpResponse:
    """The patient banner's line for this launch."""
    launch = _launch(request, handle)
    with audit.accessed(request, launch, "api:patient") as access:
        about = patient_demographics(launch)
        access.add_sections(["demographics"])
    shown = schemas.DemographicsOut.model_validate(about) if about else None
    return respond(request, schemas.PatientLine(patient_id=launch.patient_id, demographics=shown))


@router.get(
    "/launches/{handle}/summary",
    response={200: schemas.SummaryOut, 304: None, **ERRORS},
    url_name="launch-summary",
)
def summary(request: HttpRequest, handle: str) -> HttpResponse:
    """The launch patient's whole summary: every section with its status, freshness and
    provenance (the same builders and cache as the summary page)."""
    launch = _launch(request, handle)
    with audit.accessed(request, launch, "api:summary") as access:
        built = summary_service.build_summary(launch)
        access.add_sections(built.sections)
    return respond(request, summaries.summary_out(built, "ehr", launch.connection.slug))


class ListQuery(BaseModel):
    cursor: str | None = Field(None, max_length=500, description="from `page.next_cursor`")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    category: str | None = Field(None, max_length=100, description="documents: a category")
    type: str | None = Field(None, max_length=200, description="documents: a type's label")


@router.get(
    "/launches/{handle}/sections/{name}",
    response={200: schemas.SectionPage, 304: None, **ERRORS},
    url_name="launch-section",
)
def section(
    request: HttpRequest, handle: str, name: SectionName, query: Query[ListQuery]
) -> HttpResponse:
    """One section's whole list, a page at a time, in the full list page's order and with its
    filters."""
    wanted = str(name.value)
    launch = _launch(request, handle)
    with audit.accessed(request, launch, f"api:section:{wanted}") as access:
        built = summary_service.build_summary(launch, only=(wanted,))
        access.add_sections([wanted])
    found = built.sections[wanted]
    filters = {"category": query.category or "", "type": query.type or ""}
    rows, _ = filtered(registry.spec_for(wanted), ordered_rows(wanted, found.items), filters)
    items, following = cursor.page(rows, query.cursor, query.limit, request.path, filters)
    return respond(
        request,
        schemas.SectionPage(
            section=summaries.section_out(found, "ehr", launch.connection.slug, items),  # type: ignore[arg-type]
            page=schemas.Page(next_cursor=following, total=len(rows)),
        ),
    )


@router.get(
    "/launches/{handle}/results",
    response={200: schemas.ResultsOut, 304: None, **ERRORS},
    url_name="launch-results",
)
def results(request: HttpRequest, handle: str, query: Query[schemas.ResultsQuery]) -> HttpResponse:
    """The latest result of each kind (vital signs, laboratory), by category and code."""
    launch = _launch(request, handle)
    with audit.accessed(request, launch, "api:results") as access:
        built = summary_service.build_summary(launch, only=("vitals", "labs"))
        access.add_sections(["vitals", "labs"])
    return respond(
        request,
        summaries.latest_results(built, "ehr", launch.connection.slug, query.category, query.code),
    )


@router.get(
    "/launches/{handle}/medications",
    response={200: schemas.MedicationsOut, 304: None, **ERRORS},
    url_name="launch-medications",
)
def medications(
    request: HttpRequest, handle: str, query: Query[schemas.MedicationsQuery]
) -> HttpResponse:
    """Current medications (orders and patient-reported) with their status."""
    launch = _launch(request, handle)
    with audit.accessed(request, launch, "api:medications") as access:
        built = summary_service.build_summary(launch, only=("medications",))
        access.add_sections(["medications"])
    return respond(
        request, summaries.medications(built, "ehr", launch.connection.slug, query.status)
    )


class SearchQuery(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="part of the patient's name")
    cursor: str | None = Field(None, max_length=500)


@router.get(
    "/launches/{handle}/patients",
    response={200: schemas.PatientList, 304: None, **ERRORS},
    url_name="launch-patients",
)
def patients(request: HttpRequest, handle: str, query: Query[SearchQuery]) -> HttpResponse:
    """Patient search, for provider launches that may choose their patient (Patient?name=),
    a page of the EHR's matches at a time."""
    launch = _launch(request, handle, with_patient=False)
    if not launches.picks_patient(launch):
        raise ApiProblem(
            403, "not_a_provider_launch", "Not a provider launch", "This launch has its patient."
        )
    name = query.name.strip()
    filters = {"name": name}
    number = cursor.decode(query.cursor, request.path, filters) or 1
    with audit.accessed(request, launch, "patient-search"):
        found = search.find(launch, name, number)
    following = cursor.encode(number + 1, request.path, filters) if found.has_next else None
    return respond(
        request,
        schemas.PatientList(
            patients=[
                schemas.PatientMatch(
                    id=row.id, demographics=schemas.DemographicsOut.model_validate(row.about)
                )
                for row in found.rows
            ],
            page=schemas.Page(next_cursor=following, total=None),
        ),
    )
