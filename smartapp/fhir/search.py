"""Search-type interactions: follow `Bundle.link[next]` within page and entry caps.

Entries with `search.mode = include` (from `_include`) come back apart from the matches, keyed
by `Type/id`. What the EHR sends is input to check, and whatever is left out says so, so a
section can say "partial" rather than silently show less:

- a `next` link outside the connection's FHIR base is not followed (the bearer token would go
  with it: `smart.url_policy.is_within_base`), and the result is `truncated`;
- a page over FHIR_MAX_RESPONSE_BYTES ends the search there (`truncated`);
- in a search for one patient (`patient`/`subject`, or `Patient?_id=`), a match that is not
  provably about that patient is left out and counted (`dropped`, `other_patient`): a
  confused or hostile EHR must not put someone else's record on this patient's page;
- malformed entries, and entries whose structure is not FHIR's, are left out (`dropped`).

Warnings say how many and which rule, never a URL or an id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from smart.fhir_ids import about_patient, is_fhir_id
from smart.url_policy import is_within_base
from smartapp.fhir.resources import FhirModel, parse
from smartapp.fhir.transport import (
    Deadline,
    FhirCall,
    FhirMalformed,
    FhirTooLarge,
    Json,
    get_json,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchResult:
    resources: tuple[Json, ...]
    included: Mapping[str, Json]  # "Type/id" -> resource (from _include)
    truncated: bool  # more existed than was fetched: the caps, a refused link, a page too large
    dropped: int  # entries left out: malformed, or not about the patient searched for
    other_patient: int = 0  # of those, entries about someone else
    # The same matches and includes as fhirclient R4 models, parsed once while checking them.
    models: tuple[FhirModel, ...] = ()
    included_models: Mapping[str, FhirModel] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return self.truncated or self.dropped > 0


NOTHING = SearchResult((), {}, False, 0)


def _objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects of a FHIR array (anything else in it, or instead of it, is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _next_link(bundle: Json) -> str | None:
    for link in _objects(bundle.get("link")):
        if link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None


def searched_patient(resource_type: str, params: Mapping[str, str]) -> str | None:
    """The one patient a search is about (its compartment), when it names exactly one."""
    names = ("_id",) if resource_type == "Patient" else ("patient", "subject")
    for name in names:
        value = str(params.get(name, "")).removeprefix("Patient/")
        if is_fhir_id(value):
            return value
    return None


@dataclass
class _Pages:
    """What the pages of one search add up to (mutable while paging)."""

    resource_type: str
    base: str
    patient: str | None
    matches: list[Json]
    included: dict[str, Json]
    dropped: int = 0
    other_patient: int = 0
    models: list[FhirModel] = field(default_factory=list)
    included_models: dict[str, FhirModel] = field(default_factory=dict)

    def collect(self, bundle: Json) -> None:
        """Sort one page's entries into matches and includes, leaving out what must be."""
        entries = bundle.get("entry")
        for entry in entries if isinstance(entries, list) else []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            model = parse(resource)
            if model is None:
                self.dropped += 1
                continue
            assert isinstance(entry, dict)
            assert isinstance(resource, dict)
            search = entry.get("search")
            mode = search.get("mode") if isinstance(search, dict) else None
            if mode == "include":
                key = f"{resource['resourceType']}/{resource.get('id')}"
                self.included[key] = resource
                self.included_models[key] = model
            elif resource.get("resourceType") == self.resource_type:
                if self.patient is not None and not about_patient(
                    resource, self.patient, self.base
                ):
                    self.dropped += 1
                    self.other_patient += 1
                    continue
                self.matches.append(resource)
                self.models.append(model)


def _stop(why: str, resource_type: str) -> None:
    log.warning("FHIR search stopped early", extra={"why": why, "resource_type": resource_type})


def search(
    base: str,
    access_token: str,
    resource_type: str,
    params: Mapping[str, str],
    *,
    max_pages: int | None = None,
    max_entries: int | None = None,
    deadline: Deadline | None = None,
) -> SearchResult:
    """`{base}/{type}?params`, following `next` links within the caps and the base."""
    max_pages = max_pages or int(getattr(settings, "FHIR_MAX_PAGES", 5))
    max_entries = max_entries or int(getattr(settings, "FHIR_MAX_ENTRIES", 1000))
    pages = _Pages(resource_type, base, searched_patient(resource_type, params), [], {})
    url: str | None = f"{base}/{resource_type}"
    query: Mapping[str, str] | None = params
    count, truncated = 0, False
    while url:
        try:
            call = FhirCall(resource_type, "search-type" if count == 0 else "search-page")
            bundle = get_json(base, url, access_token, query, deadline=deadline, call=call)
        except FhirTooLarge:
            _stop("a page over FHIR_MAX_RESPONSE_BYTES", resource_type)
            truncated = True
            break
        if bundle.get("resourceType") != "Bundle":
            raise FhirMalformed("a search answered with something other than a Bundle")
        count += 1
        pages.collect(bundle)
        following = _next_link(bundle)
        if following and (count >= max_pages or len(pages.matches) >= max_entries):
            truncated = True
            break
        if following and not is_within_base(following, base):
            _stop("a next link outside the FHIR base (not followed)", resource_type)
            truncated = True
            break
        url, query = following, None
    if pages.other_patient:
        log.warning(
            "FHIR search returned entries about another patient; left out",
            extra={"resource_type": resource_type, "count": pages.other_patient},
        )
    matches, models = pages.matches, pages.models
    if len(matches) > max_entries:
        matches, models, truncated = matches[:max_entries], models[:max_entries], True
    return SearchResult(
        tuple(matches),
        pages.included,
        truncated,
        pages.dropped,
        pages.other_patient,
        tuple(models),
        pages.included_models,
    )
