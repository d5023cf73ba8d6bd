"""An active launch behind a page, and what a user can do with it: pick a patient, sign out.

Every page lives under the launch's opaque handle and is served only to the browser session
that owns the launch, so two charts open in two tabs stay apart, and a handle copied to
another browser shows nothing.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from smart.errors import GrantLost, LaunchEnded, LaunchNotFound, PatientUnavailable, SignedOut
from smart.launch_states import LaunchEvent, LaunchState
from smart.scopes import GrantedScopes
from smartapp.clock import clock
from smartapp.fhir.session import SmartSession
from smartapp.launches.browser import browser_of, handles
from smartapp.lock_objects import launch_qs_for_update
from smartapp.models import Launch
from smartapp.vault import tokens

log = logging.getLogger(__name__)


def launch_for(handle: str, session: SessionBase) -> Launch:
    """The launch behind a page URL, only for the browser session that owns it."""
    if handle not in handles(session):
        raise LaunchNotFound("handle not in this session")
    launch = Launch.objects.select_related("connection").filter(handle=handle).first()
    if launch is None or launch.browser != browser_of(session):
        raise LaunchNotFound("handle of another browser")
    if launch.state == LaunchState.SIGNED_OUT:
        raise SignedOut().about(launch.connection)
    if launch.state == LaunchState.REAUTH_REQUIRED:
        raise GrantLost(f"launch is {launch.state}").about(launch.connection)
    if launch.state != LaunchState.ACTIVE:
        raise LaunchEnded(f"launch is {launch.state}").about(launch.connection)
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
        if locked.state == LaunchState.ACTIVE:
            locked.transition(LaunchEvent.SIGNED_OUT)
            locked.save(update_fields=["state", "updated"])
    log.info("signed out", extra={"launch": launch.handle[:6]})


def sign_out_all(session: SessionBase) -> int:
    """End every active launch of this browser session; how many there were."""
    launches = Launch.objects.select_related("connection").filter(
        handle__in=handles(session), browser=browser_of(session), state=LaunchState.ACTIVE
    )
    count = 0
    for launch in launches:
        sign_out(launch)
        count += 1
    return count
