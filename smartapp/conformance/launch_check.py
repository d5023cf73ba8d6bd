"""`smart_check --launch`: a standalone launch the QA engineer completes in a browser, then
what it was granted and whether its token works (findings: `smart.conformance_launch`).

1. `issue` mints a link to `/smart/check/<ticket>`: the ticket is signed with SECRET_KEY,
   names the connection, launch kind, scopes and a fresh launch handle, and lasts as long as
   an authorization may (10 minutes). Minting it takes shell access to the app; the link
   starts one launch, once (the handle is unique), in whichever browser opens it, and that
   user still signs in at the EHR as themselves.
2. `await_outcome` watches the launch row (shared database) until it is active or ended.
3. `examine` reads, as the app would, each summary resource type in the patient's
   compartment (first page only; counts, never content, are reported), refreshes the token
   once, and signs the launch out so its tokens go back to the EHR. The reads are recorded
   in the PHI access trail like any page's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from smart.conformance import Finding
from smart.conformance_launch import (
    LaunchFacts,
    LaunchOutcome,
    ReadFacts,
    RefreshFacts,
    judge_launch,
)
from smart.errors import BadLaunchRequest, SmartAppError
from smart.launch_states import LaunchState
from smart.scopes import GrantedScopes, LaunchKind
from smartapp import audit
from smartapp.diagnostics.records import LaunchStep
from smartapp.fhir import transport
from smartapp.fhir.session import SmartSession
from smartapp.launches import pages
from smartapp.launches.start import HANDLE_BYTES, STATE_TTL
from smartapp.models import EhrConnection, Launch
from smartapp.qa.debugger import context_received
from smartapp.summary.sections import section_types
from smartapp.vault import store, tokens

SALT = "smartapp.smart-check.launch"
WAITING = frozenset({LaunchState.STARTED, LaunchState.AUTHORIZING, LaunchState.EXCHANGING})
REFUSALS: dict[type[SmartAppError], str] = {
    transport.FhirUnauthorized: "401 unauthorized",
    transport.FhirForbidden: "403 forbidden",
    transport.FhirNotFound: "404 not found",
}


@dataclass(frozen=True)
class Ticket:
    url: str  # to open in a browser
    handle: str  # of the launch it will start


@dataclass(frozen=True)
class Redeemed:
    connection: EhrConnection
    kind: LaunchKind
    scope: str | None
    handle: str


def issue(connection: EhrConnection, kind: LaunchKind, scope: str | None = None) -> Ticket:
    handle = secrets.token_urlsafe(HANDLE_BYTES)
    ticket = signing.dumps(
        {"c": connection.slug, "k": kind.value, "s": scope or "", "h": handle}, salt=SALT
    )
    return Ticket(f"{settings.APP_BASE_URL}{reverse('smart-check-start', args=[ticket])}", handle)


def redeem(ticket: str) -> Redeemed:
    """The launch a ticket asks for; BadLaunchRequest when forged, expired or used."""
    try:
        data = signing.loads(ticket, salt=SALT, max_age=STATE_TTL)
        connection = EhrConnection.objects.get(slug=data["c"], enabled=True)
        redeemed = Redeemed(connection, LaunchKind(data["k"]), data["s"] or None, data["h"])
    except (signing.BadSignature, EhrConnection.DoesNotExist, KeyError, TypeError, ValueError):
        raise BadLaunchRequest("a smart_check link that is not valid or has expired") from None
    if Launch.objects.filter(handle=redeemed.handle).exists():
        raise BadLaunchRequest("a smart_check link used already")
    return redeemed


def await_outcome(
    handle: str, wait_s: float, *, poll_s: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> tuple[Launch | None, LaunchOutcome]:
    """Watch the launch until it is active or ended, for at most `wait_s` seconds."""
    started = time.monotonic()
    launch = None
    while True:
        launch = Launch.objects.select_related("connection").filter(handle=handle).first()
        waited = time.monotonic() - started
        if launch is not None and launch.state not in WAITING:
            return launch, _ended(launch, waited)
        if waited >= wait_s:
            return launch, LaunchOutcome(launch.state if launch else "", waited)
        sleep(poll_s)


def _ended(launch: Launch, waited_s: float) -> LaunchOutcome:
    """The outcome, with the EHR's own words from the recorded steps (the web process writes
    them a moment after the state changes, so they are looked for briefly)."""
    said = None
    for _ in range(10 if launch.state != LaunchState.ACTIVE else 0):
        said = LaunchStep.objects.filter(launch=launch, detail__has_key="ehr_error").last()
        if said is not None:
            break
        time.sleep(0.2)
    detail = said.detail if said is not None else {}
    return LaunchOutcome(
        launch.state,
        waited_s,
        launch.failure_code,
        detail.get("ehr_error"),
        detail.get("ehr_error_description"),
    )


def _read(session: SmartSession, launch: Launch, resource_type: str) -> ReadFacts:
    if not GrantedScopes.parse(launch.granted_scope).can_read(resource_type):
        return ReadFacts(resource_type, "not granted")
    started = time.perf_counter()
    try:
        if resource_type == "Patient":
            session.read_patient(launch.patient_id)
            entries = None
        else:
            params = {"patient": launch.patient_id, "_count": "1"}
            entries = len(session.search(resource_type, params).resources)
    except SmartAppError as error:
        outcome = REFUSALS.get(type(error), error.code)
        return ReadFacts(resource_type, outcome, None, (time.perf_counter() - started) * 1000)
    return ReadFacts(resource_type, "ok", entries, (time.perf_counter() - started) * 1000)


def _refresh(launch: Launch) -> RefreshFacts | None:
    grant = store.grant_of(launch)
    held = store.refresh_token(grant)
    if not held:
        return None
    try:
        tokens.refresh(launch, seen_version=grant.version)
    except SmartAppError as error:
        words = " ".join(w for w in (error.ehr_error, error.ehr_description) if w)
        return RefreshFacts(False, error_code=error.code, ehr_words=words)
    after = store.grant_of(launch)
    return RefreshFacts(True, store.refresh_token(after) != held, after.lifetime_s)


def examine(launch: Launch) -> LaunchFacts:
    """Reads, one refresh, then sign-out (the grant given back to the EHR)."""
    grant = store.grant_of(launch)
    issued, lifetime_s = bool(store.refresh_token(grant)), grant.lifetime_s
    reads: tuple[ReadFacts, ...] = ()
    try:
        if launch.patient_id:
            session = SmartSession(launch)
            types = dict.fromkeys(t for group in section_types().values() for t in group)
            # A command has no client address: the record names the launch and the user.
            with audit.accessed(HttpRequest(), launch, "smart_check"):
                reads = tuple(_read(session, launch, rtype) for rtype in types)
        refreshed = _refresh(launch)
    finally:
        pages.sign_out(launch)
    return LaunchFacts(
        kind=launch.kind,
        requested=launch.requested_scope,
        granted=launch.granted_scope,
        context=context_received(launch),
        lifetime_s=lifetime_s,
        refresh_issued=issued,
        refresh=refreshed,
        reads=reads,
    )


def run(
    connection: EhrConnection,
    *,
    kind: LaunchKind,
    scope: str | None,
    wait_s: float,
    announce: Callable[[str], None],
) -> tuple[Finding, ...]:
    """The whole `--launch` check: the link announced, the launch awaited and examined."""
    ticket = issue(connection, kind, scope)
    announce(ticket.url)
    launch, outcome = await_outcome(ticket.handle, wait_s)
    facts = examine(launch) if launch is not None and outcome.state == LaunchState.ACTIVE else None
    return judge_launch(outcome, facts)
