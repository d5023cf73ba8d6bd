"""PatientSummary v1: the summary contract and the clinical rules that fill it (pure).

Every field and rule is documented in docs/summary-contract.md. The mapping takes FHIR R4
resources as JSON (already fetched; see smartapp/summary_service.py) and returns frozen,
typed values in clinical terms. Rules that hold everywhere:

- `entered-in-error` records are never shown (status or verificationStatus).
- "Active" lists leave out inactive, resolved, stopped and completed records.
- Codes keep their original system, code and display; a coding without display is shown as
  its code and system; codings from unknown systems are shown, never dropped.
- Units are kept as sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1
Json = Mapping[str, Any]

LOINC = "http://loinc.org"
SYSTEM_NAMES = {
    LOINC: "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
}


class SectionStatus(StrEnum):
    OK = "ok"
    EMPTY = "empty"
    PARTIAL = "partial"  # truncated by the page caps, or some pages failed
    NOT_SHARED = "not_shared"  # the scope was not granted: the query was never sent
    UNAVAILABLE = "unavailable"  # the EHR failed; `reason` says so in plain words


# --- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coding:
    system: str | None
    code: str | None
    display: str | None

    @property
    def label(self) -> str:
        """What to show: the display, else the code with its system (never nothing)."""
        if self.display:
            return self.display
        system = SYSTEM_NAMES.get(self.system or "", self.system or "no system")
        return f"{self.code or '?'} ({system})"


@dataclass(frozen=True)
class Concept:
    codings: tuple[Coding, ...]
    text: str | None = None

    @property
    def label(self) -> str:
        if self.text:
            return self.text
        for coding in self.codings:
            if coding.display:
                return coding.display
        return self.codings[0].label if self.codings else "(not coded)"

    def code_in(self, system: str) -> str | None:
        return next((c.code for c in self.codings if c.system == system and c.code), None)


@dataclass(frozen=True)
class Quantity:
    value: str  # as sent, so 7.10 stays 7.10
    unit: str | None

    @property
    def number(self) -> Decimal | None:
        try:
            return Decimal(self.value)
        except InvalidOperation:
            return None

    @property
    def label(self) -> str:
        return f"{self.value} {self.unit}".strip() if self.unit else self.value


@dataclass(frozen=True)
class Demographics:
    name: str
    other_names: tuple[str, ...]
    birth_date: str | None
    age: int | None
    sex: str | None
    identifiers: tuple[tuple[str, str], ...]  # (label, value)
    deceased: bool
    deceased_date: str | None


@dataclass(frozen=True)
class Problem:
    concept: Concept
    clinical_status: str
    onset: str | None
    recorded: str | None


@dataclass(frozen=True)
class MedicationItem:
    concept: Concept
    status: str
    date: str | None
    dosage: str | None
    sources: tuple[str, ...]  # "order" and/or "patient-reported"


@dataclass(frozen=True)
class Allergy:
    concept: Concept
    criticality: str | None
    clinical_status: str
    category: tuple[str, ...]
    recorded: str | None


@dataclass(frozen=True)
class ImmunizationItem:
    concept: Concept
    date: str | None
    status: str


@dataclass(frozen=True)
class VitalSign:
    kind: str  # one of VITAL_KINDS
    label: str
    value: str  # "128/82" for blood pressure
    unit: str | None
    date: str | None


@dataclass(frozen=True)
class LabResult:
    concept: Concept
    value: str
    unit: str | None
    date: str | None
    reference_range: str | None
    flag: str | None  # H, L, HH, LL, A, ... or None when normal or unknown
    abnormal: bool
    flag_source: str | None  # "interpretation" or "reference range"


@dataclass(frozen=True)
class EncounterItem:
    type: str
    encounter_class: str | None
    start: str | None
    end: str | None
    status: str


@dataclass(frozen=True)
class Section:
    name: str
    status: SectionStatus
    items: tuple[Any, ...] = ()
    retrieved_at: str | None = None  # ISO instant
    reason: str | None = None  # user-safe, for unavailable
    truncated: bool = False

    def with_status(self, status: SectionStatus, reason: str | None = None) -> Section:
        return dataclasses.replace(self, status=status, reason=reason)


@dataclass(frozen=True)
class PatientSummary:
    version: int
    patient_id: str
    sections: Mapping[str, Section] = field(default_factory=dict)


# --- shared readers -------------------------------------------------------------------------


def coding(raw: Json) -> Coding:
    return Coding(raw.get("system"), raw.get("code"), raw.get("display"))


def concept(raw: Json | None) -> Concept:
    raw = raw or {}
    return Concept(
        tuple(coding(c) for c in raw.get("coding") or [] if isinstance(c, Mapping)), raw.get("text")
    )


def _code(raw: Json | None) -> str | None:
    """The first code of a CodeableConcept (for status-like elements)."""
    for item in (raw or {}).get("coding") or []:
        if item.get("code"):
            return str(item["code"])
    return None


def entered_in_error(resource: Json) -> bool:
    return resource.get("status") == "entered-in-error" or _code(
        resource.get("verificationStatus")
    ) in (
        "entered-in-error",
        "refuted",
    )


def first_date(resource: Json, *paths: str) -> str | None:
    for path in paths:
        value: Any = resource
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            return value
    return None


def _sort_key(value: str | None) -> str:
    return value or ""


def quantity(raw: Json | None) -> Quantity | None:
    if not raw or raw.get("value") is None:
        return None
    return Quantity(str(raw["value"]), raw.get("unit") or raw.get("code"))


# --- demographics ---------------------------------------------------------------------------


def _name(raw: Json) -> str:
    if raw.get("text"):
        return str(raw["text"])
    parts = [
        *raw.get("prefix", []),
        *raw.get("given", []),
        raw.get("family", ""),
        *raw.get("suffix", []),
    ]
    return " ".join(str(part) for part in parts if part)


def patient_name(patient: Json) -> str:
    """The `official` name (else the first), as text; "(no name recorded)" when there is none."""
    names = [n for n in patient.get("name") or [] if isinstance(n, Mapping)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    return _name(official) or "(no name recorded)"


def age_on(birth: str | None, today: date) -> int | None:
    if not birth or len(birth) < 4:
        return None
    try:
        born = date.fromisoformat(birth) if len(birth) == 10 else date(int(birth[:4]), 1, 1)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def demographics(patient: Json, today: date) -> Demographics:
    names = [n for n in patient.get("name") or [] if isinstance(n, Mapping)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    others = tuple(_name(n) for n in names if n is not official and _name(n))
    identifiers = []
    for ident in patient.get("identifier") or []:
        label = (
            concept(ident.get("type")).label
            if ident.get("type")
            else ident.get("system", "Identifier")
        )
        if ident.get("value"):
            identifiers.append((str(label), str(ident["value"])))
    deceased_date = patient.get("deceasedDateTime")
    deceased = bool(patient.get("deceasedBoolean")) or bool(deceased_date)
    birth = patient.get("birthDate")
    age_date = today
    if deceased_date:
        age_date = date.fromisoformat(deceased_date[:10])
    return Demographics(
        name=patient_name(patient),
        other_names=others,
        birth_date=birth,
        age=age_on(birth, age_date),
        sex=patient.get("gender"),
        identifiers=tuple(identifiers),
        deceased=deceased,
        deceased_date=deceased_date,
    )


# --- problems, allergies, immunizations, encounters -----------------------------------------

ACTIVE_CLINICAL = ("active", "recurrence", "relapse")


def active_problems(conditions: Iterable[Json]) -> tuple[Problem, ...]:
    """Conditions whose clinicalStatus is active/recurrence/relapse, newest onset first."""
    out = [
        Problem(
            concept(c.get("code")),
            str(_code(c.get("clinicalStatus"))),
            first_date(c, "onsetDateTime", "onsetPeriod.start"),
            c.get("recordedDate"),
        )
        for c in conditions
        if not entered_in_error(c) and _code(c.get("clinicalStatus")) in ACTIVE_CLINICAL
    ]
    return tuple(sorted(out, key=lambda p: _sort_key(p.onset or p.recorded), reverse=True))


def allergies(resources: Iterable[Json]) -> tuple[Allergy, ...]:
    """Allergies that are active (or carry no clinicalStatus); high criticality first."""
    out = []
    for resource in resources:
        status = _code(resource.get("clinicalStatus")) or "active"
        if entered_in_error(resource) or status != "active":
            continue
        out.append(
            Allergy(
                concept(resource.get("code")),
                resource.get("criticality"),
                status,
                tuple(resource.get("category") or []),
                resource.get("recordedDate"),
            )
        )
    order = {"high": 0, "unable-to-assess": 1, "low": 2}
    return tuple(sorted(out, key=lambda a: (order.get(a.criticality or "", 3), a.concept.label)))


def immunizations(resources: Iterable[Json]) -> tuple[ImmunizationItem, ...]:
    """Given immunizations (status completed), newest first."""
    out = [
        ImmunizationItem(
            concept(r.get("vaccineCode")), first_date(r, "occurrenceDateTime"), r["status"]
        )
        for r in resources
        if r.get("status") == "completed"
    ]
    return tuple(sorted(out, key=lambda i: _sort_key(i.date), reverse=True))


def recent_encounters(resources: Iterable[Json], limit: int = 10) -> tuple[EncounterItem, ...]:
    out = []
    for r in resources:
        if r.get("status") in ("entered-in-error", "cancelled"):
            continue
        types = [concept(t).label for t in r.get("type") or []]
        klass = r.get("class") or {}
        out.append(
            EncounterItem(
                types[0] if types else "Encounter",
                klass.get("display") or klass.get("code"),
                first_date(r, "period.start"),
                first_date(r, "period.end"),
                str(r.get("status")),
            )
        )
    return tuple(sorted(out, key=lambda e: _sort_key(e.start), reverse=True)[:limit])


# --- medications ----------------------------------------------------------------------------

ACTIVE_REQUEST = ("active", "on-hold")
ACTIVE_STATEMENT = ("active", "intended")
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _medication_concept(resource: Json, medications: Mapping[str, Json]) -> Concept:
    if resource.get("medicationCodeableConcept"):
        return concept(resource["medicationCodeableConcept"])
    reference = (resource.get("medicationReference") or {}).get("reference", "")
    referenced = medications.get(reference)
    if referenced is not None:
        return concept(referenced.get("code"))
    display = (resource.get("medicationReference") or {}).get("display")
    return Concept((), display or "(medication not shown)")


def _dosage(items: Sequence[Json] | None) -> str | None:
    texts = [str(d["text"]) for d in items or [] if isinstance(d, Mapping) and d.get("text")]
    return "; ".join(texts) or None


def _same_drug_key(item: Concept) -> str:
    """De-duplication: the same RxNorm code is the same drug; without one, the same label."""
    rxnorm = item.code_in(RXNORM)
    return f"rxnorm:{rxnorm}" if rxnorm else f"label:{item.label.casefold()}"


def active_medications(
    requests: Iterable[Json], statements: Iterable[Json], medications: Mapping[str, Json]
) -> tuple[MedicationItem, ...]:
    """Active orders and active patient-reported medications, one row per drug.

    An order and a statement for the same drug (same RxNorm code, else same label) merge
    into one row listing both sources; the order's details win.
    """
    rows: dict[str, MedicationItem] = {}
    for source, resources, active, date_paths, dosage_key in (
        ("order", requests, ACTIVE_REQUEST, ("authoredOn",), "dosageInstruction"),
        (
            "patient-reported",
            statements,
            ACTIVE_STATEMENT,
            ("effectiveDateTime", "effectivePeriod.start", "dateAsserted"),
            "dosage",
        ),
    ):
        for resource in resources:
            if resource.get("status") not in active:
                continue
            item = MedicationItem(
                _medication_concept(resource, medications),
                str(resource["status"]),
                first_date(resource, *date_paths),
                _dosage(resource.get(dosage_key)),
                (source,),
            )
            key = _same_drug_key(item.concept)
            if key in rows:
                merged = rows[key]
                rows[key] = dataclasses.replace(merged, sources=(*merged.sources, source))
            else:
                rows[key] = item
    return tuple(sorted(rows.values(), key=lambda m: m.concept.label.casefold()))


# --- observations ---------------------------------------------------------------------------

SHOWN_OBSERVATION = ("final", "amended", "corrected", "preliminary")
BLOOD_PRESSURE_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
VITAL_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "blood-pressure": ("Blood pressure", (BLOOD_PRESSURE_PANEL,)),
    "heart-rate": ("Heart rate", ("8867-4",)),
    "respiratory-rate": ("Respiratory rate", ("9279-1",)),
    "temperature": ("Temperature", ("8310-5",)),
    "oxygen-saturation": ("Oxygen saturation", ("59408-5", "2708-6")),
    "weight": ("Weight", ("29463-7",)),
    "height": ("Height", ("8302-2",)),
    "bmi": ("BMI", ("39156-5",)),
}
ABNORMAL_FLAGS = frozenset({"H", "HH", "L", "LL", "A", "AA", "HU", "LU", "<", ">", "POS", "R"})


def _shown(observations: Iterable[Json]) -> list[Json]:
    return [o for o in observations if o.get("status") in SHOWN_OBSERVATION]


def _effective(observation: Json) -> str | None:
    return first_date(observation, "effectiveDateTime", "effectivePeriod.start", "issued")


def _component(observation: Json, loinc: str) -> Quantity | None:
    for component in observation.get("component") or []:
        if concept(component.get("code")).code_in(LOINC) == loinc:
            return quantity(component.get("valueQuantity"))
    return None


def vital_kind(observation: Json) -> str | None:
    code = concept(observation.get("code")).code_in(LOINC)
    return next((kind for kind, (_, codes) in VITAL_KINDS.items() if code in codes), None)


def vital_reading(observation: Json) -> VitalSign | None:
    kind = vital_kind(observation)
    if kind is None:
        return None
    label = VITAL_KINDS[kind][0]
    if kind == "blood-pressure":
        systolic, diastolic = _component(observation, SYSTOLIC), _component(observation, DIASTOLIC)
        if systolic is None or diastolic is None:
            return None
        return VitalSign(
            kind,
            label,
            f"{systolic.value}/{diastolic.value}",
            systolic.unit,
            _effective(observation),
        )
    value = quantity(observation.get("valueQuantity"))
    if value is None:
        return None
    return VitalSign(kind, label, value.value, value.unit, _effective(observation))


def latest_vitals(observations: Iterable[Json]) -> tuple[VitalSign, ...]:
    """The newest reading of each vital sign, in the order of VITAL_KINDS."""
    latest: dict[str, VitalSign] = {}
    for observation in _shown(observations):
        reading = vital_reading(observation)
        if reading and (
            reading.kind not in latest
            or _sort_key(reading.date) > _sort_key(latest[reading.kind].date)
        ):
            latest[reading.kind] = reading
    return tuple(latest[kind] for kind in VITAL_KINDS if kind in latest)


def vital_history(observations: Iterable[Json], kind: str) -> tuple[VitalSign, ...]:
    readings = [r for o in _shown(observations) if (r := vital_reading(o)) and r.kind == kind]
    return tuple(sorted(readings, key=lambda r: _sort_key(r.date), reverse=True))


def _range_text(
    ranges: Sequence[Json] | None,
) -> tuple[str | None, Quantity | None, Quantity | None]:
    for item in ranges or []:
        low, high = quantity(item.get("low")), quantity(item.get("high"))
        if item.get("text"):
            return str(item["text"]), low, high
        bound = low or high
        if bound is not None:
            if low and high:
                text = f"{low.value}-{high.value}"
            else:
                text = f">= {low.value}" if low else f"<= {bound.value}"
            return f"{text} {bound.unit or ''}".strip(), low, high
    return None, None, None


def lab_result(observation: Json) -> LabResult | None:
    value = quantity(observation.get("valueQuantity"))
    if value is None and observation.get("valueString") is not None:
        value = Quantity(str(observation["valueString"]), None)
    if value is None:
        return None
    text, low, high = _range_text(observation.get("referenceRange"))
    flag, source = None, None
    interpreted = [_code(i) for i in observation.get("interpretation") or []]
    interpreted = [code for code in interpreted if code]
    if interpreted:
        flag = next((code for code in interpreted if code in ABNORMAL_FLAGS), None)
        source = "interpretation"
    elif value.number is not None and (low or high):
        if low and low.number is not None and value.number < low.number:
            flag = "L"
        elif high and high.number is not None and value.number > high.number:
            flag = "H"
        source = "reference range"
    return LabResult(
        concept(observation.get("code")),
        value.value,
        value.unit,
        _effective(observation),
        text,
        flag,
        flag is not None,
        source,
    )


def recent_labs(observations: Iterable[Json], limit: int = 20) -> tuple[LabResult, ...]:
    """The newest result of each test (by code), newest first, at most `limit`."""
    newest: dict[str, tuple[LabResult, str]] = {}
    for observation in _shown(observations):
        result = lab_result(observation)
        if result is None:
            continue
        key = (
            "|".join(f"{c.system}|{c.code}" for c in result.concept.codings) or result.concept.label
        )
        if key not in newest or _sort_key(result.date) > _sort_key(newest[key][0].date):
            newest[key] = (result, key)
    ordered = sorted((r for r, _ in newest.values()), key=lambda r: _sort_key(r.date), reverse=True)
    return tuple(ordered[:limit])


def lab_history(observations: Iterable[Json], system: str, code: str) -> tuple[LabResult, ...]:
    results = []
    for observation in _shown(observations):
        if any(
            c.system == system and c.code == code for c in concept(observation.get("code")).codings
        ):
            result = lab_result(observation)
            if result is not None:
                results.append(result)
    return tuple(sorted(results, key=lambda r: _sort_key(r.date), reverse=True))


# --- serialisation (for the encrypted cache) -------------------------------------------------

_ITEM_TYPES = {
    cls.__name__: cls
    for cls in (
        Demographics,
        Problem,
        MedicationItem,
        Allergy,
        ImmunizationItem,
        VitalSign,
        LabResult,
        EncounterItem,
    )
}


def section_to_json(section: Section) -> dict[str, Any]:
    # "_item" names each item's class; it cannot clash with a field (EncounterItem has `type`).
    body = dataclasses.asdict(section)
    body["items"] = [
        {**dataclasses.asdict(item), "_item": type(item).__name__} for item in section.items
    ]
    return body


def _build(cls: type, data: Mapping[str, Any]) -> Any:
    values = {}
    for name, value in data.items():
        if name == "concept":
            value = Concept(tuple(Coding(**c) for c in value["codings"]), value.get("text"))
        elif isinstance(value, list):
            value = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        values[name] = value
    return cls(**values)


def section_from_json(data: Mapping[str, Any]) -> Section:
    items = tuple(
        _build(_ITEM_TYPES[item.pop("_item")], item) for item in [dict(i) for i in data["items"]]
    )
    return Section(
        data["name"],
        SectionStatus(data["status"]),
        items,
        data.get("retrieved_at"),
        data.get("reason"),
        bool(data.get("truncated")),
    )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
