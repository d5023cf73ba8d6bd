"""The QA pages: standalone launch, the launch debugger, the conformance report.

All of them are for staff, or anyone on a DEBUG deployment (`access.qa_only`); everyone else
gets the ordinary 404. None of them reads a token: the debugger shows what was recorded about
a launch (`debugger`), the report what an EHR publishes (`smartapp.conformance`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_http_methods

from smart.errors import SmartAppError
from smart.launch_states import LaunchState
from smart.scopes import LaunchKind
from smartapp import discovery
from smartapp.conformance.checks import run_checks
from smartapp.launches.start import requested_scope
from smartapp.models import EhrConnection, Launch
from smartapp.qa import debugger
from smartapp.qa.access import qa_only

QA_KINDS = (LaunchKind.PATIENT, LaunchKind.PROVIDER)


@dataclass(frozen=True)
class ScopePreview:
    connection: EhrConnection
    kind: LaunchKind
    scope: str
    note: str  # why the preview may differ from what is sent ("" when it is exact)


def _previews(connections: list[EhrConnection]) -> list[ScopePreview]:
    """The scopes each launch kind would request from each EHR, in its profile's syntax."""
    previews = []
    for connection in connections:
        try:
            config = discovery.discover(connection)
        except SmartAppError as error:
            note = f"discovery failed ({error.code}); the profile's syntax is not applied here"
            for kind in QA_KINDS:
                previews.append(ScopePreview(connection, kind, connection.scopes_for(kind), note))
            continue
        for kind in QA_KINDS:
            scope = requested_scope(connection, kind, config, None)
            previews.append(ScopePreview(connection, kind, scope, ""))
    return previews


@qa_only
@require_GET
def qa_launch(request: HttpRequest) -> HttpResponse:
    connections = list(EhrConnection.objects.filter(enabled=True))
    return render(
        request,
        "smartapp/qa_launch.html",
        {"connections": connections, "kinds": QA_KINDS, "previews": _previews(connections)},
    )


@qa_only
@require_GET
def launches(request: HttpRequest) -> HttpResponse:
    """Recent launches; `?ref=` finds the launch behind an error page's reference."""
    ref = request.GET.get("ref", "").strip()[:64]
    connection = request.GET.get("connection", "")[:50]
    state = request.GET.get("state", "")
    if state not in LaunchState.__members__.values():
        state = ""
    found = debugger.launches_matching(ref=ref, connection=connection, state=state)
    return render(
        request,
        "smartapp/qa/launches.html",
        {
            "launches": found,
            "ref": ref,
            "connection": connection,
            "state": state,
            "states": [s.value for s in LaunchState],
            "connections": EhrConnection.objects.all(),
        },
    )


@qa_only
@require_GET
def launch_detail(request: HttpRequest, handle: str) -> HttpResponse:
    launch = get_object_or_404(Launch.objects.select_related("connection"), handle=handle)
    return render(request, "smartapp/qa/launch.html", {"debug": debugger.launch_debug(launch)})


@qa_only
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """`smart_check`'s report on a page, for a registered connection only: the page never
    fetches a URL a visitor typed (the command, run by an operator, takes any `iss`). The
    checks run on a POST with the CSRF token: they call the EHR with the app's credentials,
    which another site must not be able to make a staff browser do."""
    connections = list(EhrConnection.objects.all())
    wanted = request.POST.get("connection") if request.method == "POST" else None
    chosen = next((c for c in connections if c.slug == wanted), None)
    report = run_checks(chosen.iss, chosen) if chosen is not None else None
    return render(
        request,
        "smartapp/qa/check.html",
        {"connections": connections, "chosen": chosen, "report": report},
    )
