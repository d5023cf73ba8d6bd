"""The launch debugger's page model: a launch's recorded steps, read back and arranged.

Everything shown comes from the launch row and its `LaunchStep`s (`smartapp.diagnostics`),
never from the grant's ciphertext: no token, code, state, verifier or nonce is ever read
here, so none can reach the page. FHIR calls are listed apart from the timeline, newest
MAX_FHIR_ROWS of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from smart.launch_report import ConfigChange, ScopeDiff, config_diff, scope_diff
from smartapp.diagnostics import writer
from smartapp.diagnostics.records import LaunchStep
from smartapp.models import Launch, TokenGrant

MAX_FHIR_ROWS = 300
Facts = tuple[tuple[str, str], ...]
LABELS = {
    "discovery": "Discovery",
    "authorize_redirect": "Redirect to the EHR's authorization endpoint",
    "callback": "Callback from the EHR",
    "token_exchange": "Token exchange",
    "id_token": "id_token validated",
    "patient_read": "Launch patient read",
    "refresh": "Token refresh",
}
OK_OUTCOMES = frozenset({"ok", "200", "active", "authorizing", "exchanging", "signed_out"})
OK_OUTCOMES |= {"empty", "partial", "not_shared"}  # summary sections that were served


@dataclass(frozen=True)
class Row:
    at: datetime
    offset_ms: float  # since the launch began
    label: str
    outcome: str
    ok: bool
    duration_ms: float | None
    facts: Facts


@dataclass(frozen=True)
class FhirRow:
    at: datetime
    offset_ms: float
    resource_type: str
    interaction: str
    status: str
    duration_ms: float | None
    bytes: int | None
    entries: int | None
    parameters: str


@dataclass(frozen=True)
class LaunchDebug:
    launch: Launch
    timeline: tuple[Row, ...]
    fhir_calls: tuple[FhirRow, ...]
    fhir_calls_total: int
    scopes: ScopeDiff
    context: Facts
    identity: Facts
    token: Facts
    ehr_error: str | None
    ehr_error_description: str | None
    discovery: Facts
    discovery_changes: tuple[ConfigChange, ...] | None  # None: no earlier launch to compare


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def _facts(pairs: Iterable[tuple[str, Any]]) -> Facts:
    return tuple((name, _text(value)) for name, value in pairs if value not in (None, "", []))


def _label(step: LaunchStep) -> str:
    if step.name == "state":
        return f"State: {step.detail.get('from', '?')} \u2192 {step.outcome}"
    if step.name == "section":
        return f"Summary section: {step.detail.get('section', '?')}"
    return LABELS.get(step.name, step.name)


def _row(step: LaunchStep, began: datetime) -> Row:
    hidden = {"document", "section", "from"}
    return Row(
        step.at,
        (step.at - began).total_seconds() * 1000,
        _label(step),
        step.outcome,
        step.outcome in OK_OUTCOMES,
        step.duration_ms,
        _facts((k, v) for k, v in sorted(step.detail.items()) if k not in hidden),
    )


def _fhir_row(step: LaunchStep, began: datetime) -> FhirRow:
    detail = step.detail
    return FhirRow(
        step.at,
        (step.at - began).total_seconds() * 1000,
        str(detail.get("resource_type", "?")),
        str(detail.get("interaction", "?")),
        step.outcome,
        step.duration_ms,
        detail.get("bytes"),
        detail.get("entries"),
        ", ".join(detail.get("parameters") or ()),
    )


def _last(steps: list[LaunchStep], name: str) -> Mapping[str, Any]:
    found = [step for step in steps if step.name == name]
    return found[-1].detail if found else {}


def context_received(launch: Launch) -> dict[str, str]:
    """The launch context the EHR sent (SMART App Launch 2.x "launch context"), as text; what
    did not come is left out. The debugger and `smart_check --launch` both show it."""
    values = {
        "patient": launch.patient_id,
        "encounter": launch.encounter_id,
        "need_patient_banner": str(launch.need_patient_banner).lower()
        if launch.granted_scope
        else "",
        "smart_style_url": launch.smart_style_url,
        "fhirContext": _text([str(item) for item in launch.fhir_context])
        if launch.fhir_context
        else "",
        "intent": launch.intent,
        "tenant": launch.tenant,
        "locale": launch.locale,
    }
    return {name: value for name, value in values.items() if value}


def _token(launch: Launch, steps: list[LaunchStep]) -> Facts:
    """Token metadata: what the exchange said, what the grant holds now, refreshes so far."""
    refreshes = [step for step in steps if step.name == "refresh"]
    grant = TokenGrant.objects.filter(launch=launch).first()
    exchange = _last(steps, "token_exchange")
    return _facts(
        [
            ("expires_in at the exchange (s)", exchange.get("expires_in")),
            ("refresh token at the exchange", exchange.get("refresh_token")),
            ("expires at", grant.expires_at.isoformat() if grant else None),
            (
                "refresh token held",
                ("yes" if grant.refresh_token_encrypted else "no") if grant else None,
            ),
            ("grant", "held" if grant else "none (ended, signed out or never issued)"),
            ("refreshes so far", sum(1 for step in refreshes if step.outcome == "ok")),
            ("refreshes failed", sum(1 for step in refreshes if step.outcome != "ok")),
            ("rotations", sum(1 for step in refreshes if step.detail.get("rotated"))),
        ]
    )


def _discovery(
    launch: Launch, steps: list[LaunchStep]
) -> tuple[Facts, tuple[ConfigChange, ...] | None]:
    """The document this launch used, and how it differs from the one the launch before it
    (same connection) used."""
    used = _last(steps, "discovery")
    document = used.get("document") or {}
    earlier = (
        LaunchStep.objects.filter(
            name="discovery",
            launch__connection=launch.connection,
            launch__created__lt=launch.created,
        )
        .order_by("-launch__created")
        .first()
    )
    changes = (
        None if earlier is None else config_diff(earlier.detail.get("document") or {}, document)
    )
    return _facts(sorted(document.items())), changes


def launch_debug(launch: Launch) -> LaunchDebug:
    writer.flush(2.0)  # what this process has queued is on the page too
    others = list(launch.steps.exclude(name="fhir").order_by("at", "id"))
    fhir = launch.steps.filter(name="fhir")
    calls = list(reversed(fhir.order_by("-at", "-id")[:MAX_FHIR_ROWS]))
    began = launch.created
    failure: Mapping[str, Any] = next(
        (step.detail for step in reversed(others) if step.detail.get("ehr_error")), {}
    )
    discovery, changes = _discovery(launch, others)
    return LaunchDebug(
        launch=launch,
        timeline=tuple(_row(step, began) for step in others),
        fhir_calls=tuple(_fhir_row(step, began) for step in calls),
        fhir_calls_total=fhir.count(),
        scopes=scope_diff(launch.requested_scope, launch.granted_scope),
        context=tuple(context_received(launch).items()),
        identity=_facts(sorted(_last(others, "id_token").items())),
        token=_token(launch, others),
        ehr_error=failure.get("ehr_error"),
        ehr_error_description=failure.get("ehr_error_description"),
        discovery=discovery,
        discovery_changes=changes,
    )


def launches_matching(*, ref: str = "", connection: str = "", state: str = "") -> list[Launch]:
    """Recent launches for the list page: by a reference (request id) from an error page,
    by connection and by state; newest first, at most 100."""
    launches = Launch.objects.select_related("connection").order_by("-created")
    if ref:
        launches = launches.filter(steps__request_id=ref).distinct()
    if connection:
        launches = launches.filter(connection__slug=connection)
    if state:
        launches = launches.filter(state=state)
    return list(launches[:100])
