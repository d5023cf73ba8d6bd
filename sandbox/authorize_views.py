"""The sandbox EHR's authorization pages (SMART App Launch 2.x, RFC 6749 4.1).

Authorize is a short state machine carried in a signed, short-lived `txn` (no cookies, so it
works the same in a top-level tab, inside an EHR iframe and from a test's HTTP client):

    authorize -> [sign in] -> [pick patient] -> [consent] -> redirect with code

Each step is skipped when the launch context or the simulation options already answer it.
Errors before the client and redirect URI are known are shown here (never redirected to an
unverified URI); afterwards they go back to the client as RFC 6749 4.1.2.1 says, with
`state` and, per RFC 9207, `iss`. The token, revocation and introspection endpoints are in
`sandbox.token_views`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sandbox.authorization import server
from sandbox.fhir_store import get_store
from sandbox.launch_context import find_launch
from sandbox.oauth_requests import SandboxUser, StoredAuthorizationRequest, oauth_request_for
from sandbox.people import DEFAULT_PATIENT, DEFAULT_PRACTITIONER, people, user_ref
from sandbox.site import SandboxSite
from sandbox.view_helpers import error_page, with_site

TXN_SALT = "sandbox.authorize"
TXN_MAX_AGE_S = 600


def _redirect_error(
    site: SandboxSite,
    redirect_uri: str,
    error: str,
    state: str | None,
    description: str | None = None,
) -> HttpResponse:
    params = {"error": error}
    if description:
        params["error_description"] = description
    if state:
        params["state"] = state
    if site.options.iss_in_response:
        params["iss"] = site.fhir_base
    return HttpResponseRedirect(add_params_to_uri(redirect_uri, params))


def _oauth_error(request: HttpRequest, site: SandboxSite, error: OAuth2Error) -> HttpResponse:
    if error.redirect_uri:
        return _redirect_error(
            site, error.redirect_uri, error.error, request.GET.get("state"), error.description
        )
    return error_page(
        request, "This app's authorization request was refused", error.description or error.error
    )


def _step_url(site: SandboxSite, step: str, txn: dict[str, Any]) -> str:
    token = signing.dumps(txn, salt=TXN_SALT, compress=True)
    return f"{site.auth_url(step)}?{urlencode({'txn': token})}"


def _load_txn(request: HttpRequest) -> dict[str, Any] | None:
    raw = request.POST.get("txn") or request.GET.get("txn")
    if not raw:
        return None
    try:
        txn: dict[str, Any] = signing.loads(raw, salt=TXN_SALT, max_age=TXN_MAX_AGE_S)
    except signing.BadSignature:
        return None
    return txn


def _default_user(requested: list[str], site: SandboxSite) -> str:
    if any(scope.startswith("user/") for scope in requested):
        return f"Practitioner/{DEFAULT_PRACTITIONER}"
    return f"Patient/{site.options.patient or DEFAULT_PATIENT}"


def _advance(site: SandboxSite, txn: dict[str, Any]) -> HttpResponse:
    """Go to the next page this authorization needs, or finish it."""
    options = site.options
    requested = txn["params"]["scope"].split()
    if not txn.get("user"):
        preset = options.user and user_ref(options.user)
        if preset:
            txn["user"] = preset
        elif options.skip_login:
            txn["user"] = _default_user(requested, site)
        else:
            return HttpResponseRedirect(_step_url(site, "login", txn))
    if txn["user"].startswith("Patient/"):
        txn["patient"] = txn["user"].split("/", 1)[1]  # a patient sees their own record
    elif "launch/patient" in requested and not txn.get("patient"):
        if options.skip_login:
            txn["patient"] = options.patient or DEFAULT_PATIENT
        else:
            return HttpResponseRedirect(_step_url(site, "pick-patient", txn))
    if txn.get("granted") is None:
        offered = [s for s in requested if options.grant is None or s in options.grant]
        if options.skip_consent:
            txn["granted"] = offered
        else:
            return HttpResponseRedirect(_step_url(site, "consent", txn))
    return _finish(site, txn)


def _context(site: SandboxSite, txn: dict[str, Any], granted: list[str]) -> dict[str, Any]:
    ehr_launch = bool(txn["params"].get("launch"))
    context: dict[str, Any] = {
        "need_patient_banner": not ehr_launch,
        "smart_style_url": f"{site.origin}/sandbox/smart-style.json",
    }
    wants_patient = {"launch", "launch/patient"} & set(granted) or txn["user"].startswith(
        "Patient/"
    )
    if txn.get("patient") and wants_patient:
        context["patient"] = txn["patient"]
    if txn.get("encounter") and ({"launch", "launch/encounter"} & set(granted)):
        context["encounter"] = txn["encounter"]
        context["fhirContext"] = [{"reference": f"Encounter/{txn['encounter']}"}]
    return context


def _finish(site: SandboxSite, txn: dict[str, Any]) -> HttpResponse:
    params: dict[str, str] = txn["params"]
    granted = [scope for scope in txn["granted"] if scope in params["scope"].split()]
    stored = StoredAuthorizationRequest(f"{site.auth_url('authorize')}?{urlencode(params)}", params)
    stored.sandbox = site
    stored.pending = {
        "granted": " ".join(granted),
        "user": txn["user"],
        "context": _context(site, txn, granted),
    }
    try:
        grant = server.get_consent_grant(stored)
    except OAuth2Error as error:  # the launch expired while the user was on our pages
        if error.redirect_uri:
            return _redirect_error(site, error.redirect_uri, error.error, params.get("state"))
        raise
    response: HttpResponse = server.create_authorization_response(
        stored, grant_user=SandboxUser(txn["user"]), grant=grant
    )
    if site.options.iss_in_response and response.status_code == 302:
        response["Location"] = add_params_to_uri(response["Location"], {"iss": site.fhir_base})
    return response


@never_cache
@require_GET
@with_site
def authorize(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    oauth_request_for(request, site)
    try:
        grant = server.get_consent_grant(request)
    except OAuth2Error as error:
        return _oauth_error(request, site, error)
    state = request.GET.get("state")
    if site.options.auth_error:
        return _redirect_error(
            site, grant.redirect_uri, site.options.auth_error, state, "simulated by the sandbox"
        )
    txn: dict[str, Any] = {"params": request.GET.dict(), "user": None, "patient": None}
    if launch_id := request.GET.get("launch"):
        launch = find_launch(launch_id, site, grant.client.client_id)
        if launch is not None:  # checked by the grant; a race with expiry lands below
            txn.update(
                user=launch.user_ref or None,
                patient=launch.patient or None,
                encounter=launch.encounter or None,
            )
    txn["patient"] = txn.get("patient") or site.options.patient
    txn["encounter"] = txn.get("encounter") or site.options.encounter
    return _advance(site, txn)


def _step(
    request: HttpRequest,
    site: SandboxSite,
    template: str,
    context: Callable[[dict[str, Any]], dict[str, Any]],
    apply: Callable[[dict[str, Any], HttpRequest], str | None],
) -> HttpResponse:
    """One page of the flow: GET shows it, POST applies the choice and moves on."""
    txn = _load_txn(request)
    if txn is None:
        return error_page(
            request,
            "This sign-in has expired",
            "Go back to the app and start again.",
        )
    if request.method == "POST":
        problem = apply(txn, request)
        if problem is None:
            return _advance(site, txn)
        if problem == "denied":
            params = txn["params"]
            return _redirect_error(site, params["redirect_uri"], "access_denied", params["state"])
        return error_page(request, "That choice is not valid", problem)
    token = request.GET["txn"]
    return render(request, template, {"txn": token, "site": site, **context(txn)})


def _apply_login(txn: dict[str, Any], request: HttpRequest) -> str | None:
    user = user_ref(request.POST.get("user", ""))
    if user is None:
        return "Choose a practitioner or a patient from the list."
    txn["user"] = user
    return None


def _apply_patient(txn: dict[str, Any], request: HttpRequest) -> str | None:
    patient = request.POST.get("patient", "")
    if get_store().get("Patient", patient) is None:
        return "Choose a patient from the list."
    txn["patient"] = patient
    return None


def _apply_consent(txn: dict[str, Any], request: HttpRequest) -> str | None:
    if request.POST.get("decision") != "allow":
        return "denied"
    txn["granted"] = request.POST.getlist("scope")
    return None


@csrf_exempt  # the signed txn binds each POST to its own authorization request
@never_cache
@require_http_methods(["GET", "POST"])
@with_site
def login(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    return _step(
        request,
        site,
        "sandbox/login.html",
        lambda txn: {
            "practitioners": people("Practitioner"),
            "patients": people("Patient"),
            "client_id": txn["params"].get("client_id"),
        },
        _apply_login,
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@with_site
def pick_patient(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    return _step(
        request,
        site,
        "sandbox/pick_patient.html",
        lambda txn: {"patients": people("Patient"), "user": txn["user"]},
        _apply_patient,
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@with_site
def consent(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    def context(txn: dict[str, Any]) -> dict[str, Any]:
        requested = txn["params"]["scope"].split()
        offered = [s for s in requested if site.options.grant is None or s in site.options.grant]
        return {"scopes": offered, "client_id": txn["params"].get("client_id"), "user": txn["user"]}

    return _step(request, site, "sandbox/consent.html", context, _apply_consent)
