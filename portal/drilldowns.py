"""Drill-downs from the summary: one vital sign's history, one lab test's history. Each page's
FHIR calls end with DRILLDOWN_BUDGET_S (`service.drilldown_session`)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.charts import line_chart
from portal.common import launch_for, page_of, patient_demographics
from smartapp.models import Launch
from smartapp.summary import observations
from smartapp.summary import service as summary_service
from smartapp.summary.observations import VITAL_KINDS


def _patient_age(launch: Launch) -> int | None:
    """The age for the adult vital-sign ranges (the demographics section, usually cached)."""
    demographics = patient_demographics(launch)
    return demographics.age if demographics else None


@never_cache
@require_GET
def vital_history(request: HttpRequest, handle: str, kind: str) -> HttpResponse:
    launch = launch_for(request, handle)
    if kind not in VITAL_KINDS:
        raise Http404
    label, codes = VITAL_KINDS[kind]
    found = summary_service.fetch_observations(
        launch, code=",".join(f"http://loinc.org|{c}" for c in codes), _sort="-date", _count="100"
    )
    readings = observations.vital_history(found.models, kind, _patient_age(launch))
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
            "page": page_of(request, readings),
            "chart": chart,
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )


@never_cache
@require_GET
def lab_history(request: HttpRequest, handle: str) -> HttpResponse:
    launch = launch_for(request, handle)
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
            "page": page_of(request, results),
            "code": {"system": system, "code": code},
            "truncated": found.truncated,
            "partial": found.partial,
        },
    )
