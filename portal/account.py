"""The home page and signing out (of one launch, or of every launch in this browser)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from portal.common import launch_for
from smartapp.clock import clock
from smartapp.launches import pages as launches
from smartapp.middleware import allow_framing
from smartapp.models import EhrConnection, Launch, TokenGrant
from smartapp.summary import cache as section_cache


@dataclass(frozen=True)
class OpenLaunch:
    """One launch active in this browser, as the home page lists it. Only its opaque handle
    goes into a URL; the patient's name is shown when already known (see `_cached_name`)."""

    handle: str
    organisation: str
    kind: str
    started: datetime
    patient: str
    has_patient: bool


def _cached_name(launch: Launch, live: Collection[object]) -> str:
    """The patient's name from the encrypted summary cache, never from the EHR (a home page
    listing 20 launches must not make 20 FHIR calls), and only while the launch's access token
    is unexpired: past that, the grant is proven alive only by a page that refreshes it."""
    if not launch.patient_id or launch.pk not in live:
        return ""
    cached = section_cache.get(section_cache.cache_scope(launch), "demographics")
    return cached.items[0].name if cached is not None and cached.items else ""


def open_launches(request: HttpRequest) -> list[OpenLaunch]:
    active = launches.active_launches(request.COOKIES)
    if not active:
        return []
    live = set(
        TokenGrant.objects.filter(launch__in=active, expires_at__gt=clock().now()).values_list(
            "launch_id", flat=True
        )
    )
    return [
        OpenLaunch(
            handle=launch.handle,
            organisation=launch.connection.name,
            kind=launch.kind,
            started=launch.created,
            patient=_cached_name(launch, live),
            has_patient=bool(launch.patient_id),
        )
        for launch in active
    ]


@never_cache  # what this browser has open: never from a shared cache
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    connections = EhrConnection.objects.filter(enabled=True)
    context = {"connections": connections, "open_launches": open_launches(request)}
    return render(request, "portal/home.html", context)


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
    launch = launch_for(request, handle)
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
