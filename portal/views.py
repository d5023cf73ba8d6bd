"""Pages a clinician or patient sees. Every launch page lives under its opaque handle
(`/l/<handle>/...`) and renders that launch's patient only, so two charts in two tabs of one
browser stay apart through reloads and back navigation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.charts import line_chart
from smart.fhir_ids import checked_id, is_fhir_id
from smartapp import style_hints, tasks
from smartapp.launches import pages as launches
from smartapp.middleware import allow_framing
from smartapp.models import EhrConnection, Launch
from smartapp.summary import observations
from smartapp.summary import sections as registry
from smartapp.summary import service as summary_service
from smartapp.summary.codes import date_of
from smartapp.summary.contract import Demographics, Section
from smartapp.summary.demographics import patient_name
from smartapp.summary.observations import VITAL_KINDS
from smartapp.summary.presentation import date_text


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    connections = EhrConnection.objects.filter(enabled=True)
    return render(request, "portal/home.html", {"connections": connections})


def _launch(request: HttpRequest, handle: str) -> Launch:
    launch = launches.launch_for(handle, request.COOKIES)
    allow_framing(request, launch.connection.frame_origins)
    return launch


def _age(retrieved_at: str | None) -> str:
    if not retrieved_at:
        return ""
    seconds = int((timezone.now() - datetime.fromisoformat(retrieved_at)).total_seconds())
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''} ago"


def _summary(request: HttpRequest, launch: Launch, only: tuple[str, ...] | None = None) -> Any:
    refresh = request.GET.get("refresh") == "1"
    built = summary_service.build_summary(launch, refresh=refresh, only=only)
    return built, {name: _age(section.retrieved_at) for name, section in built.sections.items()}


@dataclass(frozen=True)
class Card:
    """One section's card on the summary: the rows it shows of how many ("N of M")."""

    spec: registry.SectionSpec
    section: Section
    age: str
    rows: tuple[Any, ...]

    @property
    def shown(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        return len(self.section.items)


def _card(spec: registry.SectionSpec, section: Section, age: str) -> Card:
    limit = spec.card_limit
    return Card(spec, section, age, section.items if limit is None else section.items[:limit])


def _demographics(section: Section) -> Demographics | None:
    return section.items[0] if section.items else None


@never_cache
@require_GET
def summary(request: HttpRequest, handle: str) -> HttpResponse:
    launch = _launch(request, handle)
    if not launch.patient_id:
        return HttpResponseRedirect(reverse("portal:patient-search", args=[handle]))
    built, ages = _summary(request, launch)
    sections = built.sections
    context = {
        "launch": launch,
        "summary": built,
        "sections": sections,
        "ages": ages,
        "demographics": _demographics(sections["demographics"]),
        "vital_kinds": VITAL_KINDS,
        # Each section's card, in the registry's order.
        "cards": [_card(spec, sections[spec.name], ages[spec.name]) for spec in registry.SECTIONS],
    }
    return render(request, "portal/summary.html", context)


def _patient_age(request: HttpRequest, launch: Launch) -> int | None:
    """The age for the adult vital-sign ranges on a drill-down (the demographics section,
    usually from the cache)."""
    built, _ = _summary(request, launch, only=("demographics",))
    demographics = _demographics(built.sections["demographics"])
    return demographics.age if demographics else None


def _page(request: HttpRequest, items: Sequence[Any], per_page: int = 20) -> Any:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


@never_cache
@require_GET
def vital_history(request: HttpRequest, handle: str, kind: str) -> HttpResponse:
    launch = _launch(request, handle)
    if kind not in VITAL_KINDS:
        raise Http404
    label, codes = VITAL_KINDS[kind]
    found = summary_service.fetch_observations(
        launch, code=",".join(f"http://loinc.org|{c}" for c in codes), _sort="-date", _count="100"
    )
    readings = observations.vital_history(found.models, kind, _patient_age(request, launch))
    oldest_first = list(reversed(readings))
    if kind == "blood-pressure":
        series = {
            "systolic": [r.source_value.split("/")[0] for r in oldest_first],
            "diastolic": [r.source_value.split("/")[1] for r in oldest_first],
        }
    else:
        series = {label: [r.source_value for r in oldest_first]}
    chart = line_chart([r.date or "" for r in oldest_first], series)
    return render(
        request,
        "portal/vital_history.html",
        {
            "launch": launch,
            "label": label,
            "page": _page(request, readings),
            "chart": chart,
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )


@never_cache
@require_GET
def lab_history(request: HttpRequest, handle: str) -> HttpResponse:
    launch = _launch(request, handle)
    system, _, code = request.GET.get("code", "").partition("|")
    if not system or not code:
        raise Http404
    found = summary_service.fetch_observations(
        launch, code=f"{system}|{code}", _sort="-date", _count="100"
    )
    results = observations.lab_history(found.models, system, code)
    label = results[0].concept.label if results else code
    return render(
        request,
        "portal/lab_history.html",
        {
            "launch": launch,
            "label": label,
            "page": _page(request, results),
            "code": {"system": system, "code": code},
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )


@never_cache
@require_GET
def section_list(request: HttpRequest, handle: str, name: str) -> HttpResponse:
    """A section's whole list (the rows its card leaves out too), paginated, with codes."""
    if name not in registry.listed_sections():
        raise Http404
    launch = _launch(request, handle)
    built, ages = _summary(request, launch, only=(name,))
    section = built.sections[name]
    return render(
        request,
        "portal/section_list.html",
        {
            "launch": launch,
            "spec": registry.spec_for(name),
            "table": f"portal/tables/{name}.html",
            "section": section,
            "age": ages[name],
            "page": _page(request, section.items),
        },
    )


@require_GET
def style(request: HttpRequest, handle: str) -> HttpResponse:
    """The EHR's style hints as CSS custom properties (smartapp/style_hints.py)."""
    launch = _launch(request, handle)
    css = style_hints.stylesheet_for(launch)
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest, handle: str) -> HttpResponse:
    """Provider launches without patient context: find and pick a patient (Patient?name=)."""
    launch = _launch(request, handle)
    if request.method == "POST":
        # The picked id goes into the EHR's URL path: the FHIR id grammar first (a 400).
        launches.choose_patient(launch, checked_id(request.POST.get("patient", "")))
        tasks.queue_warm_up(launch)
        return HttpResponseRedirect(reverse("portal:summary", args=[handle]), status=303)
    name = request.GET.get("name", "").strip()[:100]
    results = []
    if name:
        session = summary_service.drilldown_session(launch)
        found = session.search("Patient", {"name": name, "_count": "20"})
        for patient in found.models:
            if not is_fhir_id(patient.id):
                continue  # could not be opened: its id cannot go into a URL
            results.append(
                {
                    "id": patient.id,
                    "name": patient_name(patient),
                    "birth_date": date_text(date_of(patient.birthDate)) or "",
                }
            )
    return render(
        request, "portal/patient_search.html", {"launch": launch, "name": name, "results": results}
    )


def _signed_out_redirect(request: HttpRequest, ended: Sequence[Launch]) -> HttpResponse:
    """303 to the signed-out page, which keeps the framing policy of the launches it ended
    (inside the EHR's iframe it would otherwise be a broken frame). Their cookies stay, so a
    tab reloaded on an ended launch says "you have signed out", not "not found"."""
    slugs = sorted({launch.connection.slug for launch in ended})
    allow_framing(request, launches.frame_origins_of(slugs))
    query = "?" + urlencode({"ehr": slugs}, doseq=True) if slugs else ""
    return HttpResponseRedirect(reverse("portal:signed-out") + query, status=303)


@require_POST
def sign_out(request: HttpRequest, handle: str) -> HttpResponse:
    """Sign out of this launch: tokens revoked at the EHR and deleted, launch ended."""
    launch = _launch(request, handle)
    launches.sign_out(launch)
    return _signed_out_redirect(request, [launch])


@require_POST
def sign_out_all(request: HttpRequest) -> HttpResponse:
    """Sign out of every launch in this browser."""
    return _signed_out_redirect(request, launches.sign_out_all(request.COOKIES))


@never_cache
@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    # Framed as the ended launches were: `ehr` names their connections (no secret: it only
    # lets those EHRs' own origins frame this page, which holds nothing but a link).
    allow_framing(request, launches.frame_origins_of(request.GET.getlist("ehr")[:20]))
    return render(request, "portal/signed_out.html")
