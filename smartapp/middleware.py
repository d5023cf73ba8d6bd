"""The app's edges: one error page, partitioned cookies, and who may frame a page.

- SmartErrorMiddleware turns every SmartAppError into the same page with its status, title,
  message and next step, and the EHR's own words when it gave a reason (sanitised); no
  token, code or trace is ever on it. Staff also get a link to the launch's debugger.
- NoReferrerMiddleware keeps `Referrer-Policy: no-referrer` on every answer under `/smart/`,
  error pages included: those URLs carry the EHR's `launch` and the authorization `code`.
- PartitionedCookieMiddleware adds `Partitioned` (CHIPS) to the session and CSRF cookies and to
  each launch's own cookie (`smartapp.launches.browser`): inside
  an EHR's iframe the app is a third party, and browsers that partition third-party cookies
  keep such a cookie per embedding site. Django 5.2 has no setting for it.
- FramingMiddleware sets the Content-Security-Policy, with `frame-ancestors` listing the EHR
  origins of the connection in use (views put them on `request.frame_ancestors`) and `'none'`
  everywhere else. Such pages drop X-Frame-Options, which cannot express an allow-list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import Morsel
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse

from smart.errors import BadInput, NextStep, SmartAppError
from smartapp import problem_details
from smartapp.launches.browser import COOKIE_PREFIX as LAUNCH_COOKIE_PREFIX
from smartapp.qa.access import qa_allowed
from smartapp.request_id import current_request_id

log = logging.getLogger(__name__)

NO_REFERRER_PREFIX = "/smart/"  # the EHR launch, the standalone start, the callback
BASE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'"
)


def render_error(request: HttpRequest, error: SmartAppError) -> HttpResponse:
    if problem_details.is_api(request):  # JSON callers get problem details, not the page
        return problem_details.for_error(error)
    context = {
        "error": error,
        "relaunch": error.next_step == NextStep.RELAUNCH,
        "try_again": error.next_step == NextStep.TRY_AGAIN,
        "request_id": current_request_id(),
        "debug_url": reverse("qa-launch-detail", args=[error.launch_handle])
        if error.launch_handle and qa_allowed(request)
        else None,
    }
    response = render(request, "smartapp/error.html", context, status=error.status)
    response["Cache-Control"] = "no-store"
    retry_after = getattr(error, "retry_after_s", None)
    if retry_after:
        response["Retry-After"] = str(int(retry_after))
    if request.path.startswith(NO_REFERRER_PREFIX):
        response["Referrer-Policy"] = "no-referrer"
    return response


class NoReferrerMiddleware:
    """`Referrer-Policy: no-referrer` on everything under `/smart/`, whatever the answer (an
    error page, Django's own 404 or 500). Listed below SecurityMiddleware, which only sets the
    site-wide `same-origin` where no policy is set yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(NO_REFERRER_PREFIX):
            response["Referrer-Policy"] = "no-referrer"
        return response


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _fields(query: QueryDict) -> list[str]:
    """Every name and value of a query string or form, for the NUL check."""
    return [text for name, values in query.lists() for text in (name, *values)]


class RejectNulMiddleware:
    """A NUL byte is never valid input here, and PostgreSQL refuses it in text (a DataError,
    a 500). Refuse it at the edge, for every view, with the ordinary error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        values = [request.path, *_fields(request.GET)]
        if request.method == "POST" and request.content_type in FORM_TYPES:
            try:
                values += _fields(request.POST)
            except (MultiPartParserError, RequestDataTooBig, TooManyFieldsSent):
                return render_error(request, BadInput("a form body that cannot be read"))
        if any("\x00" in value for value in values):
            return render_error(request, BadInput("NUL byte in the request"))
        return self.get_response(request)


class SmartErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SmartAppError):
            return None
        log.warning(
            "request refused",
            extra={
                "error_code": exception.code,
                "detail": exception.detail,
                "status": exception.status,
            },
        )
        if exception.frame_origins and not getattr(request, "frame_ancestors", None):
            allow_framing(request, exception.frame_origins)
        return render_error(request, exception)


class _PartitionedMorsel(Morsel[str]):
    """A Morsel that knows the `Partitioned` flag (the stdlib learns it only in 3.14)."""

    _reserved: ClassVar[dict[str, str]] = {**Morsel._reserved, "partitioned": "Partitioned"}  # type: ignore[attr-defined]
    _flags: ClassVar[set[str]] = {*Morsel._flags, "partitioned"}  # type: ignore[attr-defined]


class PartitionedCookieMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.names = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}

    def _ours(self, name: str) -> bool:
        return name in self.names or name.startswith(LAUNCH_COOKIE_PREFIX)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name in [name for name in response.cookies if self._ours(name)]:
            old = response.cookies[name]
            if not old["secure"]:
                continue  # browsers accept Partitioned only on Secure cookies
            morsel = _PartitionedMorsel()
            morsel.set(old.key, old.value, old.coded_value)
            for attribute, value in old.items():
                morsel[attribute] = value
            morsel["partitioned"] = True
            dict.__setitem__(response.cookies, name, morsel)
        return response


class FramingMiddleware:
    """Listed after XFrameOptionsMiddleware, so it sees the response first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        origins = framing_csp(request)
        response.setdefault("Content-Security-Policy", origins.policy)
        if origins.allowed:
            response.xframe_options_exempt = True
        return response


@dataclass(frozen=True)
class FramingPolicy:
    """Who may frame a response: the launch's registered EHR origins, else nobody."""

    allowed: tuple[str, ...]

    @property
    def policy(self) -> str:
        ancestors = " ".join(self.allowed) if self.allowed else "'none'"
        return f"{BASE_CSP}; frame-ancestors {ancestors}"


def framing_csp(request: HttpRequest) -> FramingPolicy:
    return FramingPolicy(tuple(getattr(request, "frame_ancestors", [])))


def allow_framing(request: HttpRequest, origins: list[str] | Any) -> None:
    request.frame_ancestors = list(origins or [])  # type: ignore[attr-defined]
