"""The external baseline: the summary's FHIR reads made with client-py (fhirclient), as its
documentation shows: a `FHIRClient` restored from a saved state holding the access token,
then `<Resource>.where(struct=...).perform_resources_iter(server)`, one search at a time,
every page followed, every resource parsed into client-py's models.

The cold summary's own "sequential" copy is the app with its parallelism turned off; this is
what a plain client library does without the app's code at all, so the parallel summary is
compared with both. The reads are the summary's (smartapp/summary/builders.py): one Patient
read and the same searches with the same parameters. The bench checks the count against the
sandbox's own tally of what the app asked for on the same launch (`fhir_calls` in results).

The access token is the app's own for that launch, read back from the app's database through
its token vault (smartapp/vault/store.py) in the bench process, where Django is set up: the
baseline then reads exactly what the app's grant allows, at the same simulated latency.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

# (resource type, search parameters besides `patient`), in the order builders.py asks.
SEARCHES: tuple[tuple[str, dict[str, str]], ...] = (
    ("Condition", {"_count": "100"}),
    ("MedicationRequest", {"_count": "100", "_include": "MedicationRequest:medication"}),
    ("MedicationStatement", {"_count": "100"}),
    ("AllergyIntolerance", {"_count": "100"}),
    ("Immunization", {"_count": "100", "_sort": "-date"}),
    ("Observation", {"category": "vital-signs", "_sort": "-date", "_count": "100"}),
    ("Observation", {"category": "laboratory", "_sort": "-date", "_count": "100"}),
    ("Encounter", {"_sort": "-date", "_count": "20"}),
    ("DocumentReference", {"_sort": "-date", "_count": "100"}),
    ("DiagnosticReport", {"_sort": "-date", "_count": "100"}),
)


def launch_context(summary_url: str) -> tuple[str, str]:
    """(The launch's patient id, its current access token from the app's token vault)."""
    from smartapp.models import Launch
    from smartapp.vault import store

    launch = Launch.objects.get(handle=summary_url.rstrip("/").rsplit("/", 1)[-1])
    return launch.patient_id, store.access_token(store.grant_of(launch))


def _model(resource_type: str) -> Any:
    """client-py's model class: fhirclient.models.allergyintolerance.AllergyIntolerance."""
    module = importlib.import_module(f"fhirclient.models.{resource_type.lower()}")
    return getattr(module, resource_type)


def client_py_summary(iss: str, patient: str, token: str) -> tuple[float, int]:
    """(seconds for every read, one after another; resources parsed)."""
    from fhirclient.client import FHIRClient

    # A base restored from state is used as given, and urljoin drops a last segment not
    # followed by "/" (…/fhir + Patient/x -> …/Patient/x): the slash is the caller's to add.
    server = {
        "base_uri": f"{iss.rstrip('/')}/",
        "auth_type": "oauth2",
        "auth": {"access_token": token},
    }
    state = {"app_id": "bench-app", "patient_id": patient, "server": server}
    started = time.perf_counter()
    client = FHIRClient(state=state)
    parsed = 1 if _model("Patient").read(patient, client.server) else 0
    for resource_type, params in SEARCHES:
        search = _model(resource_type).where(struct={"patient": patient, **params})
        parsed += sum(1 for _ in search.perform_resources_iter(client.server))
    return time.perf_counter() - started, parsed
