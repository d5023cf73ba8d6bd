"""The two ways in, as OpenAPI security schemes; neither ever hands out an EHR token.

- **Browser** (`BrowserCall`): the launch's own cookie (`smartapp_l_<handle>`, checked by
  `launch_for` against the launch's row) plus the anti-forgery header `X-CSRF: 1` on every
  call, as Duende BFF does. A page of another site cannot send a custom header to this origin
  without a CORS preflight, and the API grants no CORS, so the header proves the call came
  from this origin's own script; the launch cookies must be `SameSite=None` to work in the
  EHR's iframe, so SameSite cannot be that proof. A browser that marks the call `cross-site`
  (`Sec-Fetch-Site`) is refused too.
- **Service clients** (`ServiceBearer`): an access token from this app's token endpoint
  (client credentials, smartapp/api_clients), bound to the client's tenants and scopes, under
  the client's rate limit.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyHeader, HttpBearer

from api.problems import ApiProblem
from smartapp.api_clients import bearer, rate_limit
from smartapp.api_clients.bearer import ClientGrant
from smartapp.observability import metrics

ANTIFORGERY_HEADER = "X-CSRF"


class BrowserCall(APIKeyHeader):
    param_name = ANTIFORGERY_HEADER
    openapi_description = "Browser calls: the launch's session cookie plus `X-CSRF: 1`."

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if key != "1" or request.headers.get("Sec-Fetch-Site") == "cross-site":
            raise ApiProblem(
                403,
                "antiforgery_header_required",
                "Missing anti-forgery header",
                "Browser calls must send the header `X-CSRF: 1` from this app's own pages.",
            )
        return "browser"


def require_scope(request: HttpRequest, scope: str) -> ClientGrant:
    grant: ClientGrant = request.auth  # type: ignore[attr-defined]
    if scope not in grant.scopes:
        raise ApiProblem(
            403,
            "insufficient_scope",
            "Insufficient scope",
            f"This call needs the scope `{scope}`.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )
    return grant


_BEARER = re.compile(r"Bearer +(\S+)", re.IGNORECASE)


class ServiceBearer(HttpBearer):
    openapi_description = (
        "Service clients: `Authorization: Bearer <token>` from POST /api/v1/oauth/token "
        "(client credentials)."
    )

    def __call__(self, request: HttpRequest) -> ClientGrant | None:
        # Parsed here, not by ninja's HttpBearer: with DEBUG on it logs a malformed header
        # whole, at ERROR, and a client that leaves off "Bearer " sends its live token.
        found = _BEARER.fullmatch(request.headers.get("Authorization", "").strip())
        return self.authenticate(request, found.group(1)) if found else None

    def authenticate(self, request: HttpRequest, token: str) -> ClientGrant | None:
        grant = bearer.grant_for(token)
        if grant is None:
            metrics.API_CALLS.labels(metrics.UNKNOWN, "refused").inc()
            return None
        wait = rate_limit.retry_after(grant)
        outcome = "accepted" if wait is None else "rate_limited"
        metrics.API_CALLS.labels(grant.client_id, outcome).inc()
        if wait is not None:
            raise ApiProblem(
                429,
                "rate_limited",
                "Too many requests",
                f"This client may make {grant.rate_limit_per_minute} calls a minute.",
                headers={"Retry-After": str(wait)},
            )
        return grant
