"""PatientSummary v2: the contract (pure: no Django, no I/O).

Frozen, typed values in clinical terms that the mapping modules fill from FHIR R4 JSON, the
`Section` that carries each one with its status, and the JSON form the encrypted cache
stores. Every field is documented in docs/summary-contract.md, whose changelog says what
each version changed. Values are as shown (units for people, the precision of the measure,
dates at their own precision); what the EHR sent is kept beside them (`source_value`,
`source_unit`, the codings) for the drill-downs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 2
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
class Demographics:
    name: str
    other_names: tuple[str, ...]
    birth_date: str | None  # at the precision sent: 1958, 1958-07 or 1958-07-14
    age: int | None  # whole years (at death for the deceased)
    sex: str | None
    mrns: tuple[str, ...]  # medical record numbers only: no SSN, licence or passport number
    deceased: bool
    deceased_date: str | None  # at the precision sent, at most the day
    replaced: bool  # Patient.link replaced-by: this record was replaced by another


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
    dosage: str | None  # the text, else built from the structured dosage; "as needed" kept
    sources: tuple[str, ...]  # "order" and/or "patient-reported"
    as_needed: bool = False


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
    value: str  # as shown: "189/102" for blood pressure, "71.7" for weight
    unit: str | None  # as shown: "mmHg"
    date: str | None
    code: str  # the LOINC code of the observation read (85354-9, 55284-4, 8867-4...)
    source_value: str  # as sent: "188.72546355403142/101.7069729102616"
    source_unit: str | None  # as sent: "mm[Hg]"
    flag: str | None = None  # H or L, or the EHR's interpretation code
    flag_source: str | None = None  # "interpretation" or "adult range" (the app's own rule)
    status: str = "final"


@dataclass(frozen=True)
class LabResult:
    concept: Concept
    value: str  # as shown: the source's digits up to the cap; text for coded/string results
    unit: str | None
    date: str | None
    reference_range: str | None
    flag: str | None  # H, L, HH, LL, A, ... or None when normal or unknown
    abnormal: bool
    flag_source: str | None  # "interpretation" or "reference range"
    source_value: str = ""
    source_unit: str | None = None
    status: str = "final"  # corrected, amended and preliminary are shown as such


@dataclass(frozen=True)
class EncounterItem:
    type: str
    encounter_class: str | None
    start: str | None
    end: str | None
    status: str


@dataclass(frozen=True)
class DocumentItem:
    """A clinical note or report with content to read (DocumentReference, or a
    DiagnosticReport with `presentedForm`); the content itself is fetched when opened."""

    resource_type: str  # "DocumentReference" or "DiagnosticReport"
    id: str
    concept: Concept  # DocumentReference.type, DiagnosticReport.code
    title: str  # the description or attachment title, else the type's label
    date: str | None
    author: str | None
    status: str  # docStatus when the EHR gave one (preliminary, final, amended), else status
    categories: tuple[str, ...]
    formats: tuple[str, ...]  # the kinds of its attachments ("text", "html", "pdf"...)

    @property
    def type_label(self) -> str:
        return self.concept.label


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
        DocumentItem,
    )
}


def section_to_json(section: Section) -> dict[str, Any]:
    # "_item" names each item's class; it cannot clash with a field (EncounterItem has `type`).
    body = dataclasses.asdict(section)
    body["items"] = [
        {**dataclasses.asdict(item), "_item": type(item).__name__} for item in section.items
    ]
    return body


def _item(cls: type, data: Mapping[str, Any]) -> Any:
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
        _item(_ITEM_TYPES[item.pop("_item")], item) for item in [dict(i) for i in data["items"]]
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
