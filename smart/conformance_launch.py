"""`smart_check --launch`: what a live standalone launch showed, judged (pure).

After the QA engineer completes a launch in a browser, `smartapp.conformance.launch_check`
gathers what happened into `LaunchOutcome` and `LaunchFacts`; `judge_launch` turns them into
findings like the static checks' (`smart.conformance`). Sources: SMART App Launch 2.2 "App
Launch" (scopes and launch context, the token response, refresh), RFC 6749 5.1 and 6, and
the FHIR R4 patient compartment searches the summary makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smart.conformance import Finding, Status
from smart.launch_report import scope_diff

LAUNCH = "SMART App Launch 2.2 §App Launch"
SCOPES = "SMART App Launch 2.2 §Scopes and Launch Context"
TOKEN_RESPONSE = "SMART App Launch 2.2 §Obtain access token (RFC 6749 5.1)"  # noqa: S105
REFRESH = "SMART App Launch 2.2 §Refresh access token (RFC 6749 6)"
API = "SMART App Launch 2.2 §Access FHIR API; FHIR R4 §3.1.0.6 compartments"
MAX_RECOMMENDED_LIFETIME_S = 3600  # SMART: access tokens should last an hour or less


@dataclass(frozen=True)
class LaunchOutcome:
    """How the launch ended: `active`, a terminal state, or "" when it never came back."""

    state: str
    waited_s: float
    failure_code: str = ""
    ehr_error: str | None = None
    ehr_error_description: str | None = None


@dataclass(frozen=True)
class RefreshFacts:
    ok: bool
    rotated: bool = False
    lifetime_s: int | None = None
    error_code: str = ""
    ehr_words: str = ""


@dataclass(frozen=True)
class ReadFacts:
    resource_type: str
    outcome: str  # "ok", "not granted", or the error code
    entries: int | None = None
    duration_ms: float | None = None


@dataclass(frozen=True)
class LaunchFacts:
    kind: str  # patient or provider
    requested: str
    granted: str
    context: Mapping[str, str]  # name -> value, for the context that came
    lifetime_s: int
    refresh_issued: bool
    refresh: RefreshFacts | None  # None: not tried (no refresh token)
    reads: tuple[ReadFacts, ...]


def _outcome_finding(outcome: LaunchOutcome) -> Finding:
    title = "The standalone launch completes"
    if outcome.state == "active":
        return Finding(
            "launch.completed",
            title,
            Status.PASS,
            LAUNCH,
            f"active after {outcome.waited_s:.0f} s",
        )
    if not outcome.state or outcome.state in ("started", "authorizing", "exchanging"):
        state = outcome.state or "never started"
        seen = f"not completed within {outcome.waited_s:.0f} s (state: {state})"
        return Finding(
            "launch.completed",
            title,
            Status.FAIL,
            LAUNCH,
            seen,
            "Open the printed link in a browser and sign in at the EHR; give --wait more time",
        )
    said = " ".join(w for w in (outcome.ehr_error, outcome.ehr_error_description) if w)
    return Finding(
        "launch.completed",
        title,
        Status.FAIL,
        LAUNCH,
        f"ended {outcome.state} ({outcome.failure_code or 'no code'})"
        + (f"; the EHR said: {said}" if said else ""),
        "See the launch in the debugger (/qa/launches) for the step that failed",
    )


def _scope_finding(facts: LaunchFacts) -> Finding:
    diff = scope_diff(facts.requested, facts.granted)
    if not diff.narrowed:
        return Finding(
            "launch.scopes", "Scopes granted as requested", Status.PASS, SCOPES, "all granted"
        )
    seen = "; ".join(
        part
        for part in (
            f"not granted: {' '.join(diff.not_granted)}" if diff.not_granted else "",
            f"granted without asking: {' '.join(diff.not_asked)}" if diff.not_asked else "",
        )
        if part
    )
    return Finding(
        "launch.scopes",
        "Scopes granted as requested",
        Status.WARN,
        SCOPES,
        seen,
        "Register the app at the EHR for these scopes, or change the connection's scopes",
    )


def _context_finding(facts: LaunchFacts) -> Finding:
    received = ", ".join(f"{name}={value}" for name, value in sorted(facts.context.items()))
    if facts.kind == "patient" and "patient" not in facts.context:
        return Finding(
            "launch.context",
            "Launch context received",
            Status.FAIL,
            SCOPES,
            f"no patient for a patient launch (received: {received or 'nothing'})",
            "The EHR must return `patient` when launch/patient is granted",
        )
    return Finding(
        "launch.context",
        "Launch context received",
        Status.PASS,
        SCOPES,
        received or "none (a provider launch picks its patient in the app)",
    )


def _lifetime_finding(facts: LaunchFacts) -> Finding:
    seen = f"expires_in {facts.lifetime_s} s"
    if facts.lifetime_s > MAX_RECOMMENDED_LIFETIME_S:
        return Finding(
            "launch.token_lifetime",
            "Access token lifetime",
            Status.WARN,
            TOKEN_RESPONSE,
            seen,
            "SMART recommends access tokens that last an hour or less",
        )
    return Finding(
        "launch.token_lifetime", "Access token lifetime", Status.PASS, TOKEN_RESPONSE, seen
    )


def _refresh_findings(facts: LaunchFacts) -> tuple[Finding, ...]:
    issued = Finding(
        "launch.refresh_token",
        "Refresh token issued",
        Status.PASS if facts.refresh_issued else Status.WARN,
        REFRESH,
        "issued" if facts.refresh_issued else "not issued",
        ""
        if facts.refresh_issued
        else "Without one users relaunch when the token expires; "
        "grant online_access or offline_access",
    )
    refresh = facts.refresh
    if refresh is None:
        works = Finding(
            "launch.refresh", "Refresh works", Status.SKIP, REFRESH, "no refresh token to try"
        )
    elif refresh.ok:
        works = Finding(
            "launch.refresh",
            "Refresh works",
            Status.PASS,
            REFRESH,
            f"refreshed ({'rotated' if refresh.rotated else 'same refresh token'}; "
            f"expires_in {refresh.lifetime_s} s)",
        )
    else:
        works = Finding(
            "launch.refresh",
            "Refresh works",
            Status.FAIL,
            REFRESH,
            f"refused: {refresh.error_code}"
            + (f" ({refresh.ehr_words})" if refresh.ehr_words else ""),
            "The token endpoint must accept the refresh token it issued, with the same client "
            "authentication",
        )
    return issued, works


def _read_finding(read: ReadFacts) -> Finding:
    check_id, title = f"launch.read.{read.resource_type}", f"{read.resource_type} readable"
    if read.outcome == "not granted":
        return Finding(check_id, title, Status.SKIP, API, "not granted by the token")
    if read.outcome == "ok":
        entries = "" if read.entries is None else f" ({read.entries} on the first page)"
        return Finding(
            check_id, title, Status.PASS, API, f"answered{entries}", "", read.duration_ms
        )
    return Finding(
        check_id,
        title,
        Status.FAIL,
        API,
        f"refused: {read.outcome}",
        "The EHR must let a token with this read scope search the patient's compartment",
        read.duration_ms,
    )


def judge_launch(outcome: LaunchOutcome, facts: LaunchFacts | None) -> tuple[Finding, ...]:
    """The findings of a live launch: its outcome, then (when it became active) scopes,
    context, token lifetime, refresh and each summary resource type's read."""
    findings = [_outcome_finding(outcome)]
    if facts is None:
        return tuple(findings)
    findings += [_scope_finding(facts), _context_finding(facts), _lifetime_finding(facts)]
    findings += _refresh_findings(facts)
    findings += [_read_finding(read) for read in facts.reads]
    return tuple(findings)
