"""Pages a clinician or patient sees. Every launch page lives under its opaque handle
(`/l/<handle>/...`) and renders that launch's patient only, so two charts in two tabs of one
browser stay apart through reloads and back navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.common import launch_for, page_of
from smartapp import style_hints
from smartapp.models import Launch
from smartapp.summary import sections as registry
from smartapp.summary import service as summary_service
from smartapp.summary.contract import Demographics, Section
from smartapp.summary.observations import VITAL_KINDS


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
    launch = launch_for(request, handle)
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


@never_cache
@require_GET
def section_list(request: HttpRequest, handle: str, name: str) -> HttpResponse:
    """A section's whole list (the rows its card leaves out too), paginated, with codes."""
    if name not in registry.listed_sections():
        raise Http404
    launch = launch_for(request, handle)
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
            "page": page_of(request, section.items),
        },
    )


@require_GET
def style(request: HttpRequest, handle: str) -> HttpResponse:
    """The EHR's style hints as CSS custom properties (smartapp/style_hints.py)."""
    launch = launch_for(request, handle)
    css = style_hints.stylesheet_for(launch)
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
