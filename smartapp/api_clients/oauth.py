"""`POST /api/v1/oauth/token`: access tokens for service clients (RFC 6749 4.4).

This view is the edge: it turns everything Authlib should not have to judge into an RFC 6749
5.2 error, so no input gives a 500: another method (405), a body that is not a form (RFC
6749 4.4.2 requires `application/x-www-form-urlencoded`), a body Django cannot parse, a
parameter given twice (RFC 6749 3.2), a missing or foreign `grant_type` (never echoed back),
credentials both in the header and the body (RFC 6749 2.3: one method only). The rest is
`oauth_server`. Every answer carries `Cache-Control: no-store` (RFC 6749 5.1). Nothing here
logs the request's body or headers: they hold the secret.
"""

from __future__ import annotations

import functools
import json

from authlib.oauth2.rfc6749 import InsecureTransportError
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from smartapp.api_clients.oauth_server import GRANT_TYPE, ApiAuthorizationServer

FORM = "application/x-www-form-urlencoded"
SINGLE = ("grant_type", "scope", "client_id", "client_secret")


@functools.cache
def server() -> ApiAuthorizationServer:
    return ApiAuthorizationServer()


def _error(error: str, description: str, status: int = 400) -> HttpResponse:
    response = HttpResponse(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        content_type="application/json",
    )
    response["Pragma"] = "no-cache"
    return response


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """The RFC 6749 error for a request Authlib should never see, or None."""
    if request.content_type != FORM:
        return _error("invalid_request", f"the body must be {FORM}")
    try:
        form = request.POST
    except (RequestDataTooBig, TooManyFieldsSent):
        return _error("invalid_request", "the body is too large")
    except (SuspiciousOperation, MultiPartParserError, UnicodeDecodeError, ValueError):
        return _error("invalid_request", "the body cannot be read")
    if any(len(form.getlist(name)) > 1 for name in SINGLE):
        return _error("invalid_request", "a parameter is repeated")
    grant_type = form.get("grant_type")
    if not grant_type:
        return _error("invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        return _error("unsupported_grant_type", f"only grant_type={GRANT_TYPE} is supported")
    if "authorization" in request.headers and ("client_secret" in form or "client_id" in form):
        return _error("invalid_request", "use one client authentication method, not two")
    return None


def _grant(request: HttpRequest) -> HttpResponse:
    try:
        response: HttpResponse = server().create_token_response(request)
    except InsecureTransportError:
        # Authlib's rule (RFC 6749 3.2 requires TLS): plain HTTP only on a loopback host.
        return _error("invalid_request", "use https")
    return response


@csrf_exempt  # authenticated by client credentials, never by cookies
def token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = _error("invalid_request", "use POST", status=405)
        response["Allow"] = "POST"
    else:
        response = _refusal(request) or _grant(request)
    response["Cache-Control"] = "no-store"
    return response
