"""Servers without `$export`: one paged search per resource type stands in for each file.

`GET {base}/{Type}?_count=200` (and `_lastUpdated=gt<since>` for an incremental run: FHIR R4
search "_lastUpdated"), following each Bundle's `next` link only while it stays within the
FHIR base (`smart.url_policy.is_within_base`), so the token never leaves it. Each matched
entry becomes one "line" of the file, numbered in order, and goes through the same checks
and loading as an NDJSON line. The job's transactionTime is taken before the first search,
so the next incremental run starts from there and misses nothing changed meanwhile.

Also here: a Group's members, read once per file of a Group-level export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from smart import bulk
from smart.url_policy import is_within_base
from smartapp import outbound
from smartapp.extraction import backend_token, bulk_client
from smartapp.extraction.records import ExtractionFile, ExtractionJob

PAGE_SIZE = 200
MAX_PAGES = 50_000  # 10 million resources of one type at 200 a page


def plan(job: ExtractionJob) -> list[ExtractionFile]:
    """One "file" per type: its first search URL."""
    files = []
    for index, rtype in enumerate(job.types):
        params: list[tuple[str, str]] = [("_count", str(PAGE_SIZE))]
        if job.since is not None:
            params.append(("_lastUpdated", f"gt{bulk.instant(job.since)}"))
        url = f"{job.connection.iss.rstrip('/')}/{rtype}?{urlencode(params)}"
        files.append(ExtractionFile(job=job, index=index, resource_type=rtype, url=url))
    return files


def _get(url: str, job: ExtractionJob) -> dict[str, Any]:
    if not is_within_base(url, job.connection.iss):
        raise bulk_client.ForeignUrl("a search link left the FHIR base; not followed")
    token = backend_token.system_token(job.connection).access_token
    try:
        response = outbound.send_capped(
            outbound.Purpose.FHIR,
            "GET",
            url,
            headers={"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"},
            max_bytes=int(settings.FHIR_MAX_RESPONSE_BYTES),
            max_seconds=float(settings.FHIR_READ_TIMEOUT_S) * 3,
        )
    except outbound.HTTPError as exc:
        raise bulk_client.EhrTransient(f"search: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise bulk_client.classify(response, "search")
    try:
        body = response.json()
    except ValueError as exc:
        raise bulk_client.EhrTransient("search answered something other than JSON") from exc
    if not isinstance(body, dict):
        raise bulk_client.EhrTransient("search answered something other than an object")
    return body


def _next(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) else None
    return None


def lines(file: ExtractionFile, job: ExtractionJob) -> Iterator[bulk_client.Line]:
    """The search's matches as numbered lines, page by page. A `next` link seen before (a
    loop) or more than MAX_PAGES pages fails the file: a search cut short is not complete,
    and a full run must not reconcile against it."""
    url: str | None = file.url
    number, seen = 0, set[str]()
    while url is not None:
        if url in seen or len(seen) >= MAX_PAGES:
            raise bulk_client.ExportRefused("the search's next links loop or never end")
        seen.add(url)
        bundle = _get(url, job)
        entries = bundle.get("entry")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or _mode(entry) != "match":
                continue
            number += 1
            yield bulk_client.Line(number, json.dumps(entry.get("resource")).encode())
        url = _next(bundle)


def _mode(entry: dict[str, Any]) -> Any:
    search = entry.get("search")
    return search.get("mode", "match") if isinstance(search, dict) else "match"


def group_members(job: ExtractionJob) -> frozenset[str]:
    """The patient ids a Group lists (`member.entity`), read at the FHIR base."""
    group = _get(f"{job.connection.iss.rstrip('/')}/Group/{job.group_id}", job)
    members = set()
    listed = group.get("member")
    for member in listed if isinstance(listed, list) else []:
        entity = member.get("entity") if isinstance(member, dict) else None
        reference = entity.get("reference") if isinstance(entity, dict) else None
        if isinstance(reference, str) and reference.startswith("Patient/"):
            members.add(reference.removeprefix("Patient/"))
    return frozenset(members)
