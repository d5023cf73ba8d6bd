"""Django's last-resort error views (handler400/403/404/500): the templates' pages, except
under /api/, where every answer is a problem details body (smartapp/problem_details.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from smartapp import problem_details

_TITLES = {
    400: ("bad_request", "That request could not be understood", "Check the request."),
    403: ("forbidden", "Not allowed", "This request is not allowed."),
    404: ("not_found", "Not found", "No such resource here."),
    500: ("internal_error", "The app failed", "The request id identifies it to support."),
}


def _problem(status: int) -> HttpResponse:
    code, title, detail = _TITLES[status]
    return problem_details.response(status, code, title, detail)


def bad_request(request: HttpRequest, exception: Any) -> HttpResponse:
    if problem_details.is_api(request):
        return _problem(400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Any) -> HttpResponse:
    if problem_details.is_api(request):
        return _problem(403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Any) -> HttpResponse:
    if problem_details.is_api(request):
        return _problem(404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if problem_details.is_api(request):
        return _problem(500)
    return defaults.server_error(request)
