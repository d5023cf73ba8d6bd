"""FHIR logical ids and references to a patient (FHIR R4 2.24.0.1 "id", 2.3.0 "References").

An id is `[A-Za-z0-9\\-\\.]{1,64}`. Every id that goes into a URL path, whether it came from
the browser (a picked patient) or from the EHR (the launch's `patient`), is checked against
that grammar first: CR, LF, TAB, NUL, `/`, `%` or 65 kB never reach a request line, and `.`
and `..` (grammatical, but path traversal as a segment) are refused too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from smart.errors import BadInput

ID_GRAMMAR = re.compile(r"[A-Za-z0-9\-.]{1,64}")
RESOURCE_TYPE_GRAMMAR = re.compile(r"[A-Z][A-Za-z]{0,63}")
# Where each Patient-compartment type names its patient (FHIR R4 CompartmentDefinition
# "patient", the elements the summary's types use).
PATIENT_ELEMENTS = ("subject", "patient")


class InvalidFhirId(BadInput):
    code = "invalid_id"
    title = "That record could not be found"
    message = "The record asked for does not have a valid identifier. Go back and choose again."


def is_fhir_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and ID_GRAMMAR.fullmatch(value) is not None
        and value not in (".", "..")
    )


def checked_id(value: object) -> str:
    """`value` when it is a FHIR id; InvalidFhirId (a 400) otherwise."""
    if not is_fhir_id(value):
        raise InvalidFhirId("not a FHIR id")  # never echoed: it may be 65 kB or controls
    assert isinstance(value, str)
    return value


def instance_path(resource_type: str, resource_id: object) -> str:
    """`Type/id` for a read, each segment checked and percent-encoded."""
    if RESOURCE_TYPE_GRAMMAR.fullmatch(resource_type) is None:
        raise InvalidFhirId("not a FHIR resource type")
    return f"{quote(resource_type, safe='')}/{quote(checked_id(resource_id), safe='')}"


def patient_in_reference(reference: object, base: str) -> str | None:
    """The patient id a Reference.reference names: `Patient/id`, `{base}/Patient/id`, either
    with `/_history/v`; None for anything else (another type, another server, no id)."""
    if not isinstance(reference, str):
        return None
    relative = reference
    prefix = base.rstrip("/") + "/"
    if reference.startswith(prefix):
        relative = reference[len(prefix) :]
    parts = relative.split("/")
    if len(parts) not in (2, 4) or parts[0] != "Patient" or not is_fhir_id(parts[1]):
        return None
    if len(parts) == 4 and (parts[2] != "_history" or not is_fhir_id(parts[3])):
        return None
    return parts[1]


def about_patient(resource: Mapping[str, Any], patient_id: str, base: str) -> bool:
    """Whether `resource` is provably about `patient_id`: the Patient itself, or a resource
    whose `subject` or `patient` reference names that patient (and no other)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id") == patient_id
    named = {
        patient_in_reference(element.get("reference"), base)
        for name in PATIENT_ELEMENTS
        if isinstance(element := resource.get(name), Mapping)
    }
    return named == {patient_id}
