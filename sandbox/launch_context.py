"""EHR launch contexts: the `launch` id an EHR hands an app, and finding it again.

SMART App Launch 2.x "EHR launch": the EHR redirects to the app's launch URL with `iss` and an
opaque `launch`; the app sends `launch` back in its authorization request, which must name a
live context (1 hour) made for this client on this FHIR base.
"""

from __future__ import annotations

import secrets
import time

from sandbox.models import Launch
from sandbox.site import SandboxSite

LAUNCH_TTL_S = 3600


def find_launch(launch_id: str, site: SandboxSite, client_id: str) -> Launch | None:
    return Launch.objects.filter(
        launch_id=launch_id,
        base=site.fhir_base,
        client_id=client_id,
        created__gt=time.time() - LAUNCH_TTL_S,
    ).first()


def new_launch_id() -> str:
    return secrets.token_urlsafe(24)
