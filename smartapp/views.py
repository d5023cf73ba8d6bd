"""The SMART entry points: EHR launch, standalone start, callback, our JWKS (the QA pages are
`smartapp.qa.views`).

Views parse, call the launch services (`smartapp.launches`), set the launch's own cookie
(`launches.browser`) and redirect or render; SmartAppError becomes the error page in
middleware. Everything under `/smart/` carries `Referrer-Policy: no-referrer`, error pages
included (`middleware.NoReferrerMiddleware`), so neither the EHR's `launch` nor the
authorization `code` leaks through a Referer header, and the callback ends in a 303 to a clean
URL so reload and back cannot replay the code. Launch starts are budgeted per client address
(`launches.throttle`) before anything is written.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from smart.errors import BadLaunchRequest
from smart.scopes import LaunchKind
from smartapp import registry
from smartapp.conformance import launch_check
from smartapp.launches import browser, pages, throttle
from smartapp.launches import callback as launch_callback
from smartapp.launches import start as launch_start
from smartapp.middleware import allow_framing
from smartapp.models import EhrConnection
from smartapp.qa.access import qa_allowed


def _no_referrer(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _to_ehr(request: HttpRequest, started: launch_start.Started) -> HttpResponse:
    response = HttpResponseRedirect(started.url)
    browser.set_cookie(response, started.binding, int(launch_start.STATE_TTL.total_seconds()))
    # Starts add cookies too: prune here as well, or a page that keeps starting launches in
    # this browser could grow its Cookie header past what servers accept (a 400 everywhere).
    for handle in pages.surplus_cookies(request.COOKIES, keep=started.binding.handle):
        browser.delete_cookie(response, handle)
    return _no_referrer(response)


@never_cache
@require_GET
def ehr_launch(request: HttpRequest) -> HttpResponse:
    iss = request.GET.get("iss")
    connection = registry.enabled_connection(iss) if iss else None
    allow_framing(request, connection.frame_origins if connection else [])
    if connection is not None and request.GET.get("launch"):
        throttle.check_launch_budget(request)  # only starts that would write are counted
    started = launch_start.start_ehr_launch(iss=iss, launch_param=request.GET.get("launch"))
    return _to_ehr(request, started)


@never_cache
@require_POST
def standalone_start(request: HttpRequest) -> HttpResponse:
    """Portal "Sign in with ..." (patients) and the QA page (provider launches, scopes)."""
    connection = get_object_or_404(
        EhrConnection, slug=request.POST.get("connection", ""), enabled=True
    )
    try:
        kind = LaunchKind(request.POST.get("kind", LaunchKind.PATIENT))
    except ValueError as exc:
        raise BadLaunchRequest("unknown launch kind") from exc
    if kind is LaunchKind.EHR:
        raise BadLaunchRequest("EHR launches start from the EHR")
    scope = " ".join(request.POST.get("scope", "").split()) or None
    if (kind is LaunchKind.PROVIDER or scope) and not qa_allowed(request):
        raise BadLaunchRequest("provider launches and custom scopes are for QA and staff")
    throttle.check_launch_budget(request)
    return _to_ehr(request, launch_start.start(connection=connection, kind=kind, scope=scope))


@never_cache
@require_GET
def check_launch(request: HttpRequest, ticket: str) -> HttpResponse:
    """The link `smart_check --launch` prints: its standalone launch, started in this browser
    (the signed ticket is the permission: `conformance.launch_check`)."""
    redeemed = launch_check.redeem(ticket)
    throttle.check_launch_budget(request)
    try:
        started = launch_start.start(
            connection=redeemed.connection,
            kind=redeemed.kind,
            scope=redeemed.scope,
            handle=redeemed.handle,
        )
    except IntegrityError as exc:  # the same link opened twice at once: the handle is taken
        raise BadLaunchRequest("a smart_check link used already") from exc
    return _to_ehr(request, started)


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    params = launch_callback.CallbackParams.from_query(request.GET)
    completed = launch_callback.complete_callback(params, request.COOKIES)
    launch = completed.launch
    allow_framing(request, launch.connection.frame_origins)
    target = reverse("portal:summary", args=[launch.handle])
    if not launch.patient_id:
        target = reverse("portal:patient-search", args=[launch.handle])
    response = HttpResponseRedirect(target, status=303)
    browser.set_cookie(response, completed.binding, settings.SESSION_COOKIE_AGE)
    for handle in pages.surplus_cookies(request.COOKIES, keep=launch.handle):
        browser.delete_cookie(response, handle)
    return _no_referrer(response)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """Public keys for `private_key_jwt` (SMART client-confidential-asymmetric)."""
    response = JsonResponse(registry.public_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
