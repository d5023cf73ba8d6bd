"""Reading FHIR from an EHR with a launch's access token (grows into the summary's façade).

Every call has connect and read timeouts and asks for `application/fhir+json`. 401, 403 and
404 mean the app may not see the resource; timeouts and 5xx mean the EHR is unwell.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from smartapp.errors import EhrUnavailable, PatientUnavailable

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class FhirUnauthorized(PatientUnavailable):
    """401: the EHR refused the access token (the vault refreshes once and retries)."""


FHIR_JSON = "application/fhir+json"


def _get(url: str, access_token: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {access_token}", "Accept": FHIR_JSON}
    try:
        response = httpx.get(url, params=params, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise EhrUnavailable(f"FHIR {type(exc).__name__}") from exc
    if response.status_code == 401:
        raise FhirUnauthorized("FHIR answered 401")
    if response.status_code in (403, 404):
        raise PatientUnavailable(f"FHIR answered {response.status_code}")
    if response.status_code != 200:
        raise EhrUnavailable(f"FHIR answered {response.status_code}")
    try:
        body = response.json()
    except json.JSONDecodeError as exc:
        raise EhrUnavailable("FHIR answered with broken JSON") from exc
    if not isinstance(body, dict):
        raise EhrUnavailable("FHIR answered with something other than a resource")
    return body


def read_patient(base: str, access_token: str, patient_id: str) -> dict[str, Any]:
    """`Patient/{id}`, checked to be that patient (SMART: the context is an input to verify)."""
    body = _get(f"{base}/Patient/{patient_id}", access_token)
    if body.get("resourceType") != "Patient" or body.get("id") != patient_id:
        raise PatientUnavailable("the EHR returned something other than the launch patient")
    return body


def search_patients(
    base: str, access_token: str, name: str, count: int = 20
) -> list[dict[str, Any]]:
    body = _get(f"{base}/Patient", access_token, {"name": name, "_count": str(count)})
    return [
        entry["resource"]
        for entry in body.get("entry", [])
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") == "Patient"
    ]
