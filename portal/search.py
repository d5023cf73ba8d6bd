"""QA and provider launches without patient context: find and pick a patient.

Paging follows the EHR's `Bundle.link[next]`, but never through our own pages' links: page n
of ours is the search run again from its first page, its `next` links followed by
`SmartSession.search_all` (which follows a link only within the connection's FHIR base, and
stops at a foreign one). So the browser only ever sends a page number, bounded here; no EHR
URL, cursor or `_getpages` token reaches a link, a form or the browser's history, and nothing
the browser sends can point the token anywhere. The cost is n EHR requests for page n, bounded
by MAX_PAGES; past that, or when the EHR's next link cannot be followed, the page says "more
than N match: refine your search" rather than stopping silently.

The last search of a launch is remembered server-side (encrypted, short-lived), so "Back to
patient search" from the summary returns to the same results page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from portal.common import launch_for
from smart.fhir_ids import checked_id, is_fhir_id
from smartapp import audit
from smartapp.fhir.search import SearchResult
from smartapp.fhir.session import SmartSession
from smartapp.launches import pages as launches
from smartapp.models import Launch
from smartapp.secretbox import DecryptionError, secret_box
from smartapp.summary import service as summary_service
from smartapp.summary.contract import Demographics
from smartapp.summary.demographics import demographics

PER_PAGE = 20  # rows on one page of ours
EHR_COUNT = PER_PAGE  # the `_count` asked of the EHR (it may send fewer per page)
MAX_PAGES = 10  # pages of ours; past the last, "refine your search"
MAX_EHR_PAGES = 30  # EHR pages fetched for one page of ours, when its pages are small
REMEMBER_S = 30 * 60  # how long "back to search" finds the last search
SEX = {"male": _("Male"), "female": _("Female"), "other": _("Other"), "unknown": _("Unknown")}


@dataclass(frozen=True)
class Match:
    """One patient in the results: what tells two namesakes apart, and nothing more."""

    id: str
    about: Demographics

    @property
    def sex(self) -> str:
        return str(SEX.get(self.about.sex or "", "")) if self.about.sex else ""


@dataclass(frozen=True)
class Results:
    rows: tuple[Match, ...]
    page: int
    has_next: bool
    more_than: int | None  # paging stops here: "more than N match: refine your search"
    left_out: int  # entries the EHR sent that could not be shown


def page_number(raw: str | None) -> int:
    """`?page=`, within 1..MAX_PAGES (anything else is the first page)."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return number if 1 <= number <= MAX_PAGES else 1


def _fetch(session: SmartSession, name: str, page: int) -> SearchResult:
    """The EHR's pages up to our page `page`: n pages when the EHR honours `_count`; more,
    within MAX_EHR_PAGES, when it sends smaller pages than asked."""
    params = {"name": name, "_count": str(EHR_COUNT)}
    found = session.search_all("Patient", params, max_pages=page)
    wanted = page * PER_PAGE
    if found.truncated and 0 < len(found.models) < wanted:
        size = max(1, len(found.models) // page)
        more = min(MAX_EHR_PAGES, -(-wanted // size))
        if more > page:
            found = session.search_all("Patient", params, max_pages=more)
    return found


def find(launch: Launch, name: str, page: int) -> Results:
    found = _fetch(summary_service.drilldown_session(launch), name, page)
    models = found.models
    shown = models[(page - 1) * PER_PAGE : page * PER_PAGE]
    today = date.today()
    # An id that is not FHIR's could not be opened: it cannot go into a URL.
    rows = tuple(Match(p.id, demographics(p, today)) for p in shown if is_fhir_id(p.id))
    more = found.truncated or len(models) > page * PER_PAGE
    reachable = len(models) >= page * PER_PAGE  # the EHR gave every row up to this page
    has_next = more and reachable and page < MAX_PAGES
    more_than = len(models) if more and not has_next else None
    return Results(rows, page, has_next, more_than, found.dropped + len(shown) - len(rows))


def _memory_key(launch: Launch) -> str:
    return f"portal:last-search:{launch.pk}"


def remember(launch: Launch, name: str, page: int) -> None:
    key = _memory_key(launch)
    body = json.dumps({"name": name, "page": page})
    cache.set(key, secret_box().encrypt(body, bound_to=key), REMEMBER_S)


def recall(launch: Launch) -> tuple[str, int]:
    """The launch's last search (name, page), or ("", 1)."""
    key = _memory_key(launch)
    sealed = cache.get(key)
    if sealed is None:
        return "", 1
    try:
        last = json.loads(secret_box().decrypt(sealed, bound_to=key))
        return str(last["name"])[:100], page_number(str(last["page"]))
    except (DecryptionError, ValueError, KeyError, TypeError):
        return "", 1


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
    page = page_number(request.GET.get("page"))
    if not name and "name" not in request.GET:
        name, page = recall(launch)  # back to the search from the patient's summary
    results = None
    if name:
        with audit.accessed(request, launch, "patient-search"):
            results = find(launch, name, page)
        remember(launch, name, page)
    context = {"launch": launch, "name": name, "results": results, "per_page": PER_PAGE}
    return render(request, "portal/patient_search.html", context)
