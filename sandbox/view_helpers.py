"""What every sandbox view needs: the simulated EHR named by the URL, and the error page."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sandbox import stats
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
        answer = view(request, site, *args, **kwargs)
        _wait_for_answer(request)
        return answer

    return wrapper


def paced(request: HttpRequest, resource_type: str, latency_ms: int) -> None:
    """The FHIR call's answer goes out `latency_ms` after it came in (the `latency_ms`
    simulation option), the sandbox's own work done inside that time, as a real EHR's work is
    part of the latency its clients see (`with_site` waits out the rest). A benchmark at
    200 ms per call then measures the app against 200 ms, not 200 ms plus the sandbox's
    CPU time on the app's own cores."""
    request.sandbox_answer = (resource_type, time.monotonic() + latency_ms / 1000)  # type: ignore[attr-defined]


def _wait_for_answer(request: HttpRequest) -> None:
    answer: tuple[str, float] | None = getattr(request, "sandbox_answer", None)
    if answer is None:
        return
    resource_type, at = answer
    time.sleep(max(at - time.monotonic(), 0))
    stats.record(stats.FHIR_ANSWERED, resource_type)


def error_page(request: HttpRequest, title: str, detail: str, status: int = 400) -> HttpResponse:
    return render(request, "sandbox/error.html", {"title": title, "detail": detail}, status=status)
