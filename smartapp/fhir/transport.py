"""One FHIR GET: retries, back-off, `Retry-After`, the breaker, and the error mapping.

- Reads are idempotent, so they are retried on connection errors, 429, 502, 503 and 504:
  a bounded number of attempts with exponential back-off and jitter, honouring `Retry-After`
  (seconds) up to a cap. Waiting goes through the app's clock.
- 401 raises FhirUnauthorized (the session refreshes once and retries), 403 FhirForbidden,
  404 FhirNotFound; unreachable or unwell EHRs EhrUnavailable; a body that is not the FHIR
  JSON asked for FhirMalformed. Nothing else escapes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from smart.errors import EhrUnavailable, PatientUnavailable
from smartapp import outbound
from smartapp.clock import clock
from smartapp.fhir.breaker import breaker_for

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
Json = dict[str, Any]


class FhirUnauthorized(PatientUnavailable):
    """401: the EHR refused the access token (the session refreshes once and retries)."""


class FhirForbidden(PatientUnavailable):
    """403: the EHR does not let this grant see that."""


class FhirNotFound(PatientUnavailable):
    status = 404


class FhirMalformed(EhrUnavailable):
    """The EHR answered with something that is not the FHIR JSON asked for."""


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _delay(attempt: int, response: outbound.Response | None) -> float:
    cap = _setting("FHIR_RETRY_AFTER_CAP_S", 5)
    if response is not None and (retry_after := response.headers.get("Retry-After", "")).isdigit():
        return min(float(retry_after), cap)
    base = _setting("FHIR_BACKOFF_BASE_S", 0.2)
    jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreading retries, not cryptography
    return float(min(base * 2 ** (attempt - 1), cap) * jitter)


def _send(
    base: str, url: str, access_token: str, params: Mapping[str, str] | None
) -> outbound.Response:
    """The response after retries; EhrUnavailable when every attempt failed."""
    breaker = breaker_for(base)
    if not breaker.allow():
        raise EhrUnavailable("circuit open")
    attempts = int(_setting("FHIR_ATTEMPTS", 3))
    headers = {"Authorization": f"Bearer {access_token}", "Accept": FHIR_JSON}
    client = outbound.client(outbound.Purpose.FHIR)
    for attempt in range(1, attempts + 1):
        response: outbound.Response | None = None
        try:
            response = client.get(url, params=params, headers=headers)
        except outbound.TransportError as exc:
            failure = f"FHIR {type(exc).__name__}"
        else:
            if response.status_code not in RETRY_STATUSES:
                return response
            failure = f"FHIR answered {response.status_code}"
        if attempt == attempts:
            breaker.failed()
            raise EhrUnavailable(failure)
        clock().sleep(_delay(attempt, response))
    raise AssertionError("unreachable")


def get_json(
    base: str, url: str, access_token: str, params: Mapping[str, str] | None = None
) -> Json:
    """GET a FHIR JSON object, with retries, the breaker and the error mapping above."""
    response = _send(base, url, access_token, params)
    status = response.status_code
    breaker = breaker_for(base)
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
