"""The sandbox EHR's OAuth endpoints called by the app's server, not the browser: token
(RFC 6749 3.2, with the `token_error`, `token_response` and `token_delay_ms` simulation
options), revocation (RFC 7009, also slowed by `token_delay_ms`), introspection (RFC 7662),
and the JWKS that verifies its id_tokens (the `jwks` simulation option: "down" answers 503,
"empty" an empty key set, for clients' and `smart_check`'s handling of a JWKS that fails).

`token_delay_ms` is a slow EHR, not one that gives up: the token endpoint does the grant
first and then waits, so a refresh token the client stopped waiting for is spent all the same
(what a client that replays it after a timeout runs into); the revocation endpoint waits
first, so the tokens stay live until it answers.

Token responses carry `Cache-Control: no-store` (RFC 6749 5.1).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from joserfc import jws
from joserfc.errors import JoseError

from sandbox import stats
from sandbox.authorization import server
from sandbox.id_tokens import public_jwks
from sandbox.oauth_requests import oauth_request_for
from sandbox.site import SandboxSite
from sandbox.view_helpers import with_site


def _claimed_client(request: HttpRequest) -> str:
    """For the stats only: who the request says it is, before any check."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            return base64.b64decode(header[6:]).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            return "?"
    if assertion := request.POST.get("client_assertion"):
        try:
            return str(json.loads(jws.extract_compact(assertion.encode()).payload)["sub"])
        except (JoseError, ValueError, KeyError, TypeError):
            return "?"
    return request.POST.get("client_id", "?")


@csrf_exempt  # OAuth token endpoint: authenticated by client credentials, not cookies
@never_cache
@require_POST
@with_site
def token(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    response = _grant(request, site)
    _delay(site)  # after the grant: its outcome stands whether or not the client still waits
    return response


def _grant(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    grant_type = request.POST.get("grant_type", "?")
    stats.record(stats.TOKEN_REQUESTS, f"{grant_type} {_claimed_client(request)}")
    rule = site.options.token_error
    if rule and rule.grant_type in (None, grant_type):
        successes = stats.value(stats.GRANT_SUCCESSES, f"{site.key} {grant_type}")
        if successes >= rule.after:
            status = {
                "invalid_client": 401,
                "server_error": 500,
                "temporarily_unavailable": 503,
            }.get(rule.error, 400)
            return JsonResponse(
                {"error": rule.error, "error_description": "simulated by the sandbox"},
                status=status,
            )
    oauth_request_for(request, site)
    response: HttpResponse = server.create_token_response(request)
    if response.status_code == 200:
        stats.record(stats.GRANT_SUCCESSES, f"{site.key} {grant_type}")
        spoil = site.options.token_response
        if spoil and grant_type == "authorization_code":
            body = {k: v for k, v in json.loads(response.content).items() if k not in spoil.omit}
            response = JsonResponse({**body, **spoil.set})
    response["Cache-Control"] = "no-store"
    return response


def _delay(site: SandboxSite) -> None:
    if site.options.token_delay_ms:
        time.sleep(site.options.token_delay_ms / 1000)


def _token_endpoint(name: str) -> Callable[..., HttpResponse]:
    """RFC 7009 revocation and RFC 7662 introspection: Authlib's endpoints, per simulated EHR."""

    @csrf_exempt
    @require_POST
    @with_site
    def view(request: HttpRequest, site: SandboxSite) -> HttpResponse:
        if name == "revocation":
            _delay(site)  # before revoking: the tokens stay live while the EHR dawdles
        oauth_request_for(request, site)
        response: HttpResponse = server.create_endpoint_response(name, request)
        return response

    return view


revoke = _token_endpoint("revocation")
introspect = _token_endpoint("introspection")


@require_GET
@with_site
def jwks(request: HttpRequest, site: SandboxSite) -> JsonResponse:
    if site.options.jwks == "down":
        return JsonResponse(
            {"error": "temporarily_unavailable", "error_description": "simulated by the sandbox"},
            status=503,
        )
    if site.options.jwks == "empty":
        return JsonResponse({"keys": []})
    return JsonResponse(public_jwks())
