"""`GET {base}/Binary/{id}`: the Binary as FHIR JSON or as its raw bytes (FHIR R4 http.html
"binary").

A client that asks for FHIR JSON (`Accept: application/fhir+json` or `application/json`, or
`_format=json`) gets the Binary resource (`contentType`, `securityContext`, `data` in
base64); any other `Accept` (none, `*/*`, `application/pdf`...) gets the raw bytes with
`Content-Type` set to the Binary's `contentType`. The `binary: raw` simulation option makes a
server that always answers the raw bytes, whatever `Accept` says.

Raw answers carry `X-Content-Type-Options: nosniff` (and, like every sandbox answer, the
policy of `sandbox.handler`); a browser cannot open them anyway, lacking the bearer token.
Pure over the request and the resource; `sandbox.fhir_api.read` applies it after its access
checks.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from django.http import HttpRequest, HttpResponse

from sandbox.fhir_search import Resource

FHIR_JSON_TYPES = frozenset({"application/fhir+json", "application/json", "application/json+fhir"})
JSON_FORMATS = frozenset({"json", *FHIR_JSON_TYPES})


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_fhir_json(accept: str, format_param: str | None = None) -> bool:
    """Whether the request asks for the Binary resource rather than its content."""
    if format_param is not None:
        return format_param.strip().lower() in JSON_FORMATS
    for item in accept.split(","):
        media, _, parameters = item.partition(";")
        if media.strip().lower() in FHIR_JSON_TYPES and _quality(parameters) > 0:
            return True
    return False


def raw_answer(
    request: HttpRequest, resource: Resource, mode: Literal["json", "raw"]
) -> HttpResponse | None:
    """The raw bytes of `resource`, or None when the answer is the resource as FHIR JSON."""
    asked_json = wants_fhir_json(request.headers.get("Accept", ""), request.GET.get("_format"))
    if mode == "json" and asked_json:
        return None
    try:
        content = base64.b64decode(str(resource.get("data", "")), validate=True)
    except binascii.Error:
        return None  # a loaded bundle's broken Binary: show it as it is
    content_type = str(resource.get("contentType") or "application/octet-stream")
    response = HttpResponse(content, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response
