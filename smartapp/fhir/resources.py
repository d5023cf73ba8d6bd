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
from smartapp.fhir.transport import Deadline, FhirCall, FhirMalformed, Json, get_json


def _errors(error: BaseException) -> list[BaseException]:
    nested = getattr(error, "errors", None)
    if isinstance(error, FHIRValidationError) and nested:
        return [leaf for item in nested for leaf in _errors(item)]
    return [error]


# fhirclient's R4 model objects. The package ships no type hints, so they are `Any` to mypy;
# the summary's mappers read them and return the contract's typed dataclasses.
FhirModel = Any


def parse(resource: Any) -> FhirModel | None:
    """The resource as fhirclient's R4 model, or None when it is not well-formed.

    Unknown elements are tolerated (FHIR R4 1.2.0 "must ignore" for readers): fhirclient
    raises on them even though every known element is already set, so such a resource is
    filled again into a blank model and the error about the unknown ones is dropped. (An
    unknown key inside a nested element loses that element: fhirclient parses nested ones
    strictly. Wrong types and missing required elements still make the resource untrusted.)
    """
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return None
    try:
        return FHIRElementFactory.instantiate(resource["resourceType"], resource)
    except FHIRValidationError as error:
        if not _only_unknown_elements(error):
            return None
    except Exception:
        return None
    model = FHIRElementFactory.instantiate(resource["resourceType"], None)
    try:
        model.update_with_json(resource)
    except FHIRValidationError as error:
        return model if _only_unknown_elements(error) else None
    except Exception:
        return None
    return model


def _only_unknown_elements(error: FHIRValidationError) -> bool:
    return all(isinstance(leaf, AttributeError) for leaf in _errors(error))


def well_formed(resource: Any) -> bool:
    """Whether the resource parses under fhirclient's R4 models."""
    return parse(resource) is not None


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
    call = FhirCall(resource_type, "read")
    body = get_json(base, f"{base}/{path}", access_token, deadline=deadline, call=call)
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
