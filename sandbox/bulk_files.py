"""Bulk Data `$export` output files: what goes in them, and serving them.

FHIR Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/export.html):
- "Response - Complete Status": each output file holds resources of one type, as NDJSON
  (one compact JSON resource per line, `\\n` separated, with a final newline); a type is
  split into files of at most `export_file_lines` resources, in id order;
- "Bulk Data Output File Request": `GET` a manifest URL, with the bearer token when the
  manifest says `requiresAccessToken: true` (then only the client that started the job gets
  the file), answered as `application/fhir+ndjson`.
What a job exports is fixed at kick-off (its transactionTime): resources changed after
`_since` and not after the transactionTime, of the patients the level covers.

The body goes out in 64 KiB chunks with an exact Content-Length, so a client can stream it.
Faults from the simulation options: `export_file_cut` (the first N downloads of a file stop
half way and the connection drops), `export_drip_ms` (a pause between chunks) and
`export_malformed_line` (line 2 of each type's first file is truncated JSON).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from sandbox import bulk_jobs, stats
from sandbox.bulk_jobs import ExportFile, Job
from sandbox.fhir_api import bearer_token, outcome, visible
from sandbox.fhir_search import last_updated, parse_instant, patient_of
from sandbox.fhir_store import FhirStore
from sandbox.site import SandboxSite
from sandbox.view_helpers import with_site
from smart.scopes import ResourceScope

NDJSON = "application/fhir+ndjson"
CHUNK = 64 * 1024
MALFORMED_LINE = b'{"resourceType": "Observation", "id": '


def selected(
    store: FhirStore,
    rtype: str,
    rules: tuple[ResourceScope, ...],
    patients: set[str] | None,
    since: datetime | None,
    until: datetime,
) -> list[dict[str, Any]]:
    """The resources of one type a job exports, by id: visible to the token's user- or
    system-level `rules`, in the `patients`' compartments (None: any), changed after `since`
    and not after `until` (the transactionTime: later changes belong to the next export)."""
    found = []
    for resource in store.all_of(rtype):
        changed = last_updated(resource)
        if since is not None and changed <= since:
            continue
        if changed > until or not visible(resource, rules, None):
            continue
        if patients is not None and patient_of(resource) not in patients:
            continue
        found.append(resource)
    return found


def ndjson_files(
    rtype: str, resources: Sequence[dict[str, Any]], lines: int, first_number: int, bad: bool
) -> list[ExportFile]:
    """One type's resources as NDJSON files of at most `lines` lines, numbered on from
    `first_number`; `bad` replaces line 2 of the first file with a truncated JSON line."""
    files: list[ExportFile] = []
    for start in range(0, len(resources), lines):
        part = resources[start : start + lines]
        rows = [json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() for r in part]
        if bad and start == 0 and len(rows) >= 2:
            rows[1] = MALFORMED_LINE
        body = b"\n".join(rows) + b"\n"
        files.append(ExportFile(rtype, first_number + len(files), body, len(part)))
    return files


def render(
    job: Job,
    site: SandboxSite,
    store: FhirStore,
    rules: dict[str, tuple[ResourceScope, ...]],
    patients: set[str] | None,
) -> list[ExportFile]:
    """Every output file of a job, type by type in the order asked."""
    files: list[ExportFile] = []
    until = parse_instant(job.transaction_time)
    options = site.options
    for rtype in job.types:
        found = selected(store, rtype, rules[rtype], patients, job.since, until)
        files += ndjson_files(
            rtype, found, options.export_file_lines, len(files) + 1, options.export_malformed_line
        )
    return files


def file_url(site: SandboxSite, job: Job, number: int) -> str:
    """Where a file is fetched: on the sandbox, or on `export_file_origin` when set."""
    origin = site.options.export_file_origin or site.origin
    path = site.prefix.removeprefix(site.origin)
    return f"{origin}{path}/bulk/files/{job.id}/{number}.ndjson"


@require_GET
@with_site
def download(request: HttpRequest, site: SandboxSite, job_id: str, number: int) -> HttpResponse:
    """`GET {site}/bulk/files/<job>/<n>.ndjson` (export.html, "Output File Request")."""
    sent_token = "Authorization" in request.headers
    stats.record(bulk_jobs.EXPORT_FILES, f"{job_id} {number} {'auth' if sent_token else 'noauth'}")
    job = bulk_jobs.find(job_id, site.fhir_base, time.time())
    if site.options.export_requires_token:
        token = bearer_token(request, site)
        if isinstance(token, JsonResponse):
            return token
        if job is not None and token.client_id != job.client_id:
            job = None  # another client's job: as if it did not exist
    export_file = next((f for f in job.files if f.number == number), None) if job else None
    if job is None or export_file is None:
        return outcome(404, "not-found", "no such export file (deleted, expired or unknown)")
    attempt = bulk_jobs.count_download(job, number)
    cut = attempt <= site.options.export_file_cut
    body = _chunks(request, export_file.body, cut, site.options.export_drip_ms / 1000)
    response = StreamingHttpResponse(body, content_type=NDJSON)
    response["Content-Length"] = str(len(export_file.body))
    return response  # type: ignore[return-value] # with_site is typed for HttpResponse


def _chunks(request: HttpRequest, body: bytes, cut: bool, pause_s: float) -> Iterator[bytes]:
    """The body in CHUNK-sized pieces; when `cut`, about half of it and then a dropped
    connection (the declared Content-Length stays the full size)."""
    end = max(1, len(body) // 2) if cut else len(body)
    for start in range(0, end, CHUNK):
        if start and pause_s:
            time.sleep(pause_s)
        yield body[start : min(start + CHUNK, end)]
    if cut:
        _drop_connection(request)


def _drop_connection(request: HttpRequest) -> None:
    """Shut the client's socket (Django's development server, which `runsandbox` and the
    tests use): without it the client would wait for the missing bytes until it times out."""
    # wsgi.input is a LimitedStream over the socket's reader: its bound `_read`'s owner.
    stream: Any = request.META.get("wsgi.input")
    for attribute in ("_read", "__self__", "raw", "_sock"):
        stream = getattr(stream, attribute, None)
    if isinstance(stream, socket.socket):
        with contextlib.suppress(OSError):  # already gone: nothing to drop
            stream.shutdown(socket.SHUT_RDWR)
