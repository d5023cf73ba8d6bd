"""Who may use the QA tools: staff, or anyone on a non-production (DEBUG) deployment.

Everyone else gets the ordinary 404 page, so the tools' existence is not advertised.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def qa_allowed(request: HttpRequest) -> bool:
    return bool(settings.DEBUG or (request.user.is_authenticated and request.user.is_staff))


def qa_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view for QA and staff; a 404 page for anyone else."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not qa_allowed(request):
            return render(request, "404.html", status=404)
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    return guarded
