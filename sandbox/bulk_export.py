"""FHIR Bulk Data `$export` in the sandbox: kick-off, status polling and delete.

FHIR Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/export.html), the asynchronous
request pattern:
- kick-off: `GET {base}/$export` (system), `{base}/Patient/$export` (every patient's
  compartment), `{base}/Group/{id}/$export` (the group's members' compartments). A user- or
  system-level bearer token is required (patient-level scopes: 403); parameters are checked
  by `sandbox.bulk_jobs.parse_kickoff`. Answer: 202 with `Content-Location`, the status URL
  `{site}/bulk/status/<job>`; errors are OperationOutcomes ("Response - Error").
- status: `GET` with the token of the client that started the job: 202 with `X-Progress`
  and `Retry-After` for the first `export_polls` polls, then 200 and the JSON manifest
  (`transactionTime`, `request`, `requiresAccessToken`, `output[]` of `{type, url, count}`,
  `error[]`). `DELETE` (export.html, "Bulk Data Delete Request"): 202, and the job is gone.
  Another client's job, a deleted or expired one: 404.
- files: `sandbox.bulk_files`.
The simulation options `export`, `export_kickoff_429`, `export_status_5xx`,
`export_expired`, `export_polls` and `export_retry_after` shape these answers
(`docs/sandbox.md`); counters in `sandbox.stats` are named in `sandbox.bulk_jobs`.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sandbox import bulk_files, bulk_jobs, stats
from sandbox.bulk_jobs import ExportError, Job, Level
from sandbox.fhir_api import bearer_token, outcome
from sandbox.fhir_store import FhirStore, get_store, now_instant
from sandbox.models import Token
from sandbox.site import SandboxSite
from sandbox.synthetic.groups import group_members
from sandbox.view_helpers import with_site
from smart.scopes import Access, ResourceScope

MANIFEST_JSON = "application/json"


@csrf_exempt
@require_GET
@with_site
def system_export(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """`GET {base}/$export`."""
    return _kickoff(request, site, "system", None)


@csrf_exempt
@require_GET
@with_site
def patient_export(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """`GET {base}/Patient/$export`."""
    return _kickoff(request, site, "patient", None)


@csrf_exempt
@require_GET
@with_site
def group_export(request: HttpRequest, site: SandboxSite, group_id: str) -> HttpResponse:
    """`GET {base}/Group/{id}/$export`."""
    return _kickoff(request, site, "group", group_id)


def _bulk_rules(token: Token, rtype: str) -> tuple[ResourceScope, ...]:
    """The token's user- and system-level scopes that let it read a type: bulk export is
    not for patient-level access (it would need one patient's compartment only)."""
    rules = Access.from_scope_string(token.scope).rules(rtype, "r")
    return tuple(rule for rule in rules if rule.level in ("user", "system"))


def _kickoff(
    request: HttpRequest, site: SandboxSite, level: Level, group: str | None
) -> HttpResponse:
    if not bulk_jobs.export_supported(site):
        return outcome(404, "not-supported", "this server does not support $export")
    stats.record(bulk_jobs.EXPORT_KICKOFFS, site.key)
    if stats.value(bulk_jobs.EXPORT_KICKOFFS, site.key) <= site.options.export_kickoff_429:
        return outcome(429, "throttled", "simulated: too many exports", Retry_After="1")
    token = bearer_token(request, site)
    if isinstance(token, JsonResponse):
        return token
    store = get_store()
    rules = {rtype: _bulk_rules(token, rtype) for rtype in bulk_jobs.EXPORTABLE}
    readable = [rtype for rtype, found in rules.items() if found]
    if not readable:
        return outcome(403, "forbidden", "$export needs user- or system-level scopes")
    members = _members(store, level, group)
    if isinstance(members, HttpResponse):
        return members
    params = [(name, value) for name, values in request.GET.lists() for value in values]
    try:
        asked = bulk_jobs.parse_kickoff(params, request.headers.get("Prefer", ""), level, readable)
    except ExportError as exc:
        return outcome(exc.status, exc.code, exc.diagnostics)
    job = Job(
        client_id=token.client_id,
        base=site.fhir_base,
        level=level,
        group=group,
        types=asked.types,
        since=asked.since,
        request=request.build_absolute_uri(),
        transaction_time=now_instant(),
        created=time.time(),
    )
    job.files = bulk_files.render(job, site, store, rules, members)
    bulk_jobs.add(job)
    response = HttpResponse(status=202)
    response["Content-Location"] = _status_url(site, job)
    return response


def _members(store: FhirStore, level: Level, group: str | None) -> set[str] | Any | None:
    """Whose compartments the export covers: None for system level (everything)."""
    if level == "system":
        return None
    patients = store.patient_ids()
    if level == "patient":
        return set(patients)
    members = group_members(group or "", patients)
    if members is None:
        return outcome(404, "not-found", f"Group/{group} does not exist")
    return set(members)


def _status_url(site: SandboxSite, job: Job) -> str:
    return f"{site.prefix}/bulk/status/{job.id}"


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
@with_site
def status(request: HttpRequest, site: SandboxSite, job_id: str) -> HttpResponse:
    """`GET` / `DELETE {site}/bulk/status/<job>` (export.html, "Bulk Data Status Request"
    and "Bulk Data Delete Request")."""
    deleting = request.method == "DELETE"
    stats.record(bulk_jobs.EXPORT_DELETES if deleting else bulk_jobs.EXPORT_STATUS, job_id)
    token = bearer_token(request, site)
    if isinstance(token, JsonResponse):
        return token
    job = bulk_jobs.find(job_id, site.fhir_base, time.time())
    if job is None or job.client_id != token.client_id:
        # Another client's job is answered as if it did not exist: no oracle for job ids.
        return outcome(404, "not-found", "no such export job (deleted, expired or unknown)")
    if deleting:
        bulk_jobs.delete(job)
        return HttpResponse(status=202)
    options = site.options
    if options.export_expired:
        return outcome(404, "not-found", "simulated: the export job has expired")
    if bulk_jobs.count_status_request(job) <= options.export_status_5xx:
        return outcome(500, "transient", "simulated: transient status failure, poll again")
    polls_before = bulk_jobs.count_poll(job)
    if polls_before < options.export_polls:
        done = int(100 * (polls_before + 1) / (options.export_polls + 1))
        response = HttpResponse(status=202)
        response["X-Progress"] = f"{done}% complete"
        response["Retry-After"] = str(options.export_retry_after)
        return response
    return JsonResponse(manifest(site, job), content_type=MANIFEST_JSON)


def manifest(site: SandboxSite, job: Job) -> dict[str, Any]:
    """The complete-status body (export.html, "Response - Complete Status")."""
    return {
        "transactionTime": job.transaction_time,
        "request": job.request,
        "requiresAccessToken": site.options.export_requires_token,
        "output": [
            {
                "type": export_file.resource_type,
                "url": bulk_files.file_url(site, job, export_file.number),
                "count": export_file.count,
            }
            for export_file in job.files
        ],
        "error": [],
    }
