"""A WSGI handler that serves the sandbox's URLconf, and nothing of the app's."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase

URLCONF = "sandbox.urls"


class SandboxHandler(WSGIHandler):
    """Routes every request through `sandbox.urls` (Django honours `request.urlconf`)."""

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        request.urlconf = URLCONF  # type: ignore[attr-defined]
        return super().get_response(request)
