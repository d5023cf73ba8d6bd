"""QA and provider launches without patient context: find and pick a patient."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.common import launch_for
from smart.fhir_ids import checked_id, is_fhir_id
from smartapp.launches import pages as launches
from smartapp.summary import service as summary_service
from smartapp.summary.codes import date_of
from smartapp.summary.demographics import patient_name
from smartapp.summary.presentation import date_text


@never_cache
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest, handle: str) -> HttpResponse:
    """Provider launches without patient context: find and pick a patient (Patient?name=)."""
    launch = launch_for(request, handle)
    if request.method == "POST":
        # The picked id goes into the EHR's URL path: the FHIR id grammar first (a 400).
        launches.choose_patient(launch, checked_id(request.POST.get("patient", "")))
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
