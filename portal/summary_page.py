"""The summary page, streamed: the shell first, each section as it arrives.

The shell (app header, patient line, every section's card or its placeholder) is rendered and
sent before any FHIR call has to finish, so the time to first byte does not depend on the EHR.
Sections from the cache (or not shared) are in the shell already; each of the others follows
in its own chunk as soon as it is built, and one that misses the summary budget arrives as
"took too long" with its own "try again", never holding the others. A small script from our
own origin (`static/js/summary.js`) moves each arrival into its placeholder, so the page reads
in the registry's order; without scripts, CSS hides a placeholder once its section is there.

Layout and wording rules are in docs/pages.md; the streamed markup is one template rendered
once, cut at ARRIVALS (autoescaping means no EHR text can contain that comment).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.journey import Journey
from smart.errors import GrantLost
from smart.scopes import LaunchKind
from smartapp.memo import Memo
from smartapp.models import Launch
from smartapp.summary import sections as registry
from smartapp.summary.contract import Demographics, Section, SectionStatus
from smartapp.summary.observations import VITAL_KINDS
from smartapp.summary.service import SummaryRun

log = logging.getLogger(__name__)

ARRIVALS = "<!-- arrivals -->"
# A section fetched more than this long before the page is shown says how old it is.
STALE_AFTER = timedelta(minutes=1)

# Rendered cards (SummaryPage.card_html): a warm page's cards cost a lookup, not a render.
_cards: Memo[tuple[Section, str]] = Memo(size=1024, ttl_s=120)

# Patient-facing titles (standalone patient launches); the clinical title is one tap away.
PATIENT_TITLES: Mapping[str, Any] = {
    "demographics": _("About you"),
    "problems": _("Your health problems"),
    "medications": _("Your medicines"),
    "allergies": _("Your allergies"),
    "immunizations": _("Your vaccinations"),
    "vitals": _("Your latest measurements"),
    "labs": _("Your test results"),
    "encounters": _("Your visits"),
    "documents": _("Your notes and documents"),
}


@dataclass(frozen=True)
class Card:
    """One section's card on the summary: the rows it shows of how many ("N of M"), its title
    for this audience and its age when it differs from the page's."""

    spec: registry.SectionSpec
    section: Section
    age: str
    rows: tuple[Any, ...]
    title: str
    clinical_title: str | None  # shown one tap away when `title` is the patient-facing one

    @property
    def shown(self) -> int:
        return len(self.rows)

    @property
    def total(self) -> int:
        return len(self.section.items)


def stale_age(section: Section, now: datetime) -> str:
    """ "5 minutes ago" for a section fetched before this page (from the cache), else ""."""
    if not section.retrieved_at:
        return ""
    elapsed = now - datetime.fromisoformat(section.retrieved_at)
    if elapsed < STALE_AFTER:
        return ""
    minutes = int(elapsed.total_seconds() // 60)
    if minutes < 120:
        return str(_("%(n)d minutes ago") % {"n": minutes})
    return str(_("%(n)d hours ago") % {"n": minutes // 60})


def ordered_rows(name: str, items: tuple[Any, ...]) -> tuple[Any, ...]:
    """Abnormal lab results first (stable: newest first within each group)."""
    if name == "labs":
        return tuple(sorted(items, key=lambda result: not getattr(result, "abnormal", False)))
    return items


def card_for(section: Section, *, patient_facing: bool, now: datetime) -> Card:
    spec = registry.spec_for(section.name)
    items = ordered_rows(section.name, section.items)
    rows = items if spec.card_limit is None else items[: spec.card_limit]
    title = PATIENT_TITLES.get(spec.name) if patient_facing else None
    return Card(
        spec,
        section,
        stale_age(section, now),
        rows,
        str(title) if title else gettext(spec.title),
        gettext(spec.title) if title else None,
    )


def _demographics(section: Section | None) -> Demographics | None:
    return section.items[0] if section is not None and section.items else None


class SummaryPage:
    """One streamed summary page for a started SummaryRun."""

    def __init__(
        self, request: HttpRequest, launch: Launch, run: SummaryRun, journey: Journey
    ) -> None:
        self.request = request
        self.launch = launch
        self.run = run
        self.journey = journey
        self.now = timezone.now()
        self.patient_facing = launch.kind == LaunchKind.PATIENT
        get_token(request)  # the sign-out form's CSRF cookie goes out with the headers
        # The stream renders after the view has returned: keep the request's language.
        self.language = translation.get_language()
        # The shell is rendered now, inside the view: a failure here is an ordinary error
        # page (SmartErrorMiddleware, 500.html), never a stream cut short.
        self.top, self.bottom = self.shell()

    def _context(self, **extra: Any) -> dict[str, Any]:
        return {
            "launch": self.launch,
            "vital_kinds": VITAL_KINDS,
            "patient_facing": self.patient_facing,
            "on_summary": True,  # the patient line shows only if the EHR wants a banner
            "shown_at": self.now,
            **extra,
        }

    def _card(self, section: Section) -> Card:
        return card_for(section, patient_facing=self.patient_facing, now=self.now)

    def card_html(self, section: Section, *, remember: bool = True) -> str:
        """One section's card, rendered, or the same card rendered earlier by this process.

        The memo's key names all the card depends on: the launch (its links carry the handle),
        the section (the very object `section_cache`'s decoded memo holds, checked by
        identity, so a section fetched again is a new key), the language, the age the card
        states and the day (readings say how long ago they were)."""
        card = self._card(section)
        key = (
            self.launch.handle,
            section.name,
            id(section),
            translation.get_language(),
            card.age,
            timezone.localdate(),
        )
        hit = _cards.get(key) if remember else None
        if hit is not None and hit[0] is section:
            return hit[1]
        context = self._context(card=card, spec=card.spec, section=section, age=card.age)
        context["demographics"] = _demographics(section) if section.name == "demographics" else None
        # No request: a card depends on nothing of it (no CSRF token, no user), so a card
        # memoised from one request is exactly what another would render.
        html = render_to_string(card.spec.template, context)
        if remember:
            _cards.put(key, (section, html))
        return html

    def shell(self) -> tuple[str, str]:
        """The page before and after the arrivals (rendered now, before the stream starts)."""
        known = self.run.known
        slots = []
        for name in self.run.order:
            spec = registry.spec_for(name)
            # Not-shared sections are new objects on every page: nothing to remember.
            card = (
                self.card_html(known[name], remember=known[name].status != SectionStatus.NOT_SHARED)
                if name in known
                else None
            )
            title = PATIENT_TITLES.get(name) if self.patient_facing else None
            slots.append((card, spec, str(title) if title else gettext(spec.title)))
        html = render_to_string(
            "portal/summary.html",
            self._context(
                slots=slots,
                patient=_demographics(known.get("demographics")),
                patient_pending="demographics" in self.run.pending,
                arrivals_marker=ARRIVALS,
            ),
            self.request,
        )
        top, _marker, bottom = html.partition(ARRIVALS)
        return top, bottom

    def arrival(self, section: Section) -> str:
        # A fresh section is never the object a later page's cache read decodes: not kept.
        context = self._context(section=section, card_html=self.card_html(section, remember=False))
        if section.name == "demographics":
            context["patient"] = _demographics(section)
        return render_to_string("portal/_arrival.html", context, self.request)

    def stream(self) -> Iterator[str]:
        """The shell, each arrival, the end of the page. Whatever ends the stream (the last
        section, a client gone, a failure) cancels what the run has not started and finishes
        the journey: its PHI access record is written then, with how the page ended."""
        outcome: str | None = "ended"  # until the page is whole: a client gone mid-way
        try:
            yield self.top
            self.journey.sections_shown(self.run.known.values())
            try:
                for section in self.run.arrivals():
                    with translation.override(self.language):
                        chunk = self.arrival(section)
                    yield chunk
                    self.journey.sections_shown([section])
                outcome = None  # success or partial, from the sections shown
            except GrantLost as error:
                outcome = f"failed:{error.code}"
                yield self._ended(grant_lost=True)
            except Exception:  # the headers are gone: say so on the page, never a cut stream
                log.exception("summary stream failed")
                outcome = "failed:error"
                yield self._ended(grant_lost=False)
            yield self.bottom
        finally:
            self.run.cancel()
            self.journey.finish(outcome)

    def _ended(self, *, grant_lost: bool) -> str:
        context = self._context(grant_lost=grant_lost)
        with translation.override(self.language):
            return render_to_string("portal/_stream_ended.html", context, self.request)
