"""PHI access by a service client of the use-case API, on the same hash-chained trail as the
pages' (smartapp/audit/trail.py).

Every call is recorded, refusals included: the actor is the client (`api-client:<client_id>`),
the connection the tenant it named (empty when the tenant is not one of the client's), and the
`launch_id` a stable UUID derived from the client id (there is no launch: the column names who
asked, and every call of one client shares it). The outcome is `success`, `not_found` (a
patient or tenant the client may not see, or that does not exist) or `failed:<code>` (a
missing scope, say). A call that disclosed several patients (the patient list) writes one row
per patient, so "who saw this patient" has an answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.http import Http404, HttpRequest
from django.utils import timezone

from smartapp.api_clients.bearer import ClientGrant
from smartapp.audit import chain
from smartapp.audit.trail import FAILED, SUCCESS
from smartapp.request_id import current_request_id

CLIENT_NAMESPACE = uuid.UUID("6f1c2a3e-9b7d-4f5e-8a2c-1d3b5e7f9a0c")


def actor_of(grant: ClientGrant) -> str:
    return f"api-client:{grant.client_id}"


@dataclass
class ServiceAccess:
    """What one call disclosed: the patient it named, or the patients it listed."""

    patients: list[str] = field(default_factory=list)
    sections: tuple[str, ...] = ()


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return SUCCESS
    if isinstance(error, Http404):
        return "not_found"
    code = getattr(error, "code", None)  # the app's errors and the API's refusals carry one
    return f"{FAILED}:{code if isinstance(code, str) else 'error'}"


@contextmanager
def accessed(
    request: HttpRequest,
    grant: ClientGrant,
    tenant: str,
    what: str,
    patient_id: str = "",
    sections: Sequence[str] = (),
) -> Iterator[ServiceAccess]:
    """Record the call on the way out, however it ends (errors are re-raised). `tenant` and
    `patient_id` must already be checked to fit (a slug of the client's, a FHIR id)."""
    access = ServiceAccess([patient_id] if patient_id else [], tuple(sections))
    error: BaseException | None = None
    try:
        yield access
    except BaseException as raised:
        error = raised
        raise
    finally:
        now, outcome = timezone.now(), _outcome(error)
        chain.append_many(
            [
                chain.Entry(
                    at=now,
                    actor=actor_of(grant),
                    connection=tenant,
                    launch_id=uuid.uuid5(CLIENT_NAMESPACE, grant.client_id),
                    patient_id=patient,
                    what=what,
                    resource_types=(),
                    sections=access.sections,
                    outcome=outcome,
                    request_id=current_request_id(),
                    client_address=str(request.META.get("REMOTE_ADDR") or ""),
                )
                for patient in access.patients or [""]
            ]
        )
