"""Reading resources: checked against fhirclient's R4 models before they are trusted.

Unknown elements (fhirclient's "superfluous entry", an AttributeError) are tolerated, as FHIR
asks of readers; wrong types or missing required elements mean a resource is not trusted: a
read fails, a search entry is dropped and counted.
"""

from __future__ import annotations

from typing import Any

from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from smart.errors import PatientUnavailable
from smart.fhir_ids import instance_path
from smartapp.fhir.transport import Deadline, FhirMalformed, Json, get_json


def _errors(error: BaseException) -> list[BaseException]:
    nested = getattr(error, "errors", None)
    if isinstance(error, FHIRValidationError) and nested:
        return [leaf for item in nested for leaf in _errors(item)]
    return [error]


def well_formed(resource: Any) -> bool:
    """Whether the resource parses under fhirclient's R4 models."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return False
    try:
        FHIRElementFactory.instantiate(resource["resourceType"], resource)
    except FHIRValidationError as error:
        return all(isinstance(leaf, AttributeError) for leaf in _errors(error))
    except Exception:
        return False
    return True


def read(
    base: str,
    access_token: str,
    resource_type: str,
    resource_id: str,
    *,
    deadline: Deadline | None = None,
) -> Json:
    """The read interaction: `{base}/{type}/{id}`, checked to be a well-formed `type`.

    The id is checked against the FHIR id grammar and percent-encoded before it goes into the
    path (smart.fhir_ids: InvalidFhirId, a 400), wherever it came from.
    """
    path = instance_path(resource_type, resource_id)
    body = get_json(base, f"{base}/{path}", access_token, deadline=deadline)
    if body.get("resourceType") != resource_type or not well_formed(body):
        raise FhirMalformed(f"{resource_type} came back as something else")
    return body


def read_patient(
    base: str, access_token: str, patient_id: str, *, deadline: Deadline | None = None
) -> Json:
    """`Patient/{id}`, checked to be that patient (SMART: the context is an input to check)."""
    body = read(base, access_token, "Patient", patient_id, deadline=deadline)
    if body.get("id") != patient_id:
        raise PatientUnavailable("the EHR returned something other than the asked patient")
    return body
