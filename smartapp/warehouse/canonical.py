"""One FHIR R4 resource as the typed row an analyst queries: pure, no Django, no I/O.

`canonical_row(resource)` maps the eleven types of `SUPPORTED_TYPES` onto `CanonicalRow`.
Only the resource's type and id can make it fail (`NotCanonical`): without them there is no
key (FHIR R4 §2.1.0.1 id grammar `[A-Za-z0-9\\-\\.]{1,64}`). Every other bad value (a
garbage date, a NaN quantity, a coding that is not an object) becomes an empty column, and
the resource itself travels unchanged in `source`, so nothing an EHR sent is lost.

The one "status" column per type:
- Patient: `active` true/false -> "active"/"inactive" (absent -> "").
- Condition, AllergyIntolerance: clinicalStatus code; "entered-in-error" when
  verificationStatus says so (R4 then forbids a clinicalStatus).
- every other type: its required `status` code.

Dates (R4 §2.24.0.1 `date`/`dateTime`/`instant`): a partial date ("2019", "2021-03") is the
start of the period it denotes; a date without a time is midnight UTC; a time without an
offset (not valid FHIR, seen in the wild) is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from smart.bulk import CANONICAL_TYPES

# The types extraction asks for (smart.bulk), each with a table here.
SUPPORTED_TYPES: tuple[str, ...] = CANONICAL_TYPES
LINK_TYPES = ("replaced-by", "replaces", "refer", "seealso")  # R4 link-type value set

ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full time with seconds and an offset.
_DATETIME_RE = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)
_PATIENT_REF_RE = re.compile(r"(?:^|.*/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?")
# Column widths the store declares (models.py); longer values are clipped, not refused.
SHORT, MEDIUM = 64, 255
VALUE_DIGITS, VALUE_PLACES = 38, 12  # numeric(38, 12)
_QUANTUM = Decimal(1).scaleb(-VALUE_PLACES)
_VALUE_LIMIT = Decimal(10) ** (VALUE_DIGITS - VALUE_PLACES)


class NotCanonical(ValueError):
    """The resource has no place in the store: unsupported type, no valid id, not an object."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CanonicalRow:
    """The typed columns of one resource (empty string / None when the resource lacks them)."""

    resource_type: str
    resource_id: str
    patient_id: str | None
    version_id: str = ""
    last_updated: datetime | None = None
    status: str = ""
    code_system: str = ""
    code: str = ""
    code_display: str = ""
    effective_start: datetime | None = None
    effective_end: datetime | None = None
    value_num: Decimal | None = None
    value_unit: str = ""
    value_text: str = ""
    # Patient only
    gender: str = ""
    birth_date: date | None = None
    family: str = ""
    given: str = ""
    deceased: bool = False
    links: tuple[tuple[str, str], ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def version_number(self) -> int | None:
        """versionId as a number when it is one (servers mostly count 1, 2, 3 ...)."""
        if self.version_id.isascii() and self.version_id.isdigit() and len(self.version_id) < 19:
            return int(self.version_id)
        return None

    @property
    def replaced_by(self) -> str:
        """The survivor this Patient names with a `replaced-by` link (R4 Patient.link)."""
        return next((other for other, kind in self.links if kind == "replaced-by"), "")


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else ""
    return text[:limit] if limit else text


def parse_datetime(value: Any) -> datetime | None:
    """An R4 date/dateTime/instant as an aware datetime: the start of what it denotes."""
    if not isinstance(value, str):
        return None
    match = _DATETIME_RE.fullmatch(value.strip())
    if match is None:
        return None
    parts = match.groupdict()
    try:
        tz = _offset(parts["tz"])
        fraction = (parts["f"] or "0")[:6].ljust(6, "0")
        return datetime(
            int(parts["y"]),
            int(parts["m"] or 1),
            int(parts["d"] or 1),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            int(fraction),
            tzinfo=tz,
        )
    except ValueError:  # month 13, 30 February, hour 25, offset +25:00 ...
        return None


def _offset(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def patient_reference_id(reference: Any) -> str | None:
    """`Patient/x`, `https://ehr/fhir/Patient/x` (optionally `/_history/n`) -> "x"."""
    ref = _str(_obj(reference).get("reference"))
    match = _PATIENT_REF_RE.fullmatch(ref)
    return match.group(1) if match else None


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """Whose compartment the resource is in: its own id for a Patient, the Patient its
    `subject` or `patient` references otherwise, None when it names none (a Medication, a
    subject that is a Group, a contained or `urn:uuid:` reference)."""
    if not isinstance(resource, Mapping):
        return None
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and ID_RE.fullmatch(rid) else None
    for key in ("subject", "patient"):
        found = patient_reference_id(resource.get(key))
        if found:
            return found
    return None


def _coding(concept: Any) -> tuple[str, str, str]:
    """(system, code, display) of a CodeableConcept's first coding; display falls back to
    the concept's text."""
    cc = _obj(concept)
    codings = cc.get("coding")
    first = _obj(codings[0]) if isinstance(codings, list) and codings else {}
    display = _str(first.get("display")) or _str(cc.get("text"))
    return _str(first.get("system"), MEDIUM), _str(first.get("code"), MEDIUM), display


def _concept_code(concept: Any) -> str:
    return _coding(concept)[1]


def _first(resource: Mapping[str, Any], *paths: str) -> datetime | None:
    """The first of the dotted paths that holds a parseable date."""
    for path in paths:
        value: Any = resource
        for key in path.split("."):
            value = _obj(value).get(key)
        parsed = parse_datetime(value)
        if parsed is not None:
            return parsed
    return None


def _main_code(resource: Mapping[str, Any]) -> tuple[str, str, str]:
    kind = resource.get("resourceType")
    if kind in ("MedicationRequest", "MedicationStatement"):
        found = _coding(resource.get("medicationCodeableConcept"))
        if not any(found):
            ref = _obj(resource.get("medicationReference"))
            found = ("", "", _str(ref.get("display")))
        return found
    if kind == "Encounter":
        types = resource.get("type")
        if isinstance(types, list) and types and any(_coding(types[0])):
            return _coding(types[0])
        cls = _obj(resource.get("class"))  # a Coding in R4, not a CodeableConcept
        return (
            _str(cls.get("system"), MEDIUM),
            _str(cls.get("code"), MEDIUM),
            _str(cls.get("display")),
        )
    key = {"Immunization": "vaccineCode", "DocumentReference": "type"}.get(str(kind), "code")
    return _coding(resource.get(key))


def _status(resource: Mapping[str, Any]) -> str:
    kind = resource.get("resourceType")
    if kind == "Patient":
        active = resource.get("active")
        return (
            {True: "active", False: "inactive"}.get(active, "") if isinstance(active, bool) else ""
        )
    if kind in ("Condition", "AllergyIntolerance"):
        if _concept_code(resource.get("verificationStatus")) == "entered-in-error":
            return "entered-in-error"
        return _concept_code(resource.get("clinicalStatus"))[:SHORT]
    return _str(resource.get("status"), SHORT)


# Where each type keeps when it happened: (start paths, end paths), first parseable wins.
_WHEN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Observation": (
        ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
        ("effectivePeriod.end",),
    ),
    "Condition": (
        ("onsetDateTime", "onsetPeriod.start", "recordedDate"),
        ("abatementDateTime", "abatementPeriod.end"),
    ),
    "Encounter": (("period.start",), ("period.end",)),
    "Immunization": (("occurrenceDateTime", "recorded"), ()),
    "MedicationRequest": (("authoredOn",), ()),
    "MedicationStatement": (
        ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
        ("effectivePeriod.end",),
    ),
    "DiagnosticReport": (
        ("effectiveDateTime", "effectivePeriod.start", "issued"),
        ("effectivePeriod.end",),
    ),
    "AllergyIntolerance": (("recordedDate", "onsetDateTime", "onsetPeriod.start"), ()),
    "DocumentReference": (("date", "context.period.start"), ("context.period.end",)),
    "Patient": (("birthDate",), ()),
    "Medication": ((), ()),
}


def _value(resource: Mapping[str, Any]) -> tuple[Decimal | None, str, str]:
    """Observation value[x]: (number, unit, text). Non-finite or out-of-range numbers -> None."""
    if resource.get("resourceType") != "Observation":
        return None, "", ""
    quantity = _obj(resource.get("valueQuantity"))
    unit = (_str(quantity.get("unit")) or _str(quantity.get("code")))[:SHORT]
    number = quantity.get("value")
    value_num: Decimal | None = None
    if isinstance(number, int | float | str) and not isinstance(number, bool):
        try:
            candidate = Decimal(str(number)).quantize(_QUANTUM)
        except InvalidOperation:  # NaN, Infinity, "abc", or too many digits to quantize
            candidate = None
        if candidate is not None and candidate.is_finite() and abs(candidate) < _VALUE_LIMIT:
            value_num = candidate
    text = _str(resource.get("valueString"))
    if not text and "valueCodeableConcept" in resource:
        text = _coding(resource.get("valueCodeableConcept"))[2]
    return value_num, unit, text


def _patient_extras(resource: Mapping[str, Any]) -> dict[str, Any]:
    names = resource.get("name")
    names = [_obj(n) for n in names] if isinstance(names, list) else []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    given = name.get("given")
    birth = parse_datetime(resource.get("birthDate"))
    deceased = (
        resource.get("deceasedBoolean") is True
        or parse_datetime(resource.get("deceasedDateTime")) is not None
    )
    return {
        "gender": _str(resource.get("gender"), SHORT),
        "birth_date": birth.date() if birth else None,
        "family": _str(name.get("family")),
        "given": " ".join(g for g in given if isinstance(g, str))
        if isinstance(given, list)
        else "",
        "deceased": deceased,
        "links": _links(resource.get("link")),
    }


def _links(value: Any) -> tuple[tuple[str, str], ...]:
    """Patient.link as (other patient id, link type), in order, without repeats."""
    found: list[tuple[str, str]] = []
    for link in value if isinstance(value, list) else []:
        other = patient_reference_id(_obj(link).get("other"))
        kind = _str(_obj(link).get("type"))
        if other and kind in LINK_TYPES and (other, kind) not in found:
            found.append((other, kind))
    return tuple(found)


def _key(resource: Any) -> tuple[str, str]:
    if not isinstance(resource, Mapping):
        raise NotCanonical("not a JSON object")
    kind = resource.get("resourceType")
    if kind not in SUPPORTED_TYPES:
        raise NotCanonical(f"unsupported resourceType {str(kind)[:40]!r}")
    rid = resource.get("id")
    if not isinstance(rid, str) or not ID_RE.fullmatch(rid):
        raise NotCanonical(f"{kind} without a valid id")
    return str(kind), rid


def canonical_row(resource: Mapping[str, Any]) -> CanonicalRow:
    """The typed row of one supported resource; `NotCanonical` when it has no key."""
    kind, rid = _key(resource)
    meta = _obj(resource.get("meta"))
    starts, ends = _WHEN[kind]
    system, code, display = _main_code(resource)
    value_num, value_unit, value_text = _value(resource)
    extras = _patient_extras(resource) if kind == "Patient" else {}
    return CanonicalRow(
        resource_type=kind,
        resource_id=rid,
        patient_id=patient_of(resource),
        version_id=_str(meta.get("versionId"), SHORT),
        last_updated=parse_datetime(meta.get("lastUpdated")),
        status=_status(resource),
        code_system=system,
        code=code,
        code_display=display,
        effective_start=_first(resource, *starts),
        effective_end=_first(resource, *ends),
        value_num=value_num,
        value_unit=value_unit,
        value_text=value_text,
        source=resource,
        **extras,
    )
