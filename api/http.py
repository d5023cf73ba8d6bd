"""Answering a read: the JSON body, its `ETag`, a 304 for a matching `If-None-Match`, and the
headers every API answer carries.

- `ETag` is a strong validator over the exact bytes sent (RFC 9110 8.8.3): a client that kept
  the last answer sends `If-None-Match` and gets `304 Not Modified` with no body when nothing
  changed. The answer is still `Cache-Control: no-store`: it is PHI, and no shared or browser
  cache may keep it; the client's own copy is the client's business.
- `Vary: Cookie, Authorization`: who asks decides what the answer holds.
- When v1 has a sunset date (API_V1_SUNSET, set once v2 exists), every v1 answer carries
  `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) with a link to the migration notes
  (docs/api.md, "Versions").
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date, parse_etags
from pydantic import BaseModel

JSON_TYPE = "application/json"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2): W/"x" matches "x".
    return etag in {tag.removeprefix("W/") for tag in parse_etags(header)}


def version_headers(response: HttpResponse) -> HttpResponse:
    sunset = getattr(settings, "API_V1_SUNSET", None)
    if sunset:
        when = datetime.fromisoformat(str(sunset)).replace(tzinfo=UTC)
        response["Deprecation"] = "@" + str(int(datetime.now(UTC).timestamp()))
        response["Sunset"] = http_date(when.timestamp())
        response["Link"] = '</api/v1/docs#versions>; rel="deprecation"; type="text/html"'
    response["Vary"] = "Cookie, Authorization"
    return response


def respond(request: HttpRequest, model: BaseModel) -> HttpResponse:
    body = model.model_dump_json().encode()
    etag = etag_of(body)
    if _matches(request, etag):
        response = HttpResponse(status=304)
        del response["Content-Type"]  # no body, nothing to type
    else:
        response = HttpResponse(body, content_type=JSON_TYPE)
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return version_headers(response)
