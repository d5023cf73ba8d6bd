"""RFC 9457 problem details: how an error reaches a JSON caller of the use-case API.

The one place the body is made, for the API's own handlers (api/problems.py) and for the
app's edges that answer before the API's view runs (a NUL byte, a body too large, the
database out of reach: smartapp/middleware.py, smartapp/availability.py), so every answer
under /api/ is `application/problem+json`, never the HTML error page. `type` points at the
code's entry on the API reference page; `instance` carries the request id for support.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse

from smart.errors import SmartAppError
from smartapp.request_id import current_request_id

API_PREFIX = "/api/"
PROBLEM_TYPE = "application/problem+json"
DOCS_PATH = "/api/v1/docs"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    next_step: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": f"{DOCS_PATH}#{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": f"urn:request:{current_request_id()}",
    }
    if next_step:
        body["next_step"] = next_step
    answer = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_TYPE)
    answer["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        answer[name] = value
    return answer


def for_error(error: SmartAppError) -> HttpResponse:
    """An app error as a problem: its code, status, title and user-safe message (never its
    `detail`, which is for the log)."""
    retry_after = getattr(error, "retry_after_s", None)
    return response(
        error.status,
        error.code,
        error.title,
        error.message,
        next_step=error.next_step.value,
        headers={"Retry-After": str(int(retry_after))} if retry_after else None,
    )
