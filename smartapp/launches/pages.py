"""An active launch behind a page, and what a user can do with it: pick a patient, sign out.

Every page lives under the launch's opaque handle and is served only to the browser holding
that launch's own cookie (`browser`), so two charts open in two tabs stay apart, and a handle
copied to another browser shows nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from django.db import transaction

from smart.errors import GrantLost, LaunchEnded, LaunchNotFound, PatientUnavailable, SignedOut
from smart.launch_states import LaunchEvent, LaunchState
from smart.scopes import GrantedScopes, LaunchKind
from smartapp.clock import clock
from smartapp.fhir.session import SmartSession
from smartapp.launches.browser import MAX_LAUNCHES_PER_BROWSER, handles_in, owns
from smartapp.lock_objects import launch_qs_for_update
from smartapp.models import EhrConnection, Launch
from smartapp.observability import metrics
from smartapp.vault import store, tokens

log = logging.getLogger(__name__)


def launch_for(handle: str, cookies: Mapping[str, str]) -> Launch:
    """The launch behind a page URL, only for the browser that holds its cookie."""
    # The grant comes with it: the page's first check that it is alive needs no query more.
    launch = Launch.objects.select_related("connection", "grant").filter(handle=handle).first()
    if launch is None or not owns(cookies, handle, launch.browser):
        raise LaunchNotFound("handle of another browser")
    store.keep_read_with_launch(launch)
    if launch.state == LaunchState.SIGNED_OUT:
        raise SignedOut().of_launch(launch)
    if launch.state == LaunchState.REAUTH_REQUIRED:
        raise GrantLost(f"launch is {launch.state}").of_launch(launch)
    if launch.state != LaunchState.ACTIVE:
        raise LaunchEnded(f"launch is {launch.state}").of_launch(launch)
    return launch


def choose_patient(launch: Launch, patient_id: str) -> None:
    """Provider launch: set the patient the user picked, after checking it can be read."""
    if not GrantedScopes.parse(launch.granted_scope).user_level_patients:
        raise PatientUnavailable("this launch may not choose patients")
    SmartSession(launch).read_patient(patient_id)
    Launch.objects.filter(pk=launch.pk).update(patient_id=patient_id, updated=clock().now())
    launch.patient_id = patient_id


def sign_out(launch: Launch) -> None:
    """End one active launch: revoke and delete its tokens, then `signed_out`."""
    tokens.revoke_and_forget(launch)
    with transaction.atomic():
        locked = launch_qs_for_update(launch.pk).get()
        signed_out = locked.state == LaunchState.ACTIVE
        if signed_out:
            locked.transition(LaunchEvent.SIGNED_OUT)
            locked.save(update_fields=["state", "updated"])
    if signed_out:
        metrics.SIGN_OUTS.labels(launch.connection.slug).inc()
        metrics.SESSIONS_ENDED.labels(launch.connection.slug, "sign_out").inc()
    log.info("signed out", extra={"launch": launch.handle[:6]})


def _held(cookies: Mapping[str, str]) -> list[Launch]:
    """The launches whose cookie this browser holds, checked against their rows."""
    rows = Launch.objects.select_related("connection").filter(handle__in=handles_in(cookies))
    return [launch for launch in rows if owns(cookies, launch.handle, launch.browser)]


def active_launches(cookies: Mapping[str, str]) -> list[Launch]:
    """The active launches this browser holds (its own cookie checked), newest first."""
    held = [launch for launch in _held(cookies) if launch.state == LaunchState.ACTIVE]
    return sorted(held, key=lambda launch: launch.created, reverse=True)


def picks_patient(launch: Launch) -> bool:
    """A provider launch (no patient context from the EHR) that finds its patient here."""
    return (
        launch.kind == LaunchKind.PROVIDER
        and GrantedScopes.parse(launch.granted_scope).user_level_patients
    )


def sign_out_all(cookies: Mapping[str, str]) -> list[Launch]:
    """End every active launch of this browser; the launches it held (their cookies can go)."""
    held = _held(cookies)
    for launch in held:
        if launch.state == LaunchState.ACTIVE:
            sign_out(launch)
    return held


def surplus_cookies(cookies: Mapping[str, str], keep: str) -> list[str]:
    """Handles whose cookies this browser need not keep: launches deleted by housekeeping, and
    the oldest beyond MAX_LAUNCHES_PER_BROWSER (`keep`, the new one, stays).

    Only the rows' existence and age are read, never the presented secrets: a launch in
    another tab may have just rotated its secret, and its new cookie is on its way."""
    presented = set(handles_in(cookies)) - {keep}
    rows = Launch.objects.filter(handle__in=presented).order_by("-created")
    live = list(rows.values_list("handle", flat=True))
    return sorted(presented - set(live[: MAX_LAUNCHES_PER_BROWSER - 1]))


def frame_origins_of(slugs: Sequence[str]) -> list[str]:
    """The EHR origins that may frame the pages after a sign-out from these connections."""
    origins: list[str] = []
    for connection in EhrConnection.objects.filter(slug__in=list(slugs), enabled=True):
        origins += [origin for origin in connection.frame_origins if origin not in origins]
    return origins
