"""PHI access by a service client of the use-case API, on the same hash-chained trail as the
pages' (smartapp/audit/trail.py).

The actor is the client (`api-client:<client_id>`), the connection its tenant, and the
`launch_id` a stable UUID derived from the client id (there is no launch: the column names
who asked, and every call of one client shares it). The outcome is `success`, `not_found`
(a patient or tenant the client may not see, or that does not exist) or `failed:<code>`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import Http404, HttpRequest
from django.utils import timezone

from smart.errors import SmartAppError
from smartapp.api_clients.bearer import ClientGrant
from smartapp.audit import chain
from smartapp.audit.trail import FAILED, SUCCESS
from smartapp.request_id import current_request_id

CLIENT_NAMESPACE = uuid.UUID("6f1c2a3e-9b7d-4f5e-8a2c-1d3b5e7f9a0c")


def actor_of(grant: ClientGrant) -> str:
    return f"api-client:{grant.client_id}"


@contextmanager
def accessed(
    request: HttpRequest, grant: ClientGrant, tenant: str, patient_id: str, what: str
) -> Iterator[None]:
    outcome = SUCCESS
    try:
        yield
    except Http404:
        outcome = "not_found"
        raise
    except SmartAppError as error:
        outcome = f"{FAILED}:{error.code}"
        raise
    except BaseException:
        outcome = f"{FAILED}:error"
        raise
    finally:
        chain.append(
            chain.Entry(
                at=timezone.now(),
                actor=actor_of(grant),
                connection=tenant,
                launch_id=uuid.uuid5(CLIENT_NAMESPACE, grant.client_id),
                patient_id=patient_id,
                what=what,
                resource_types=(),
                sections=(),
                outcome=outcome,
                request_id=current_request_id(),
                client_address=str(request.META.get("REMOTE_ADDR") or ""),
            )
        )
