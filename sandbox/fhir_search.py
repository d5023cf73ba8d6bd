"""FHIR R4 search semantics for the sandbox: which parameters each type supports, and
whether a resource matches them. Pure functions over resources (dicts): the data lives in
`sandbox.fhir_store`, HTTP, paging links and access control in `sandbox.fhir_api`.

Supported parameters (FHIR R4 search, section 3.1.1):
- `_id`, `patient`/`subject` (reference), `code`, `category`, `clinical-status`, `status`,
  `type` (DocumentReference), `vaccine-code`, `identifier` (token: `system|code`, `code`,
  `|code`, `system|`; a comma is OR),
- `date` with prefixes `eq ne lt le gt ge` at year, month, day or second precision; a
  resource's partial date (`2019`, `2021-03`) is the range it denotes, as R4 says,
- `name` (Patient, Practitioner: case-insensitive substring of family, given or text),
- `_lastUpdated` on every type (3.1.1.4.4 prefixes over `meta.lastUpdated`, an instant;
  the search value's precision, down to milliseconds, is the range it denotes), what an
  incremental client falls back to without Bulk Data `$export`,
- `_sort` (`date`, `-date`, `_id`), `_count`, `_include` (MedicationRequest:medication,
  MedicationStatement:medication).
A repeated parameter is AND. Any other parameter is refused with 400, so a client bug shows.
`Binary` is read only (FHIR R4 http.html "binary"): any search of it is a 400. Its patient is
the one its `securityContext` names, so patient-level scopes see only their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

Resource = dict[str, Any]

# Where each type points at its patient (the Patient compartment, simplified).
PATIENT_REFERENCE = {
    "Encounter": "subject",
    "Condition": "subject",
    "AllergyIntolerance": "patient",
    "MedicationRequest": "subject",
    "MedicationStatement": "subject",
    "Immunization": "patient",
    "Observation": "subject",
    "DiagnosticReport": "subject",
    "DocumentReference": "subject",
    "Binary": "securityContext",  # the sandbox's Binaries name their patient there
}
# Types with read but no search.
READ_ONLY_TYPES = ("Binary",)
# Shared resources outside any patient's compartment: visible to patient-level scopes.
# `Group` is synthesized from the store's patients (`sandbox.synthetic.groups`), searchable by
# `_id`: what a Bulk Data group-level `$export` names.
NOT_IN_COMPARTMENT = ("Practitioner", "Medication", "Group")
RESOURCE_TYPES = ("Patient", *NOT_IN_COMPARTMENT, *PATIENT_REFERENCE)

DATE_PATHS = {
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "issued"),
    "Encounter": ("period.start",),
    "Condition": ("onsetDateTime", "recordedDate"),
    "Immunization": ("occurrenceDateTime",),
    "MedicationRequest": ("authoredOn",),
    "MedicationStatement": ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
    "DiagnosticReport": ("effectiveDateTime", "issued"),
    "AllergyIntolerance": ("recordedDate", "onsetDateTime"),
    "DocumentReference": ("date", "context.period.start"),
}
# Token parameters: parameter -> element holding a CodeableConcept, Coding list or code.
TOKEN_PATHS: dict[str, dict[str, str]] = {
    "code": {
        "Observation": "code",
        "Condition": "code",
        "AllergyIntolerance": "code",
        "DiagnosticReport": "code",
        "MedicationRequest": "medicationCodeableConcept",
        "MedicationStatement": "medicationCodeableConcept",
        "Medication": "code",
    },
    "category": {
        "Observation": "category",
        "Condition": "category",
        "DiagnosticReport": "category",
        "AllergyIntolerance": "category",
        "MedicationRequest": "category",
        "DocumentReference": "category",
    },
    "clinical-status": {"Condition": "clinicalStatus", "AllergyIntolerance": "clinicalStatus"},
    "status": dict.fromkeys(
        (
            "Observation",
            "Encounter",
            "MedicationRequest",
            "MedicationStatement",
            "Immunization",
            "DiagnosticReport",
            "Medication",
            "DocumentReference",
        ),
        "status",
    ),
    "type": {"DocumentReference": "type"},
    "vaccine-code": {"Immunization": "vaccineCode"},
    "identifier": {"Patient": "identifier", "Practitioner": "identifier"},
}
INCLUDES = {
    "MedicationRequest:medication": "medicationReference",
    "MedicationStatement:medication": "medicationReference",
}
CONTROL_PARAMS = frozenset({"_count", "_sort", "_include", "_getpages", "_format"})
DEFAULT_COUNT = 50
MAX_COUNT = 200
_PREFIXES = ("eq", "ne", "lt", "le", "gt", "ge")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SearchError(ValueError):
    """A search the sandbox does not support or cannot parse (HTTP 400)."""


def get_path(resource: Mapping[str, Any], path: str) -> Any:
    value: Any = resource
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """The id of the patient whose compartment holds this resource, if any."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return str(resource["id"])
    field = PATIENT_REFERENCE.get(str(rtype))
    reference = get_path(resource, f"{field}.reference") if field else None
    if isinstance(reference, str) and reference.startswith("Patient/"):
        return reference.removeprefix("Patient/")
    return None


def _codings(value: Any) -> Iterable[tuple[str | None, str]]:
    """(system, code) pairs from a code, Coding, CodeableConcept, Identifier or a list."""
    if value is None:
        return
    if isinstance(value, str):
        yield None, value
    elif isinstance(value, list):
        for item in value:
            yield from _codings(item)
    elif isinstance(value, Mapping):
        if "coding" in value:
            yield from _codings(value["coding"])
        elif "code" in value:
            yield value.get("system"), str(value["code"])
        elif "value" in value:  # Identifier
            yield value.get("system"), str(value["value"])


def token_matches(value: Any, wanted: str) -> bool:
    """FHIR token search: `system|code`, `|code` (no system), `system|` or bare `code`."""
    for alternative in wanted.split(","):
        if "|" in alternative:
            system, code = alternative.split("|", 1)
            for have_system, have_code in _codings(value):
                if (system or None) == have_system and (not code or code == have_code):
                    return True
                if system and not code and have_system == system:
                    return True
        elif any(have_code == alternative for _, have_code in _codings(value)):
            return True
    return False


def _parse_instant(text: str) -> tuple[datetime, datetime]:
    """A FHIR date/dateTime as the half-open range of instants it denotes."""
    text = text.strip()
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1, tzinfo=UTC)
            return start, start.replace(year=start.year + 1)
        if len(text) == 7:
            year, month = int(text[:4]), int(text[5:7])
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            return start, end
        if len(text) == 10:
            start = datetime.fromisoformat(text).replace(tzinfo=UTC)
            return start, start + timedelta(days=1)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(f"not a FHIR date: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment, moment + _precision(text)


def _precision(text: str) -> timedelta:
    """The width of the range a dateTime with a time denotes: one second, or one unit of its
    last fractional digit (`10:00:00.123Z` is the millisecond [.123, .124))."""
    _, dot, rest = text.partition(".")
    digits = len(rest) - len(rest.lstrip("0123456789")) if dot else 0
    return timedelta(seconds=10.0**-digits) if digits else timedelta(seconds=1)


def parse_instant(text: str) -> datetime:
    """A FHIR `instant` (`2026-01-01T00:00:00Z`, `...T10:00:00.123+02:00`) as an aware
    datetime; anything less precise, or without a zone, is a SearchError."""
    zoned = text.endswith("Z") or (len(text) > 6 and text[-6] in "+-")
    if "T" not in text or not zoned:
        raise SearchError(f"not a FHIR instant (date, time and zone): {text!r}")
    return _parse_instant(text)[0]


def last_updated(resource: Mapping[str, Any]) -> datetime:
    """`meta.lastUpdated` (every stored resource has one: `FhirStore.put`)."""
    value = get_path(resource, "meta.lastUpdated")
    return parse_instant(value) if isinstance(value, str) else EPOCH


def date_range_of(resource: Mapping[str, Any]) -> tuple[datetime, datetime | None] | None:
    """Where the resource's date starts and, for a partial date (`2019`, `2021-03`,
    `2022-02-03`), where the range it denotes ends; None as the end for an instant.
    """
    for path in DATE_PATHS.get(str(resource.get("resourceType")), ()):
        value = get_path(resource, path)
        if isinstance(value, str):
            start, end = _parse_instant(value)
            return start, None if "T" in value else end
    return None


def date_of(resource: Mapping[str, Any]) -> datetime | None:
    """The first instant of the resource's date (what `_sort=date` orders by)."""
    found = date_range_of(resource)
    return found[0] if found else None


def date_matches(moment: datetime | None, wanted: str, until: datetime | None = None) -> bool:
    """Whether the target, the instant `moment` or the range [moment, until) of a partial
    date, matches the search value (FHIR R4 search, 3.1.1.4.4): `2021-03` matches
    `ge2021-03-15` (part of it lies after) but not `eq2021-03-15` (not all of it within).
    """
    prefix, value = ("eq", wanted)
    if wanted[:2] in _PREFIXES:
        prefix, value = wanted[:2], wanted[2:]
    start, end = _parse_instant(value)
    if moment is None:
        return False
    if until is None:
        within, after = start <= moment < end, moment >= end
    else:
        within, after = start <= moment and until <= end, until > end
    return {
        "eq": within,
        "ne": not within,
        "lt": moment < start,
        "le": moment < start or within,
        "gt": after,
        "ge": after or within,
    }[prefix]


def _name_matches(resource: Mapping[str, Any], wanted: str) -> bool:
    needle = wanted.casefold()
    for name in resource.get("name", []):
        parts = [name.get("family", ""), name.get("text", ""), *name.get("given", [])]
        if any(needle in str(part).casefold() for part in parts):
            return True
    return False


def matches(resource: Mapping[str, Any], name: str, wanted: str) -> bool:
    """Whether one resource satisfies one search parameter value."""
    rtype = str(resource.get("resourceType"))
    if name == "_id":
        return str(resource.get("id")) in wanted.split(",")
    if name in ("patient", "subject"):
        ids = {value.removeprefix("Patient/") for value in wanted.split(",")}
        return patient_of(resource) in ids
    if name == "date":
        moment, until = date_range_of(resource) or (None, None)
        return date_matches(moment, wanted, until)
    if name == "_lastUpdated":
        return date_matches(last_updated(resource), wanted)
    if name == "name" and rtype in ("Patient", "Practitioner"):
        return _name_matches(resource, wanted)
    path = TOKEN_PATHS.get(name, {}).get(rtype)
    if path is None:
        raise SearchError(f"{rtype} does not support the search parameter {name!r}")
    return token_matches(get_path(resource, path), wanted)


def supported(rtype: str, name: str) -> bool:
    if rtype in READ_ONLY_TYPES:
        return False
    if name in ("_id", "_lastUpdated"):
        return True
    if name in ("patient", "subject"):
        return rtype in PATIENT_REFERENCE or (rtype == "Patient" and name == "patient")
    if name == "date":
        return rtype in DATE_PATHS
    if name == "name":
        return rtype in ("Patient", "Practitioner")
    return rtype in TOKEN_PATHS.get(name, {})


def sort_resources(found: list[Resource], sort: str) -> list[Resource]:
    if sort == "_id":
        return sorted(found, key=lambda r: str(r["id"]))
    if sort.lstrip("-") != "date":
        raise SearchError(f"unsupported _sort {sort!r}; use date, -date or _id")
    floor = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(found, key=lambda r: (date_of(r) or floor, str(r["id"])))
    return ordered[::-1] if sort.startswith("-") else ordered


def parse_count(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_COUNT
    try:
        count = int(raw)
    except ValueError as exc:
        raise SearchError("_count must be a whole number") from exc
    if count < 0:
        raise SearchError("_count must not be negative")
    return min(count, MAX_COUNT)
