"""A WSGI handler that serves the sandbox's URLconf, and nothing of the app's."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase

URLCONF = "sandbox.urls"
# The sandbox plays an EHR, not this app: its pages may be framed by its own chart (the sign-in
# pages show inside the chart's iframe) and its chart frames the app on another origin. The
# app's strict policy, added by the shared middleware, is replaced by this one.
CONTENT_SECURITY_POLICY = "frame-ancestors 'self'; object-src 'none'; base-uri 'none'"


class SandboxHandler(WSGIHandler):
    """Routes every request through `sandbox.urls` (Django honours `request.urlconf`)."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = URLCONF  # type: ignore[attr-defined]
        response = super().get_response(request)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
