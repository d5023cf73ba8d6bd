"""Noting a launch's steps: `record` one, `timed` around one, `about` for its FHIR calls.

Services call these at the moments the debugger shows (`smartapp.qa.debugger`): discovery and
the redirect to the EHR (`launches.start`), the callback, token exchange, id_token check and
patient read (`launches.callback`), each state change (`Launch.save`), refreshes
(`vault.tokens`), summary sections (`summary.service`). FHIR calls are noted by the transport
for the launch that `about` names in the current context (the launch's `SmartSession` sets it;
the summary's pool threads run in a copy of the page's context).

Recording never raises into the caller and is off when `LAUNCH_DIAGNOSTICS` is false.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

import smartapp.diagnostics.writer as writer
from smart.errors import SmartAppError
from smartapp.clock import clock
from smartapp.diagnostics.records import LaunchStep
from smartapp.request_id import current_request_id

log = logging.getLogger(__name__)

_launch: ContextVar[uuid.UUID | None] = ContextVar("diagnostics_launch", default=None)


def enabled() -> bool:
    return bool(getattr(settings, "LAUNCH_DIAGNOSTICS", True))


@contextmanager
def about(launch_id: uuid.UUID) -> Iterator[None]:
    """FHIR calls made in this context belong to this launch."""
    token = _launch.set(launch_id)
    try:
        yield
    finally:
        _launch.reset(token)


def record(
    launch_id: uuid.UUID,
    name: str,
    *,
    outcome: str = "ok",
    duration_s: float | None = None,
    at: datetime | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Note one step of a launch (`at` defaults to now, less its duration)."""
    if not enabled():
        return
    try:
        if at is None:
            at = clock().now() - timedelta(seconds=duration_s or 0)
        request_id = current_request_id()
        writer.write(
            LaunchStep(
                launch_id=launch_id,
                at=at,
                name=name[:40],
                outcome=outcome[:60],
                duration_ms=None if duration_s is None else round(duration_s * 1000, 1),
                request_id="" if request_id == "-" else request_id[:64],
                detail=dict(detail or {}),
            )
        )
    except Exception:  # a diagnostic must never break the launch it describes
        log.exception("launch step not recorded", extra={"step": name})


def failure_detail(error: BaseException) -> dict[str, Any]:
    """What a failure says about itself: its code and, when the EHR gave them, its words."""
    if not isinstance(error, SmartAppError):
        return {"error_code": "app_error"}
    detail: dict[str, Any] = {"error_code": error.code}
    if error.ehr_error:
        detail["ehr_error"] = error.ehr_error
    if error.ehr_description:
        detail["ehr_error_description"] = error.ehr_description
    return detail


@contextmanager
def timed(launch_id: uuid.UUID, name: str, **detail: Any) -> Iterator[dict[str, Any]]:
    """Time a step; the caller may add to the yielded detail. A failure is recorded with its
    code (and the EHR's own error, when it gave one) and raised on."""
    began, started, outcome = clock().now(), time.perf_counter(), "ok"
    notes: dict[str, Any] = dict(detail)
    try:
        yield notes
    except Exception as error:
        notes.update(failure_detail(error))
        outcome = notes["error_code"]
        raise
    finally:
        record(
            launch_id,
            name,
            outcome=outcome,
            duration_s=time.perf_counter() - started,
            at=began,
            detail=notes,
        )


def fhir_call(
    *,
    resource_type: str,
    interaction: str,
    status: int,
    response_bytes: int,
    entries: int | None,
    parameters: tuple[str, ...],
    duration_s: float,
) -> None:
    """A FHIR call of the launch `about` names (nothing when no launch is current)."""
    launch_id = _launch.get()
    if launch_id is None:
        return
    record(
        launch_id,
        "fhir",
        outcome=str(status) if status else "no answer",
        duration_s=duration_s,
        detail={
            "resource_type": resource_type,
            "interaction": interaction,
            "bytes": response_bytes,
            "entries": entries,
            "parameters": list(parameters),
        },
    )
