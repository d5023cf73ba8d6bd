"""Recording one access to patient data: open it, note what was read, close it once.

A view opens an `Access` for the page it serves (`accessed(request, launch, "summary")`);
while it is the current access (`recording`), every FHIR call of the launch's session notes
its resource type (`note_read`); the page adds the sections it showed; `close(outcome)`
appends one row to the chain (`smartapp.audit.chain`). Closing never raises: a clinician's
page must not break because the trail could not be written, so a failure is logged at ERROR
for the operators instead.

Nothing here holds a token: the row names the user (`fhirUser`, else the id token's `sub`),
the connection, the launch id, the patient id, the request id and the client address.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest
from django.utils import timezone

import smartapp.audit.chain as chain
import smartapp.audit.writer as writer
from smart.errors import SmartAppError
from smartapp.observability import metrics
from smartapp.request_id import current_request_id

if TYPE_CHECKING:
    from smartapp.models import Launch

log = logging.getLogger(__name__)

SUCCESS = "success"
PARTIAL = "partial"  # some sections were unavailable
ENDED = "ended"  # the client went away mid-page
FAILED = "failed"  # written as "failed:<error code>"


class Access:
    """One access under way: collected in memory, written by `close`."""

    def __init__(self, entry: chain.Entry) -> None:
        self._entry = entry  # outcome, resource types and sections are filled in by close
        self._lock = threading.Lock()  # sections of one page are fetched in parallel
        self._resource_types: set[str] = set()
        self._sections: dict[str, None] = {}  # an ordered set
        self._closed = False

    def note(self, resource_type: str) -> None:
        """A FHIR resource of this type was read for this access."""
        with self._lock:
            self._resource_types.add(resource_type)

    def add_sections(self, names: Iterable[str]) -> None:
        """These summary sections were shown, in this order (repeats are ignored)."""
        with self._lock:
            self._sections.update(dict.fromkeys(names))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, outcome: str) -> None:
        """Write the row. A second call does nothing; a failure is logged, never raised."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            entry = replace(
                self._entry,
                outcome=outcome,
                resource_types=tuple(sorted(self._resource_types)),
                sections=tuple(self._sections),
            )
        if writer.write(entry):  # failures are logged and counted by the writer
            # Labels: the page kind and the outcome's class, never the section or the code.
            kind, _, _detail = entry.what.partition(":")
            metrics.AUDIT_RECORDS.labels(kind, outcome.partition(":")[0]).inc()


def _actor(launch: Launch) -> str:
    """The user: the launch's fhirUser, else the id token's `sub`, else "" (no grant yet)."""
    if launch.fhir_user:
        return launch.fhir_user
    try:
        claims = launch.grant.id_token_claims
    except ObjectDoesNotExist:
        return ""
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else ""


def open_access(request: HttpRequest, launch: Launch, what: str) -> Access:
    """Start recording an access of `what` (a page: "summary", a drill-down...) by `launch`."""
    return Access(
        chain.Entry(
            at=timezone.now(),
            actor=_actor(launch),
            connection=launch.connection.slug,
            launch_id=launch.id,
            patient_id=launch.patient_id or "",
            what=what,
            resource_types=(),
            sections=(),
            outcome="",
            request_id=current_request_id(),
            client_address=str(request.META.get("REMOTE_ADDR") or ""),
        )
    )


_current: ContextVar[Access | None] = ContextVar("audit_access", default=None)


@contextmanager
def recording(access: Access) -> Iterator[Access]:
    """Make `access` the one `note_read` adds to, for this block (and this context only)."""
    token = _current.set(access)
    try:
        yield access
    finally:
        _current.reset(token)


def note_read(resource_type: str) -> None:
    """Note a FHIR read on the current access; outside one, nothing is recorded."""
    access = _current.get()
    if access is not None:
        access.note(resource_type)


@contextmanager
def accessed(request: HttpRequest, launch: Launch, what: str) -> Iterator[Access]:
    """`open_access` + `recording`, closed on the way out: "success" unless the block closed
    it already, "failed:<code>" on a SmartAppError, "ended" when a generator holding it is
    closed (the client went away), "failed:error" on anything else. Errors are re-raised."""
    access = open_access(request, launch, what)
    with recording(access):
        try:
            yield access
        except SmartAppError as error:
            access.close(f"{FAILED}:{error.code}")
            raise
        except GeneratorExit:
            access.close(ENDED)
            raise
        except BaseException:
            access.close(f"{FAILED}:error")
            raise
    access.close(SUCCESS)
