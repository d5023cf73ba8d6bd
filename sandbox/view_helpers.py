"""What every sandbox view needs: the simulated EHR named by the URL, and the error page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sandbox.simulation import SimulationError
from sandbox.site import SandboxSite

P = ParamSpec("P")


def with_site(
    view: Callable[Concatenate[HttpRequest, SandboxSite, P], HttpResponse],
) -> Callable[..., HttpResponse]:
    """Resolve the simulated EHR from the URL; a bad option blob is a 400, not a 500."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, sim: str | None = None, **kwargs: Any) -> Any:
        try:
            site = SandboxSite.from_request(request, sim)
        except SimulationError as exc:
            return JsonResponse({"error": "invalid_simulation", "detail": str(exc)}, status=400)
        return view(request, site, *args, **kwargs)

    return wrapper


def error_page(request: HttpRequest, title: str, detail: str, status: int = 400) -> HttpResponse:
    return render(request, "sandbox/error.html", {"title": title, "detail": detail}, status=status)
