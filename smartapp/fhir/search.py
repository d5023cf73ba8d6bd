"""Search-type interactions: follow `Bundle.link[next]` within page and entry caps.

Entries with `search.mode = include` (from `_include`) come back apart from the matches, keyed
by `Type/id`; a capped result says so (`truncated`), and malformed entries are counted
(`dropped`), so a section can say "partial" rather than silently show less.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from smartapp.fhir.resources import well_formed
from smartapp.fhir.transport import FhirMalformed, Json, get_json


@dataclass(frozen=True)
class SearchResult:
    resources: tuple[Json, ...]
    included: Mapping[str, Json]  # "Type/id" -> resource (from _include)
    truncated: bool  # more existed than the caps let us fetch
    dropped: int  # malformed entries left out


NOTHING = SearchResult((), {}, False, 0)


def _next_link(bundle: Json) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None


def _collect(bundle: Json, resource_type: str, into: list[Json], included: dict[str, Any]) -> int:
    """Sort one page's entries into matches and includes; how many were dropped."""
    dropped = 0
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not well_formed(resource):
            dropped += 1
            continue
        assert isinstance(resource, dict)
        if (entry.get("search") or {}).get("mode") == "include":
            included[f"{resource['resourceType']}/{resource.get('id')}"] = resource
        elif resource.get("resourceType") == resource_type:
            into.append(resource)
    return dropped


def search(
    base: str,
    access_token: str,
    resource_type: str,
    params: Mapping[str, str],
    *,
    max_pages: int | None = None,
    max_entries: int | None = None,
) -> SearchResult:
    """`{base}/{type}?params`, following `next` links within the caps."""
    max_pages = max_pages or int(getattr(settings, "FHIR_MAX_PAGES", 5))
    max_entries = max_entries or int(getattr(settings, "FHIR_MAX_ENTRIES", 1000))
    url: str | None = f"{base}/{resource_type}"
    query: Mapping[str, str] | None = params
    matches: list[Json] = []
    included: dict[str, Json] = {}
    dropped, pages, truncated = 0, 0, False
    while url:
        bundle = get_json(base, url, access_token, query)
        if bundle.get("resourceType") != "Bundle":
            raise FhirMalformed("a search answered with something other than a Bundle")
        pages += 1
        dropped += _collect(bundle, resource_type, matches, included)
        following = _next_link(bundle)
        if following and (pages >= max_pages or len(matches) >= max_entries):
            truncated = True
            break
        url, query = following, None
    if len(matches) > max_entries:
        matches, truncated = matches[:max_entries], True
    return SearchResult(tuple(matches), included, truncated, dropped)
