"""Pages a clinician or patient sees. Every launch page lives under its opaque handle
(`/l/<handle>/...`) and renders that launch's patient only, so two charts in two tabs of one
browser stay apart through reloads and back navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from smartapp import fhir_client, launches, vault
from smartapp.middleware import allow_framing
from smartapp.models import EhrConnection, Launch
from smartapp.scopes import SUMMARY_TYPES, GrantedScopes


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    connections = EhrConnection.objects.filter(enabled=True)
    return render(request, "portal/home.html", {"connections": connections})


def _launch(request: HttpRequest, handle: str) -> Launch:
    launch = launches.launch_for(handle, request.session)
    allow_framing(request, launch.connection.frame_origins)
    return launch


def _display_name(patient: dict[str, Any]) -> str:
    names = patient.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    if official.get("text"):
        return str(official["text"])
    parts = [*official.get("given", []), official.get("family", "")]
    return " ".join(str(part) for part in parts if part) or "(no name recorded)"


@never_cache
@require_GET
def summary(request: HttpRequest, handle: str) -> HttpResponse:
    launch = _launch(request, handle)
    if not launch.patient_id:
        return HttpResponseRedirect(reverse("portal:patient-search", args=[handle]))
    patient = vault.with_access_token(
        launch,
        lambda token: fhir_client.read_patient(launch.connection.iss, token, launch.patient_id),
    )
    granted = GrantedScopes.parse(launch.granted_scope)
    sections = [(rtype, granted.can_read(rtype)) for rtype in SUMMARY_TYPES if rtype != "Patient"]
    context = {
        "launch": launch,
        "patient": {
            "id": launch.patient_id,
            "name": _display_name(patient),
            "birth_date": patient.get("birthDate", ""),
            "gender": patient.get("gender", ""),
        },
        "sections": sections,
    }
    return render(request, "portal/summary.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest, handle: str) -> HttpResponse:
    """Provider launches without patient context: find and pick a patient (Patient?name=)."""
    launch = _launch(request, handle)
    if request.method == "POST":
        launches.choose_patient(launch, request.POST.get("patient", ""))
        return HttpResponseRedirect(reverse("portal:summary", args=[handle]), status=303)
    name = request.GET.get("name", "").strip()[:100]
    results = []
    if name:
        found = vault.with_access_token(
            launch, lambda token: fhir_client.search_patients(launch.connection.iss, token, name)
        )
        for patient in found:
            results.append(
                {
                    "id": patient.get("id", ""),
                    "name": _display_name(patient),
                    "birth_date": patient.get("birthDate", ""),
                }
            )
    return render(
        request, "portal/patient_search.html", {"launch": launch, "name": name, "results": results}
    )


@require_POST
def sign_out(request: HttpRequest, handle: str) -> HttpResponse:
    """Sign out of this launch: tokens revoked at the EHR and deleted, launch ended."""
    launches.sign_out(_launch(request, handle))
    return HttpResponseRedirect(reverse("portal:signed-out"), status=303)


@require_POST
def sign_out_all(request: HttpRequest) -> HttpResponse:
    """Sign out of every launch in this browser."""
    launches.sign_out_all(request.session)
    return HttpResponseRedirect(reverse("portal:signed-out"), status=303)


@never_cache
@require_GET
def signed_out(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/signed_out.html")
