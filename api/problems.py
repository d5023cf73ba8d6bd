"""Errors as RFC 9457 problem details (`application/problem+json`), with the app's codes.

Every error the API can answer goes through `problem`: the app's own `SmartAppError`s keep
their code, status and user-safe message (never `detail`, which is for the log); the API's own
refusals are `ApiProblem`s. `type` points at the code's entry on the reference page
(/api/v1/docs#<code>), `instance` carries the request id a support desk asks for. Nothing here
carries a token, a query value or a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from api.http import version_headers
from smart.errors import SmartAppError
from smartapp import availability, problem_details

log = logging.getLogger(__name__)

PROBLEM_TYPE = problem_details.PROBLEM_TYPE

# The API's own codes (the app's SmartAppError codes are listed from their classes).
API_CODES: dict[str, str] = {
    "antiforgery_header_required": "A browser call without the `X-CSRF: 1` header, or one a "
    "browser marked cross-site (`Sec-Fetch-Site`).",
    "not_authenticated": "No valid access token: none was sent, it expired, or its client was "
    "revoked or rotated. Ask the token endpoint for a new one.",
    "insufficient_scope": "The client's token does not carry the scope this call needs.",
    "not_found": "No such resource here, or not one this caller may see.",
    "invalid_request": "A parameter is missing, malformed or out of range.",
    "invalid_cursor": "The `cursor` was not one this API issued for this query.",
    "no_patient": "The launch has no patient yet (a provider launch: pick one first).",
    "not_a_provider_launch": "Patient search is for provider launches that may choose patients.",
    "rate_limited": "Too many calls: wait for `Retry-After` seconds.",
    "internal_error": "The app failed. The request id identifies it to support.",
}


class ApiProblem(Exception):
    """One of the API's own refusals (API_CODES)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        assert code in API_CODES, code
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = headers or {}


def problem(status: int, code: str, title: str, detail: str, **options: Any) -> HttpResponse:
    """A problem details answer (smartapp/problem_details.py) with v1's version headers;
    `options` are `next_step` and `headers`."""
    return version_headers(problem_details.response(status, code, title, detail, **options))


def from_api_problem(request: HttpRequest, error: ApiProblem) -> HttpResponse:
    return problem(error.status, error.code, error.title, error.detail, headers=error.headers)


def from_app_error(request: HttpRequest, error: SmartAppError) -> HttpResponse:
    log.info("api refused", extra={"error_code": error.code, "detail": error.detail})
    return version_headers(problem_details.for_error(error))


def from_not_found(request: HttpRequest, error: Exception) -> HttpResponse:
    return problem(404, "not_found", "Not found", "No such resource here.")


def from_validation(request: HttpRequest, error: ValidationError) -> HttpResponse:
    # Where the input was wrong, never what it held (it may be PHI, or a token).
    places = sorted({".".join(str(p) for p in e.get("loc", ())) for e in error.errors})
    detail = "Check these parameters: " + ", ".join(places) if places else "Check the request."
    return problem(422, "invalid_request", "Invalid request", detail)


def from_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 401 or isinstance(error, AuthenticationError):
        return not_authenticated()
    return problem(error.status_code, "invalid_request", "Invalid request", "Check the request.")


def not_authenticated() -> HttpResponse:
    return problem(
        401,
        "not_authenticated",
        "Not signed in",
        API_CODES["not_authenticated"],
        headers={"WWW-Authenticate": 'Bearer realm="smartapp-api"'},
    )


def from_anything(request: HttpRequest, error: Exception) -> HttpResponse:
    service = availability.outage_of(error)
    if service is not None:  # the database or cache is out of reach: 503, try again
        availability.note(service, error)
        return from_app_error(request, availability.ServiceUnavailable(service))
    log.exception("api failed")
    return problem(500, "internal_error", "The app failed", API_CODES["internal_error"])


HANDLERS: tuple[tuple[type[Exception], Any], ...] = (
    (ApiProblem, from_api_problem),
    (SmartAppError, from_app_error),
    (Http404, from_not_found),
    (ValidationError, from_validation),
    (AuthenticationError, lambda request, error: not_authenticated()),
    (HttpError, from_http_error),
    (Exception, from_anything),
)
