"""The FHIR façade: the only code that talks HTTP to an EHR's FHIR API.

- One pooled httpx client per FHIR base; connect and read timeouts from settings;
  `Accept: application/fhir+json`.
- Reads are idempotent, so they are retried on connection errors, 429, 502, 503 and 504:
  a bounded number of attempts with exponential backoff and jitter, honouring `Retry-After`
  (seconds) up to a cap.
- A circuit breaker per FHIR base: after repeated failures it fails fast for a cool-down,
  then lets one probe through. Its state shows in /readyz.
- 401 raises FhirUnauthorized (the vault refreshes once and retries), 403 FhirForbidden,
  404 FhirNotFound; unreachable or unwell EHRs EhrUnavailable; a body that is not the JSON it
  should be FhirMalformed. Nothing else escapes.
- Searches follow `Bundle.link[next]` up to page and entry caps; a capped result says so.
- Every resource is checked against fhirclient's R4 models (unknown elements and extensions
  tolerated); a structurally broken resource is dropped and counted, not trusted.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from smart.errors import EhrUnavailable, PatientUnavailable

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
Json = dict[str, Any]


class FhirUnauthorized(PatientUnavailable):
    """401: the EHR refused the access token (the vault refreshes once and retries)."""


class FhirForbidden(PatientUnavailable):
    """403: the EHR does not let this grant see that."""


class FhirNotFound(PatientUnavailable):
    status = 404


class FhirMalformed(EhrUnavailable):
    """The EHR answered with something that is not the FHIR JSON asked for."""


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


# --- circuit breaker ----------------------------------------------------------------------


class CircuitBreaker:
    """closed -> (N consecutive failures) -> open -> (cool-down) -> half-open -> one probe."""

    def __init__(self, threshold: int = 5, cool_down_s: float = 30.0) -> None:
        self.threshold, self.cool_down_s = threshold, cool_down_s
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if time.monotonic() - self.opened_at >= self.cool_down_s else "open"

    def allow(self) -> bool:
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half-open" and not self.probing:
                self.probing = True  # exactly one probe at a time
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.opened_at, self.probing = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            self.probing = False
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = time.monotonic()


_breakers: dict[str, CircuitBreaker] = {}
_pools: dict[str, httpx.Client] = {}
_registry_lock = threading.Lock()


def breaker_for(base: str) -> CircuitBreaker:
    with _registry_lock:
        if base not in _breakers:
            _breakers[base] = CircuitBreaker(
                int(_setting("FHIR_BREAKER_THRESHOLD", 5)), _setting("FHIR_BREAKER_COOL_DOWN_S", 30)
            )
        return _breakers[base]


def circuit_states() -> dict[str, dict[str, Any]]:
    """For /readyz: every FHIR base this process has talked to, and its breaker."""
    with _registry_lock:
        return {base: {"state": b.state, "failures": b.failures} for base, b in _breakers.items()}


def reset_circuits() -> None:
    with _registry_lock:
        _breakers.clear()


def _pool(base: str) -> httpx.Client:
    with _registry_lock:
        client = _pools.get(base)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(
                    _setting("FHIR_READ_TIMEOUT_S", 10),
                    connect=_setting("FHIR_CONNECT_TIMEOUT_S", 3),
                ),
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                headers={"Accept": FHIR_JSON},
            )
            _pools[base] = client
        return client


# --- requests -------------------------------------------------------------------------------


def _delay(attempt: int, response: httpx.Response | None) -> float:
    cap = _setting("FHIR_RETRY_AFTER_CAP_S", 5)
    if response is not None and (retry_after := response.headers.get("Retry-After", "")).isdigit():
        return min(float(retry_after), cap)
    base = _setting("FHIR_BACKOFF_BASE_S", 0.2)
    jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreading retries, not cryptography
    return float(min(base * 2 ** (attempt - 1), cap) * jitter)


def get_json(
    base: str, url: str, access_token: str, params: Mapping[str, str] | None = None
) -> Json:
    """GET a FHIR JSON object, with retries, the breaker and the error mapping above."""
    breaker = breaker_for(base)
    if not breaker.allow():
        raise EhrUnavailable("circuit open")
    attempts = int(_setting("FHIR_ATTEMPTS", 3))
    headers = {"Authorization": f"Bearer {access_token}"}
    for attempt in range(1, attempts + 1):
        response: httpx.Response | None = None
        try:
            response = _pool(base).get(url, params=params, headers=headers)
        except httpx.TransportError as exc:
            failure = f"FHIR {type(exc).__name__}"
        else:
            if response.status_code not in RETRY_STATUSES:
                break
            failure = f"FHIR answered {response.status_code}"
        if attempt == attempts:
            breaker.failed()
            raise EhrUnavailable(failure)
        time.sleep(_delay(attempt, response))
    assert response is not None
    status = response.status_code
    if status >= 500:
        breaker.failed()
        raise EhrUnavailable(f"FHIR answered {status}")
    breaker.succeeded()  # the EHR answered: 4xx are about the request, not its health
    if status == 401:
        raise FhirUnauthorized("FHIR answered 401")
    if status == 403:
        raise FhirForbidden("FHIR answered 403")
    if status == 404:
        raise FhirNotFound("FHIR answered 404")
    if status != 200:
        raise EhrUnavailable(f"FHIR answered {status}")
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FhirMalformed("FHIR answered with broken JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise FhirMalformed("FHIR answered with something other than a resource")
    return body


def _errors(error: BaseException) -> list[BaseException]:
    nested = getattr(error, "errors", None)
    if isinstance(error, FHIRValidationError) and nested:
        return [leaf for item in nested for leaf in _errors(item)]
    return [error]


def well_formed(resource: Any) -> bool:
    """Whether the resource parses under fhirclient's R4 models.

    Unknown elements (fhirclient's "superfluous entry", an AttributeError) are tolerated, as
    FHIR asks of readers; wrong types or missing required elements mean it is not trusted.
    """
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return False
    try:
        FHIRElementFactory.instantiate(resource["resourceType"], resource)
    except FHIRValidationError as error:
        return all(isinstance(leaf, AttributeError) for leaf in _errors(error))
    except Exception:
        return False
    return True


def read(base: str, access_token: str, resource_type: str, resource_id: str) -> Json:
    body = get_json(base, f"{base}/{resource_type}/{resource_id}", access_token)
    if body.get("resourceType") != resource_type or not well_formed(body):
        raise FhirMalformed(f"{resource_type}/{resource_id} came back as something else")
    return body


@dataclass(frozen=True)
class SearchResult:
    resources: tuple[Json, ...]
    included: Mapping[str, Json]  # "Type/id" -> resource (from _include)
    truncated: bool  # more existed than the caps let us fetch
    dropped: int  # malformed entries left out


def search(
    base: str,
    access_token: str,
    resource_type: str,
    params: Mapping[str, str],
    *,
    max_pages: int | None = None,
    max_entries: int | None = None,
) -> SearchResult:
    """A search-type interaction, following `next` links within the caps."""
    max_pages = max_pages or int(_setting("FHIR_MAX_PAGES", 5))
    max_entries = max_entries or int(_setting("FHIR_MAX_ENTRIES", 1000))
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
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if not well_formed(resource):
                dropped += 1
                continue
            assert isinstance(resource, dict)
            if (entry.get("search") or {}).get("mode") == "include":
                included[f"{resource['resourceType']}/{resource.get('id')}"] = resource
            elif resource.get("resourceType") == resource_type:
                matches.append(resource)
        following = next((link.get("url") for link in bundle.get("link") or []
                          if link.get("relation") == "next"), None)  # fmt: skip
        if following and (pages >= max_pages or len(matches) >= max_entries):
            truncated = True
            break
        url, query = following, None
    if len(matches) > max_entries:
        matches, truncated = matches[:max_entries], True
    return SearchResult(tuple(matches), included, truncated, dropped)


# --- the calls the launch engine makes --------------------------------------------------------


def read_patient(base: str, access_token: str, patient_id: str) -> Json:
    """`Patient/{id}`, checked to be that patient (SMART: the context is an input to verify)."""
    body = read(base, access_token, "Patient", patient_id)
    if body.get("id") != patient_id:
        raise PatientUnavailable("the EHR returned something other than the launch patient")
    return body


def search_patients(base: str, access_token: str, name: str, count: int = 20) -> list[Json]:
    result = search(
        base, access_token, "Patient", {"name": name, "_count": str(count)}, max_pages=1
    )
    return list(result.resources)
