"""The sandbox's FHIR R4 data and the search semantics a patient summary needs.

Resources live in memory, built once per process from the deterministic generator
(`sandbox.synthetic`) plus any bundles loaded with `manage.py sandbox_load` (kept as files in
SANDBOX_BUNDLE_DIR so every sandbox process sees them). Searching is pure: `search()` takes
parsed parameters and returns matches; HTTP, paging links and access control live in
`sandbox.fhir_api`.

Supported parameters (FHIR R4 search, section 3.1.1):
- `_id`, `patient`/`subject` (reference), `code`, `category`, `clinical-status`, `status`,
  `vaccine-code`, `identifier` (token: `system|code`, `code`, `|code`, `system|`; a comma is OR),
- `date` with prefixes `eq ne lt le gt ge` at year, month, day or second precision,
- `name` (Patient, Practitioner: case-insensitive substring of family, given or text),
- `_sort` (`date`, `-date`, `_id`), `_count`, `_include` (MedicationRequest:medication,
  MedicationStatement:medication).
A repeated parameter is AND. Any other parameter is refused with 400, so a client bug shows.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import synthetic

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
}
# Shared resources outside any patient's compartment: visible to patient-level scopes.
NOT_IN_COMPARTMENT = ("Practitioner", "Medication")
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
        ),
        "status",
    ),
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


class SearchError(ValueError):
    """A search the sandbox does not support or cannot parse (HTTP 400)."""


def _get(resource: Mapping[str, Any], path: str) -> Any:
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
    reference = _get(resource, f"{field}.reference") if field else None
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
    return moment, moment + timedelta(seconds=1)


def date_of(resource: Mapping[str, Any]) -> datetime | None:
    for path in DATE_PATHS.get(str(resource.get("resourceType")), ()):
        value = _get(resource, path)
        if isinstance(value, str):
            return _parse_instant(value)[0]
    return None


def date_matches(moment: datetime | None, wanted: str) -> bool:
    prefix, value = ("eq", wanted)
    if wanted[:2] in _PREFIXES:
        prefix, value = wanted[:2], wanted[2:]
    start, end = _parse_instant(value)
    if moment is None:
        return False
    return {
        "eq": start <= moment < end,
        "ne": not start <= moment < end,
        "lt": moment < start,
        "le": moment < end,
        "gt": moment >= end,
        "ge": moment >= start,
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
        return date_matches(date_of(resource), wanted)
    if name == "name" and rtype in ("Patient", "Practitioner"):
        return _name_matches(resource, wanted)
    path = TOKEN_PATHS.get(name, {}).get(rtype)
    if path is None:
        raise SearchError(f"{rtype} does not support the search parameter {name!r}")
    return token_matches(_get(resource, path), wanted)


def _supported(rtype: str, name: str) -> bool:
    if name in ("_id",):
        return True
    if name in ("patient", "subject"):
        return rtype in PATIENT_REFERENCE or (rtype == "Patient" and name == "patient")
    if name == "date":
        return rtype in DATE_PATHS
    if name == "name":
        return rtype in ("Patient", "Practitioner")
    return rtype in TOKEN_PATHS.get(name, {})


class FhirStore:
    """Resources by type and id, with a per-patient index for compartment searches."""

    def __init__(self, resources: Iterable[Resource] = ()) -> None:
        self._lock = threading.Lock()
        self._by_type: dict[str, dict[str, Resource]] = {rtype: {} for rtype in RESOURCE_TYPES}
        self._by_patient: dict[tuple[str, str], dict[str, Resource]] = {}
        for resource in resources:
            self.put(resource)

    def put(self, resource: Resource) -> None:
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rtype not in self._by_type or not isinstance(rid, str):
            raise ValueError(f"cannot store {rtype}/{rid}")
        with self._lock:
            self._by_type[rtype][rid] = resource
            patient = patient_of(resource)
            if patient and rtype != "Patient":
                self._by_patient.setdefault((rtype, patient), {})[rid] = resource

    def get(self, rtype: str, rid: str) -> Resource | None:
        return self._by_type.get(rtype, {}).get(rid)

    def count(self, rtype: str) -> int:
        return len(self._by_type.get(rtype, {}))

    def search(
        self,
        rtype: str,
        params: Sequence[tuple[str, str]],
    ) -> list[Resource]:
        """All matches of `params` (AND across entries), sorted as asked."""
        if rtype not in self._by_type:
            raise SearchError(f"unknown resource type {rtype!r}")
        criteria = [(name, value) for name, value in params if name not in CONTROL_PARAMS]
        for name, _ in criteria:
            if not _supported(rtype, name):
                raise SearchError(f"{rtype} does not support the search parameter {name!r}")
        candidates = self._candidates(rtype, criteria)
        found = [r for r in candidates if all(matches(r, n, v) for n, v in criteria)]
        sort = [value for name, value in params if name == "_sort"]
        for spec in (value for name, value in params if name == "_include"):
            if not spec.startswith(f"{rtype}:") or spec not in INCLUDES:
                raise SearchError(f"unsupported _include {spec!r}")
        return _sorted(found, sort[-1] if sort else "_id")

    def _candidates(self, rtype: str, criteria: list[tuple[str, str]]) -> Iterable[Resource]:
        # Narrow to one patient's records when the search names a single patient.
        for name, value in criteria:
            if name in ("patient", "subject") and "," not in value and rtype != "Patient":
                patient = value.removeprefix("Patient/")
                return list(self._by_patient.get((rtype, patient), {}).values())
        return list(self._by_type[rtype].values())

    def includes(self, found: Sequence[Resource], wanted: Sequence[str]) -> list[Resource]:
        """The resources that `_include` specs (already validated by search) point at."""
        included: dict[str, Resource] = {}
        for spec in wanted:
            for resource in found:
                reference = _get(resource, f"{INCLUDES[spec]}.reference")
                if isinstance(reference, str) and "/" in reference:
                    target_type, target_id = reference.split("/", 1)
                    target = self.get(target_type, target_id)
                    if target is not None:
                        included[reference] = target
        return list(included.values())


def _sorted(found: list[Resource], sort: str) -> list[Resource]:
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


_store: FhirStore | None = None
_store_lock = threading.Lock()


def bundle_resources(bundle: Mapping[str, Any]) -> list[Resource]:
    """The resources of a Bundle (or a single resource) that the sandbox can serve.

    Transaction bundles (Synthea's output) refer to their entries by `urn:uuid:` fullUrls;
    those references are rewritten to `Type/id` so searches by patient find them.
    """
    if bundle.get("resourceType") != "Bundle":
        return [dict(bundle)] if bundle.get("resourceType") in RESOURCE_TYPES else []
    entries = [entry for entry in bundle.get("entry", []) if isinstance(entry, Mapping)]
    aliases = {
        str(entry["fullUrl"]): f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        for entry in entries
        if entry.get("fullUrl")
        and isinstance(entry.get("resource"), Mapping)
        and "id" in entry["resource"]
    }
    out = []
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, Mapping) and resource.get("resourceType") in RESOURCE_TYPES:
            out.append(_rewrite_references(dict(resource), aliases))
    return out


def _rewrite_references(value: Any, aliases: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {
            key: aliases.get(item, item)
            if key == "reference" and isinstance(item, str)
            else _rewrite_references(item, aliases)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_references(item, aliases) for item in value]
    return value


def bundle_dir() -> Path:
    from django.conf import settings

    default = Path(settings.BASE_DIR) / "var" / "sandbox" / "bundles"
    return Path(getattr(settings, "SANDBOX_BUNDLE_DIR", default))


def build_store() -> FhirStore:
    """Synthetic data, then every bundle in the bundle folder, in file-name order."""
    store = FhirStore(synthetic.generate())
    folder = bundle_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        for resource in bundle_resources(json.loads(path.read_text())):
            store.put(resource)
    return store


def get_store() -> FhirStore:
    """The process-wide store, built on first use."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                _store = build_store()
    return _store
