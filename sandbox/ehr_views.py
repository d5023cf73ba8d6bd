"""The sandbox playing the EHR around the app: its "open app" button, a chart page that
embeds the app in an iframe, the SMART style document, and counters for tests.
"""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from sandbox import stats
from sandbox.clients import DEMO_CLIENT_ID
from sandbox.fhir_store import get_store
from sandbox.launch_context import new_launch_id
from sandbox.models import Client, Launch
from sandbox.people import DEFAULT_PRACTITIONER, display_name
from sandbox.site import SandboxSite
from sandbox.view_helpers import error_page, with_site


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request, "sandbox/index.html", {"origin": f"{request.scheme}://{request.get_host()}"}
    )


@never_cache
@require_GET
@with_site
def ehr_launch(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """The EHR's "open app" button: make a launch context, send the browser to the app."""
    client = Client.objects.filter(client_id=request.GET.get("client_id", "")).first()
    if client is None or not client.launch_uri:
        return error_page(
            request, "Unknown app", "No registered app with a launch URL has that client_id."
        )
    store = get_store()
    patient = request.GET.get("patient") or site.options.patient or ""
    if patient and store.get("Patient", patient) is None:
        return error_page(request, "Unknown patient", "Pick a patient from the chart list.")
    user = request.GET.get("user") or site.options.user or DEFAULT_PRACTITIONER
    user_ref = user if "/" in user else f"Practitioner/{user}"
    launch = Launch.objects.create(
        launch_id=new_launch_id(),
        base=site.fhir_base,
        client_id=client.client_id,
        patient=patient,
        encounter=request.GET.get("encounter") or site.options.encounter or "",
        user_ref=user_ref,
    )
    target = add_params_to_uri(
        client.launch_uri, {"iss": site.fhir_base, "launch": launch.launch_id}
    )
    return HttpResponseRedirect(target)


@require_GET
@with_site
def chart(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """A patient chart with the app embedded, as EHRs show SMART apps (cross-site iframe)."""
    store = get_store()
    patient_id = request.GET.get("patient")
    client_id = request.GET.get("client_id") or getattr(
        settings, "SANDBOX_DEMO_CLIENT_ID", DEMO_CLIENT_ID
    )
    context: dict[str, Any] = {
        "patients": [
            (r["id"], display_name(r), r.get("birthDate", "")) for r in store.search("Patient", [])
        ],
        "client_id": client_id,
        "site": site,
    }
    if patient_id:
        patient = store.get("Patient", patient_id)
        if patient is None:
            return error_page(
                request, "Unknown patient", "Pick a patient from the list.", status=404
            )
        context["patient"] = {
            "id": patient_id,
            "name": display_name(patient),
            "birth": patient.get("birthDate", ""),
        }
        context["app_src"] = add_params_to_uri(
            f"{site.prefix}/ehr/launch",
            {
                "client_id": client_id,
                "patient": patient_id,
                "user": request.GET.get("user", DEFAULT_PRACTITIONER),
            },
        )
    return render(request, "sandbox/chart.html", context)


@require_GET
def smart_style(request: HttpRequest) -> JsonResponse:
    """SMART "context-style": hints an embedded app may use to look at home in the EHR."""
    return JsonResponse(
        {
            "color_background": "#f6f8fa",
            "color_error": "#b3261e",
            "color_highlight": "#0b5cad",
            "color_modal_backdrop": "",
            "color_success": "#1a7f37",
            "color_text": "#1b1f24",
            "dim_border_radius": "4px",
            "dim_font_size": "15px",
            "dim_spacing_size": "16px",
            "font_family_body": "system-ui, sans-serif",
            "font_family_heading": "system-ui, sans-serif",
        }
    )


@never_cache
@require_GET
def stats_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(stats.snapshot())


@csrf_exempt
@require_POST
def stats_reset(request: HttpRequest) -> JsonResponse:
    stats.reset()
    return JsonResponse(stats.snapshot())
