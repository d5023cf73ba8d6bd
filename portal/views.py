"""Pages a clinician or patient sees. Every launch page lives under its opaque handle
(`/l/<handle>/...`) and renders that launch's patient only, so two charts in two tabs of one
browser stay apart through reloads and back navigation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.common import launch_for, page_of, patient_demographics
from portal.journey import Journey, failure
from portal.summary_page import SummaryPage, card_for, ordered_rows
from smartapp import audit, style_hints
from smartapp.summary import sections as registry
from smartapp.summary import service as summary_service
from smartapp.summary.service import SummaryRun


@dataclass(frozen=True)
class ListFilter:
    """One filter of a section's full list: its query parameter, the values the items hold
    and the one chosen ("" for all)."""

    name: str
    choices: tuple[str, ...]
    chosen: str


def _values(item: Any, attribute: str) -> tuple[str, ...]:
    value = getattr(item, attribute, None)
    return tuple(value) if isinstance(value, tuple) else (str(value),) if value else ()


def filtered(
    spec: registry.SectionSpec, items: tuple[Any, ...], query: Mapping[str, str]
) -> tuple[tuple[Any, ...], tuple[ListFilter, ...]]:
    """The items that hold every chosen value, and the filters to offer (a chosen value that
    no item holds is ignored rather than emptying the list)."""
    filters = []
    for name, attribute in spec.filters:
        choices = tuple(sorted({v for item in items for v in _values(item, attribute)}))
        chosen = query.get(name, "")
        chosen = chosen if chosen in choices else ""
        filters.append(ListFilter(name, choices, chosen))
        if chosen:
            items = tuple(item for item in items if chosen in _values(item, attribute))
    return items, tuple(filters)


def _refresh(request: HttpRequest) -> bool | frozenset[str]:
    """`?refresh=1` fetches every section afresh; `?refresh=<section>` only that one."""
    wanted = request.GET.get("refresh", "")
    if wanted == "1":
        return True
    return frozenset({wanted}) if wanted in registry.section_names() else False


@never_cache
@require_GET
def summary(request: HttpRequest, handle: str) -> HttpResponse | StreamingHttpResponse:
    """The patient summary, streamed: the shell at once, each section as it arrives
    (portal/summary_page.py)."""
    launch = launch_for(request, handle)
    if not launch.patient_id:
        return HttpResponseRedirect(reverse("portal:patient-search", args=[handle]))
    journey = Journey.begin(request, launch, "summary")
    run: SummaryRun | None = None
    try:
        with journey.inside():
            run = summary_service.start_summary(launch, refresh=_refresh(request))
        page = SummaryPage(request, launch, run, journey)  # renders the shell
    except BaseException as error:  # the page ends here: its record says how
        if run is not None:
            run.cancel()
        journey.finish(failure(error))
        raise
    response = StreamingHttpResponse(page.stream(), content_type="text/html; charset=utf-8")
    # Proxies (nginx) would otherwise hold the shell back until the last section is in.
    response["X-Accel-Buffering"] = "no"
    return response


@never_cache
@require_GET
def section_list(request: HttpRequest, handle: str, name: str) -> HttpResponse:
    """A section's whole list (the rows its card leaves out too), paginated, with codes."""
    if name not in registry.listed_sections():
        raise Http404
    launch = launch_for(request, handle)
    with audit.accessed(request, launch, f"section-list:{name}") as access:
        built = summary_service.build_summary(launch, refresh=_refresh(request), only=(name,))
        access.add_sections([name])
        patient = patient_demographics(launch)
    card = card_for(built.sections[name], patient_facing=False, now=timezone.now())
    rows, filters = filtered(card.spec, ordered_rows(name, card.section.items), request.GET)
    return render(
        request,
        "portal/section_list.html",
        {
            "launch": launch,
            "patient": patient,
            "spec": card.spec,
            "table": f"portal/tables/{name}.html",
            "section": card.section,
            "age": card.age,
            "page": page_of(request, rows),
            "filters": filters,
            "shown_total": len(rows),
            "narrowed": any(f.chosen for f in filters),
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
