"""The sandbox's FHIR R4 REST API (discovery documents: `sandbox.fhir_discovery`).

- `{base}/{Type}/{id}` (read) and `{base}/{Type}?...` (search-type) for the types in
  `sandbox.fhir_search.RESOURCE_TYPES`; searchset Bundles with `total` and opaque `next` links
  (signed, so a client cannot forge a page of someone else's query). `Binary` is read only,
  and its read answers JSON or the raw bytes as `Accept` asks (`sandbox.fhir_binary`).
- Access comes from the bearer token's granted scopes (`smart.scopes`): patient-level scopes
  see the launch patient's compartment only, user-level ones any patient; v2 `?param=`
  restrictions filter what a scope covers. No or bad token: 401 with `WWW-Authenticate`
  (RFC 6750 3.1); not covered by any scope: 403 with an OperationOutcome.
- Bulk Data `$export` (kick-off, status, files) lives in `sandbox.bulk_export` and
  `sandbox.bulk_files`; they share this module's bearer-token check and `visible`.
- Faults from the base's simulation options run after authentication, per resource type;
  the `hostile` option spoils search answers (`sandbox.fhir_hostile`).
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from sandbox import fhir_binary, fhir_hostile, stats
from sandbox.fhir_search import (
    NOT_IN_COMPARTMENT,
    RESOURCE_TYPES,
    Resource,
    SearchError,
    matches,
    parse_count,
    patient_of,
)
from sandbox.fhir_store import get_store
from sandbox.models import Token
from sandbox.site import SandboxSite
from sandbox.view_helpers import paced, with_site
from smart.scopes import Access, ResourceScope

FHIR_JSON = "application/fhir+json; charset=utf-8"
PAGE_SALT = "sandbox.fhir.page"
PAGE_MAX_AGE_S = 3600
MALFORMED_BODY = '{"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": {'


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> JsonResponse:
    response = JsonResponse(body, status=status, content_type=FHIR_JSON)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def outcome(status: int, code: str, diagnostics: str, **headers: str) -> JsonResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
    return fhir_response(body, status, **headers)


# --- access -------------------------------------------------------------------------------


def bearer_token(request: HttpRequest, site: SandboxSite) -> Token | JsonResponse:
    """The live token for this base, or the 401 to send (RFC 6750 3.1)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return outcome(
            401, "login", "a bearer token is required", WWW_Authenticate='Bearer realm="sandbox"'
        )
    token = Token.objects.filter(access_token=value.strip(), base=site.fhir_base).first()
    if token is None or token.access_revoked or token.is_expired():
        return outcome(
            401,
            "login",
            "the access token is invalid, expired or revoked",
            WWW_Authenticate='Bearer realm="sandbox", error="invalid_token"',
        )
    return token


def visible(resource: Resource, rules: tuple[ResourceScope, ...], patient: str | None) -> bool:
    """Whether any of the scopes covering this type admits this resource."""
    bound = resource["resourceType"] not in NOT_IN_COMPARTMENT
    in_compartment = patient is not None and patient_of(resource) == patient
    return any(
        (rule.level != "patient" or not bound or in_compartment)
        and all(matches(resource, name, value) for name, value in rule.restrictions)
        for rule in rules
    )


def _fault(site: SandboxSite, resource_type: str) -> HttpResponse | None:
    options = site.options
    rule = options.fail.get(resource_type) or options.fail.get("*")
    roll = random.random()  # noqa: S311 - fault injection, not cryptography
    if rule is None or roll >= rule.rate:
        return None
    if rule.mode == "timeout":
        time.sleep(rule.hang_s)
        return outcome(504, "timeout", "simulated: the EHR took too long")
    if rule.mode == "malformed":
        return HttpResponse(MALFORMED_BODY, content_type=FHIR_JSON)
    headers = {"Retry_After": str(rule.retry_after)} if rule.retry_after is not None else {}
    code = "throttled" if rule.mode == 429 else "transient"
    return outcome(int(rule.mode), code, f"simulated: HTTP {rule.mode}", **headers)


def _guard(
    request: HttpRequest, site: SandboxSite, resource_type: str, permission: str
) -> tuple[Token, tuple[ResourceScope, ...]] | HttpResponse:
    stats.record(stats.FHIR_REQUESTS, resource_type)
    if resource_type not in RESOURCE_TYPES:
        return outcome(404, "not-supported", f"this server does not serve {resource_type}")
    token = bearer_token(request, site)
    if isinstance(token, JsonResponse):
        return token
    paced(request, resource_type, site.options.latency_ms)
    if (fault := _fault(site, resource_type)) is not None:
        return fault
    rules = Access.from_scope_string(token.scope).rules(resource_type, permission)
    if not rules:
        return outcome(403, "forbidden", f"the granted scopes do not cover {resource_type}")
    return token, rules


# --- read and search ----------------------------------------------------------------------


@require_GET
@with_site
def read(request: HttpRequest, site: SandboxSite, resource_type: str, resource_id: str) -> Any:
    guarded = _guard(request, site, resource_type, "r")
    if isinstance(guarded, HttpResponse):
        return guarded
    token, rules = guarded
    resource = get_store().get(resource_type, resource_id)
    if resource is None:
        return outcome(404, "not-found", f"{resource_type}/{resource_id} does not exist")
    if not visible(resource, rules, token.context.get("patient")):
        return outcome(403, "forbidden", f"{resource_type}/{resource_id} is outside this grant")
    if resource_type == "Binary":
        raw = fhir_binary.raw_answer(request, resource, site.options.binary)
        if raw is not None:
            return raw
    return fhir_response(resource)


@csrf_exempt
@require_GET
@with_site
def search(request: HttpRequest, site: SandboxSite, resource_type: str) -> HttpResponse:
    params = [(name, value) for name, values in request.GET.lists() for value in values]
    return _search(request, site, resource_type, params, offset=0)


@require_GET
@with_site
def page(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """`{base}?_getpages=<token>`: a later page of an earlier search."""
    try:
        state = signing.loads(
            request.GET.get("_getpages", ""), salt=PAGE_SALT, max_age=PAGE_MAX_AGE_S
        )
    except signing.BadSignature:
        return outcome(400, "invalid", "unknown or expired page link")
    if state.get("base") != site.fhir_base:
        return outcome(400, "invalid", "that page link belongs to another server")
    params = [(str(name), str(value)) for name, value in state["params"]]
    return _search(request, site, str(state["type"]), params, offset=int(state["offset"]))


def _search(
    request: HttpRequest,
    site: SandboxSite,
    resource_type: str,
    params: list[tuple[str, str]],
    offset: int,
) -> HttpResponse:
    guarded = _guard(request, site, resource_type, "s")
    if isinstance(guarded, HttpResponse):
        return guarded
    token, rules = guarded
    patient = token.context.get("patient")
    patient_only = all(rule.level == "patient" for rule in rules)
    compartment = resource_type not in NOT_IN_COMPARTMENT
    criteria = list(params)
    if patient_only and compartment:
        named = ("_id",) if resource_type == "Patient" else ("patient", "subject")
        asked = {value.removeprefix("Patient/") for name, value in params if name in named}
        if patient is None or asked - {patient}:
            return outcome(403, "forbidden", "patient-level access covers the launch patient only")
        key = "_id" if resource_type == "Patient" else "patient"
        criteria.append((key, patient))  # search the compartment only
    store = get_store()
    try:
        count = parse_count(_last(params, "_count"))
        found = store.search(resource_type, criteria)
    except SearchError as exc:
        return outcome(400, "invalid", str(exc))
    shown = [r for r in found if visible(r, rules, patient)]
    page_items = shown[offset : offset + count]
    hostile = site.options.hostile
    leak = patient if patient_only and compartment else None
    entries = [_entry(site, r, "match") for r in _spoiled(site, resource_type, page_items, leak)]
    include_specs = [value for name, value in params if name == "_include"]
    may_include = Access.from_scope_string(token.scope).rules("Medication", "r")
    if include_specs and page_items and may_include and site.options.include == "honour":
        included = store.includes(page_items, include_specs)
        entries += [_entry(site, r, "include") for r in included]
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if offset + count < len(shown) and count > 0:
        state = {
            "type": resource_type,
            "params": params,
            "offset": offset + count,
            "base": site.fhir_base,
        }
        token_value = signing.dumps(state, salt=PAGE_SALT, compress=True)
        following = fhir_hostile.next_url(hostile, f"{site.fhir_base}?_getpages={token_value}")
        links.append({"relation": "next", "url": following})
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(shown),
        "link": links,
        "entry": entries,
    }
    if hostile.junk_structure:
        bundle = fhir_hostile.junk(bundle)
    return fhir_response(fhir_hostile.pad(bundle, hostile.pad_bytes))


def _spoiled(
    site: SandboxSite, resource_type: str, found: list[Resource], patient: str | None
) -> list[Resource]:
    """A page's matches as the `hostile` option spoils them (sandbox.fhir_hostile)."""
    hostile = site.options.hostile
    if hostile.other_patient_entries and patient:
        found = found + fhir_hostile.leaked(get_store().search, resource_type, patient)
    return fhir_hostile.spoil_numbers(found) if hostile.nan_values else found


def _last(params: list[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in params if key == name]
    return values[-1] if values else None


def _entry(site: SandboxSite, resource: Resource, mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{site.fhir_base}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": mode},
    }
