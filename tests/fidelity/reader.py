"""An independent reader of raw FHIR R4 JSON: what a patient summary must show.

Written from the FHIR R4 and US Core specifications and the rules in docs/summary-contract.md,
never from the app's mapping code: nothing here imports `smartapp` or `portal` (nor the
sandbox), so a mistake in the app's mapping cannot hide by being repeated here.

Input is plain JSON: a Bundle (`resolve_bundle` rewrites its `urn:uuid:` references to
`Type/id`, as a FHIR server does on a transaction) or a list of resources, narrowed to one
patient by `records_for`. Output is an `Expected` summary: the labels, values, units and
dates the pages must show, each with the rule that produced it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

Json = Mapping[str, Any]

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# Observation.status values whose result may be shown (FHIR R4 ObservationStatus).
USABLE_OBSERVATION = frozenset({"final", "amended", "corrected", "preliminary"})
# verificationStatus codes that mean "this record is not true" (never shown).
NOT_TRUE = frozenset({"entered-in-error", "refuted"})

# Vital-sign kinds (the summary's names) and their LOINC codes (FHIR R4 vital-signs profiles).
VITAL_CODES: dict[str, frozenset[str]] = {
    "heart-rate": frozenset({"8867-4"}),
    "respiratory-rate": frozenset({"9279-1"}),
    # Body temperature 8310-5, and the more specific site codes FHIR's vital-signs profile
    # allows in its place (Synthea sends oral 8331-1 only): rectal, tympanic, axillary, core.
    "temperature": frozenset({"8310-5", "8331-1", "8332-9", "8333-7", "8328-7", "8329-5"}),
    "oxygen-saturation": frozenset({"59408-5", "2708-6"}),
    "weight": frozenset({"29463-7"}),
    "height": frozenset({"8302-2"}),
    "bmi": frozenset({"39156-5"}),
}
BP_PANELS = frozenset({"85354-9", "55284-4"})
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
VITAL_KINDS = ("blood-pressure", *VITAL_CODES)

# Identifier types (HL7 v2 table 0203) the pages must never show, and the MRN type.
HIDDEN_IDENTIFIER_TYPES = {"SS": "SSN", "DL": "driver's licence", "PPN": "passport"}
MRN_TYPE = "MR"

# Interpretation codes (v3 ObservationInterpretation) the contract calls abnormal / normal.
ABNORMAL = frozenset({"H", "HH", "L", "LL", "A", "AA", "HU", "LU", "<", ">", "POS", "R"})
NORMAL = frozenset({"N"})

# This reader's own UCUM code -> human unit table. A unit not listed here must be shown as
# the source sent it (Quantity.unit, else Quantity.code).
UCUM_HUMAN: dict[str, str] = {
    "mm[Hg]": "mmHg",
    "Cel": "°C",
    "[degF]": "°F",
    "/min": "/min",
    "{beats}/min": "/min",
    "{breaths}/min": "/min",
    "kg/m2": "kg/m²",
    "10*3/uL": "\u00d710³/µL",
    "10*6/uL": "\u00d710⁶/µL",
    "10*9/L": "\u00d710⁹/L",
    "10*12/L": "\u00d710¹²/L",
    "%": "%",
    "kg": "kg",
    "g": "g",
    "[lb_av]": "lb",
    "[oz_av]": "oz",
    "cm": "cm",
    "m": "m",
    "mm": "mm",
    "[in_i]": "in",
    "g/dL": "g/dL",
    "g/L": "g/L",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "mmol/L": "mmol/L",
    "umol/L": "µmol/L",
    "meq/L": "mEq/L",
    "mL/min": "mL/min",
    "mL/min/{1.73_m2}": "mL/min/1.73 m²",
    "ug/L": "µg/L",
    "ug/dL": "µg/dL",
    "ug/mL": "µg/mL",
    "ng/mL": "ng/mL",
    "ng/dL": "ng/dL",
    "pg/mL": "pg/mL",
    "pg": "pg",
    "fL": "fL",
    "uL": "µL",
    "U/L": "U/L",
    "kU/L": "kU/L",
    "[IU]/L": "IU/L",
    "m[IU]/L": "mIU/L",
}


# ---------------------------------------------------------------------------------------------
# Input: bundles and one patient's records
# ---------------------------------------------------------------------------------------------


def resolve_bundle(bundle: Json) -> list[dict[str, Any]]:
    """The resources of a Bundle with every `reference` that names an entry's `fullUrl`
    (Synthea's `urn:uuid:...`) rewritten to `Type/id` (FHIR R4 Bundle.entry.fullUrl rules:
    a reference matching a fullUrl resolves to that entry). A single resource is a list of one.
    """
    if bundle.get("resourceType") != "Bundle":
        return [dict(bundle)]
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, Mapping)]
    aliases: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource")
        if isinstance(resource, Mapping) and entry.get("fullUrl") and resource.get("id"):
            aliases[str(entry["fullUrl"])] = f"{resource['resourceType']}/{resource['id']}"
    return [
        _rewrite(dict(e["resource"]), aliases)
        for e in entries
        if isinstance(e.get("resource"), Mapping)
    ]


def _rewrite(value: Any, aliases: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping):
        return {
            k: aliases.get(v, v)
            if k == "reference" and isinstance(v, str)
            else _rewrite(v, aliases)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, aliases) for item in value]
    return value


def _patient_reference(resource: Json) -> str | None:
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if isinstance(ref, Mapping) and isinstance(ref.get("reference"), str):
            return str(ref["reference"])
    return None


def records_for(resources: Iterable[Json], patient_id: str) -> list[Json]:
    """One patient's records: the Patient, every resource whose `subject` or `patient` is
    `Patient/{id}`, and every Medication (orders may reference a shared one)."""
    wanted = f"Patient/{patient_id}"
    out: list[Json] = []
    for resource in resources:
        rtype = resource.get("resourceType")
        own_patient = rtype == "Patient" and resource.get("id") == patient_id
        if own_patient or rtype == "Medication" or _patient_reference(resource) == wanted:
            out.append(resource)
    return out


def patient_ids(resources: Iterable[Json]) -> list[str]:
    return [str(r["id"]) for r in resources if r.get("resourceType") == "Patient" and r.get("id")]


# ---------------------------------------------------------------------------------------------
# Shared datatypes: labels, dates, quantities
# ---------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Whitespace collapsed and trimmed (the comparison rule for every label)."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Label:
    """What a CodeableConcept must be shown as.

    Rule (docs/summary-contract.md, "Codes are kept whole"): the concept's `text`, else the
    first coding `display`, else the code. When only a code is available the contract lets the
    page add its system (`38341003 (SNOMED CT)`, `LOCAL-K (urn:oid:...)`), so a bare code is
    accepted, and so is the code followed by a parenthesised system name.
    Several `options` exist only when the source itself is ambiguous (a de-duplicated drug
    ordered twice under two names): any one of them is right.
    """

    options: tuple[str, ...]
    code_only: bool = False

    def accepts(self, shown: str) -> bool:
        shown = normalise(shown)
        for option in self.options:
            if shown == option:
                return True
            if self.code_only and shown.startswith(f"{option} (") and shown.endswith(")"):
                return True
        return False

    def __str__(self) -> str:
        return self.options[0] if self.options else "(no label)"


def concept_label(raw: Any) -> Label | None:
    """The label rule for a CodeableConcept (see `Label`); None when it says nothing."""
    if not isinstance(raw, Mapping):
        return None
    text = raw.get("text")
    if isinstance(text, str) and normalise(text):
        return Label((normalise(text),))
    codings = [c for c in raw.get("coding") or [] if isinstance(c, Mapping)]
    for coding in codings:
        display = coding.get("display")
        if isinstance(display, str) and normalise(display):
            return Label((normalise(display),))
    for coding in codings:
        code = coding.get("code")
        if isinstance(code, str) and code.strip():
            return Label((code.strip(),), code_only=True)
    return None


def coding_codes(raw: Any) -> list[str]:
    """The codes of a CodeableConcept (status-like elements: any coding counts)."""
    if not isinstance(raw, Mapping):
        return []
    return [
        str(c["code"])
        for c in raw.get("coding") or []
        if isinstance(c, Mapping) and isinstance(c.get("code"), str)
    ]


def system_codes(raw: Any) -> frozenset[str]:
    """`system|code` for every coding with both (the identity of a test, FHIR token search)."""
    if not isinstance(raw, Mapping):
        return frozenset()
    return frozenset(
        f"{c['system']}|{c['code']}"
        for c in raw.get("coding") or []
        if isinstance(c, Mapping) and c.get("system") and c.get("code")
    )


def has_loinc(raw: Any, codes: Iterable[str]) -> bool:
    return bool(system_codes(raw) & {f"{LOINC}|{code}" for code in codes})


_DATE = re.compile(r"^(\d{4})(-(\d{2})(-(\d{2}))?)?")


def shown_date(value: Any) -> str | None:
    """A FHIR date/dateTime as a page must show it: as sent, trimmed to its own precision and
    at most to the day (`2020-05-01T10:00:00Z` -> `2020-05-01`, `2020-05` stays `2020-05`)."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    return match.group(0) if match else None


def instant(value: Any) -> datetime | None:
    """A FHIR date/dateTime/instant as a UTC moment for ordering (a partial date is the start
    of its period; a dateTime without offset is taken as UTC)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        year, month, day = ([int(p) for p in text.split("-")] + [1, 1])[:3]
        return datetime(year, month, day, tzinfo=UTC)
    except (ValueError, TypeError):
        return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@dataclass(frozen=True)
class Unit:
    """A quantity's unit as it must appear: `data-ucum` is the source's code (else its unit),
    `human` the text shown (this reader's UCUM table, else the unit as sent)."""

    ucum: str
    human: str


def quantity_unit(raw: Json) -> Unit | None:
    """The unit rule: code looked up in UCUM_HUMAN when the system is UCUM (or absent);
    anything else is shown as sent."""
    code = raw.get("code") if isinstance(raw.get("code"), str) else None
    unit = raw.get("unit") if isinstance(raw.get("unit"), str) else None
    sent = code or unit
    if not sent:
        return None
    system = raw.get("system")
    if code and system in (None, UCUM) and code in UCUM_HUMAN:
        return Unit(sent, UCUM_HUMAN[code])
    return Unit(sent, unit or sent)


@dataclass(frozen=True)
class Reading:
    """One value that a vital or lab row must show: numbers (two for blood pressure) with a
    unit, or a text; and its date."""

    numbers: tuple[Decimal, ...] = ()
    unit: Unit | None = None
    text: Label | None = None
    date: str | None = None
    status: str = "final"  # amended, corrected and preliminary must be said beside the value

    def describe(self) -> str:
        if self.text is not None:
            value = str(self.text)
        else:
            value = "/".join(str(n) for n in self.numbers)
            if self.unit:
                value += f" {self.unit.ucum}"
        return f"{value} ({self.date or 'no date'})"


def quantity_reading(raw: Any, when: str | None, status: str = "final") -> Reading | None:
    if not isinstance(raw, Mapping):
        return None
    number = _decimal(raw.get("value"))
    if number is None:
        return None
    return Reading((number,), quantity_unit(raw), None, when, status)


# ---------------------------------------------------------------------------------------------
# Expected summary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Demographics:
    """Rule: the `official` HumanName (else the first): its `text`, else prefix, given, family
    and suffix joined by spaces; birthDate; age in whole years (at death when deceased);
    gender; MRNs (v2-0203 `MR`); deceased flag and date; identifiers never to show."""

    name: str
    birth_date: str | None
    ages: tuple[int, ...]
    gender: str | None
    mrns: tuple[str, ...]
    deceased: bool
    deceased_date: str | None
    hidden: tuple[tuple[str, str], ...]  # (kind, value)


@dataclass(frozen=True)
class Item:
    """One row of a list section: its label and the fields checked beside it."""

    label: Label
    date: str | None = None  # onset (problems), occurrence (immunizations)
    criticality: str | None = None  # allergies
    # medications
    sources: frozenset[str] = frozenset()
    dosages: tuple[Dosage, ...] = ()
    key: str = ""


@dataclass(frozen=True)
class Dosage:
    """What one order's (or statement's) dosage asks of the instructions cell.

    Rule: non-empty when any dosage has `text`, `asNeeded` (true or a concept), `timing` or
    `doseAndRate`; containing "as needed" when `asNeededBoolean` is true or
    `asNeededCodeableConcept` is present (then also that concept's label). `asNeededBoolean`
    false on its own asks nothing (it says only "not as needed").
    """

    needs_text: bool
    as_needed: bool
    as_needed_for: Label | None
    texts: tuple[str, ...] = ()  # the dosage texts as sent (for the escaping check)


@dataclass(frozen=True)
class Vital:
    """Rule: the newest reading of the kind (effectiveDateTime, effectivePeriod.start, else
    issued); several when tied at that moment (any one is right)."""

    kind: str
    readings: tuple[Reading, ...]


@dataclass(frozen=True)
class Lab:
    """Rule: the newest result per test (test = the set of `system|code` of its codings)."""

    key: frozenset[str]
    label: Label
    readings: tuple[Reading, ...]
    ranges: tuple[tuple[Decimal | None, Decimal | None, str | None], ...]  # per reading
    abnormal: tuple[bool | None, ...]  # per reading; None: no rule decides


@dataclass
class Expected:
    patient_id: str
    demographics: Demographics | None
    problems: list[Item] = field(default_factory=list)
    medications: list[Item] = field(default_factory=list)
    allergies: list[Item] = field(default_factory=list)
    immunizations: list[Item] = field(default_factory=list)
    vitals: dict[str, Vital] = field(default_factory=dict)
    labs: list[Lab] = field(default_factory=list)
    encounters: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "demographics": 1 if self.demographics else 0,
            "problems": len(self.problems),
            "medications": len(self.medications),
            "allergies": len(self.allergies),
            "immunizations": len(self.immunizations),
            "vitals": len(self.vitals),
            "labs": len(self.labs),
            "encounters": self.encounters,
        }


def _not_true(resource: Json) -> bool:
    """Rule: entered-in-error (by status or verificationStatus) and refuted are never shown."""
    if resource.get("status") == "entered-in-error":
        return True
    return bool(NOT_TRUE & set(coding_codes(resource.get("verificationStatus"))))


def human_name(raw: Json) -> str:
    text = raw.get("text")
    if isinstance(text, str) and normalise(text):
        return normalise(text)
    parts = [
        *(raw.get("prefix") or []),
        *(raw.get("given") or []),
        raw.get("family") or "",
        *(raw.get("suffix") or []),
    ]
    return normalise(" ".join(str(p) for p in parts if p))


def _age(born: str | None, on: date) -> tuple[int, ...]:
    """Whole years from birthDate to `on`; a partial birthDate allows both candidates."""
    if not born:
        return ()
    parts = born.split("-")
    try:
        year = int(parts[0])
        if len(parts) >= 3:
            birthday = date(year, int(parts[1]), int(parts[2][:2]))
            return (on.year - year - ((on.month, on.day) < (birthday.month, birthday.day)),)
    except ValueError:
        return ()
    return (on.year - year - 1, on.year - year)


def read_demographics(patient: Json, today: Sequence[date]) -> Demographics:
    names = [n for n in patient.get("name") or [] if isinstance(n, Mapping)]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    mrns: list[str] = []
    hidden: list[tuple[str, str]] = []
    for ident in patient.get("identifier") or []:
        if not isinstance(ident, Mapping) or not isinstance(ident.get("value"), str):
            continue
        types = [
            str(c.get("code"))
            for c in (ident.get("type") or {}).get("coding") or []
            if isinstance(c, Mapping) and c.get("system") == V2_0203
        ]
        if MRN_TYPE in types:
            mrns.append(ident["value"])
        for code, kind in HIDDEN_IDENTIFIER_TYPES.items():
            if code in types:
                hidden.append((kind, ident["value"]))
    died = patient.get("deceasedDateTime")
    deceased = bool(patient.get("deceasedBoolean")) or isinstance(died, str)
    born = patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None
    ages: tuple[int, ...] = ()
    if deceased:
        # At death: the death date as sent (its own calendar day, never moved to another zone).
        died_on = shown_date(died) or ""
        if len(died_on) == 10:
            ages = _age(born, date.fromisoformat(died_on))
        elif died_on:  # a year or month of death: any day in it
            year = int(died_on[:4])
            ages = tuple(sorted({*_age(born, date(year, 1, 1)), *_age(born, date(year, 12, 31))}))
    else:
        ages = tuple(sorted({age for day in today for age in _age(born, day)}))
    gender = patient.get("gender") if isinstance(patient.get("gender"), str) else None
    return Demographics(
        name=human_name(official),
        birth_date=shown_date(born),
        ages=tuple(sorted(ages)),
        gender=gender,
        mrns=tuple(mrns),
        deceased=deceased,
        deceased_date=shown_date(died),
        hidden=tuple(hidden),
    )


def read_problems(conditions: Iterable[Json]) -> list[Item]:
    """Rule: clinicalStatus active, recurrence or relapse; not entered-in-error or refuted.
    Onset: onsetDateTime, else onsetPeriod.start, else onsetString (checked when present)."""
    out = []
    for condition in conditions:
        if _not_true(condition):
            continue
        if not {"active", "recurrence", "relapse"} & set(
            coding_codes(condition.get("clinicalStatus"))
        ):
            continue
        label = concept_label(condition.get("code"))
        if label is None:
            continue
        onset = condition.get("onsetDateTime") or (condition.get("onsetPeriod") or {}).get("start")
        out.append(Item(label, date=shown_date(onset) or condition.get("onsetString")))
    return out


def read_allergies(allergies: Iterable[Json]) -> list[Item]:
    """Rule: clinicalStatus active or absent; not entered-in-error or refuted."""
    out = []
    for allergy in allergies:
        if _not_true(allergy):
            continue
        status = coding_codes(allergy.get("clinicalStatus"))
        if status and "active" not in status:
            continue
        label = concept_label(allergy.get("code"))
        if label is None:
            continue
        crit = allergy.get("criticality") if isinstance(allergy.get("criticality"), str) else None
        out.append(Item(label, criticality=crit))
    return out


def read_immunizations(immunizations: Iterable[Json]) -> list[Item]:
    """Rule: status completed; label from vaccineCode; date occurrenceDateTime (else
    occurrenceString as sent)."""
    out = []
    for imm in immunizations:
        if imm.get("status") != "completed" or _not_true(imm):
            continue
        label = concept_label(imm.get("vaccineCode"))
        if label is None:
            continue
        when = shown_date(imm.get("occurrenceDateTime")) or imm.get("occurrenceString")
        out.append(Item(label, date=when))
    return out


def _dosage(dosages: Any) -> Dosage:
    needs = as_needed = False
    reason: Label | None = None
    texts: list[str] = []
    for dose in dosages if isinstance(dosages, list) else []:
        if not isinstance(dose, Mapping):
            continue
        if dose.get("asNeededBoolean") is True or "asNeededCodeableConcept" in dose:
            as_needed = needs = True
            reason = reason or concept_label(dose.get("asNeededCodeableConcept"))
        if isinstance(dose.get("text"), str) and dose["text"].strip():
            texts.append(normalise(dose["text"]))
            needs = True
        if dose.get("timing"):
            needs = True
        if dose.get("doseAndRate"):
            needs = True
    return Dosage(needs, as_needed, reason, tuple(texts))


def _medication_concept(resource: Json, by_id: Mapping[str, Json]) -> Any:
    """medicationCodeableConcept, else the referenced Medication's `code` (a contained `#id`
    or a `Medication/id` in the data)."""
    if isinstance(resource.get("medicationCodeableConcept"), Mapping):
        return resource["medicationCodeableConcept"]
    ref = (resource.get("medicationReference") or {}).get("reference")
    if not isinstance(ref, str):
        return None
    if ref.startswith("#"):
        for contained in resource.get("contained") or []:
            if (
                isinstance(contained, Mapping)
                and contained.get("resourceType") == "Medication"
                and contained.get("id") == ref[1:]
            ):
                return contained.get("code")
        return None
    target = by_id.get(ref.split("/_history")[0].rsplit("/", 1)[-1])
    return target.get("code") if target else None


def read_medications(
    requests: Iterable[Json], statements: Iterable[Json], medications: Iterable[Json]
) -> list[Item]:
    """Rule: MedicationRequest active/on-hold, MedicationStatement active/intended; one row per
    drug (same RxNorm code, else same label case-insensitively). The label and dosage come from
    the orders when there are any (else the statements); the sources list both kinds."""
    by_id = {str(m.get("id")): m for m in medications}
    groups: dict[str, list[tuple[str, Json, Label]]] = {}
    order: list[str] = []
    chosen = [("order", r) for r in requests if r.get("status") in ("active", "on-hold")]
    chosen += [
        ("patient-reported", s) for s in statements if s.get("status") in ("active", "intended")
    ]
    for source, resource in chosen:
        if _not_true(resource):
            continue
        concept = _medication_concept(resource, by_id)
        label = concept_label(concept)
        if label is None:
            ref = resource.get("medicationReference") or {}
            display = ref.get("display") if isinstance(ref, Mapping) else None
            label = Label((normalise(display),)) if isinstance(display, str) else None
        if label is None:
            continue
        rxnorm = [
            c.split("|", 1)[1] for c in sorted(system_codes(concept)) if c.startswith(f"{RXNORM}|")
        ]
        key = f"rxnorm:{rxnorm[0]}" if rxnorm else f"name:{str(label).casefold()}"
        if key not in groups:
            order.append(key)
        groups.setdefault(key, []).append((source, resource, label))
    out = []
    for key in order:
        members = groups[key]
        orders = [m for m in members if m[0] == "order"]
        winners = orders or members
        labels = tuple(dict.fromkeys(opt for _, _, label in winners for opt in label.options))
        code_only = all(label.code_only for _, _, label in winners)
        dosages = tuple(
            _dosage(r.get("dosageInstruction") if s == "order" else r.get("dosage"))
            for s, r, _ in winners
        )
        out.append(
            Item(
                Label(labels, code_only=code_only),
                sources=frozenset(s for s, _, _ in members),
                dosages=dosages,
                key=key,
            )
        )
    return out


def _is_category(observation: Json, category: str) -> bool:
    for concept in observation.get("category") or []:
        for coding in (concept or {}).get("coding") or []:
            if coding.get("code") == category and coding.get("system") in (None, OBS_CATEGORY):
                return True
    return False


def _when(observation: Json) -> tuple[datetime | None, str | None]:
    """The moment an observation is about: effectiveDateTime, effectivePeriod.start,
    effectiveInstant, else issued; (moment for ordering, date as shown)."""
    for value in (
        observation.get("effectiveDateTime"),
        (observation.get("effectivePeriod") or {}).get("start"),
        observation.get("effectiveInstant"),
        observation.get("issued"),
    ):
        moment = instant(value)
        if moment is not None:
            return moment, shown_date(value)
    return None, None


def _newest(candidates: list[tuple[datetime | None, Any]]) -> list[Any]:
    """Everything at the newest moment (ties are all acceptable); undated ones only when no
    candidate has a date."""
    dated = [c for c in candidates if c[0] is not None]
    if not dated:
        return [value for _, value in candidates]
    top = max(moment for moment, _ in dated if moment is not None)
    return [value for moment, value in dated if moment == top]


def _component(observation: Json, code: str) -> Json | None:
    for component in observation.get("component") or []:
        if isinstance(component, Mapping) and has_loinc(component.get("code"), [code]):
            return component
    return None


def read_vitals(observations: Iterable[Json]) -> dict[str, Vital]:
    """Rule: category vital-signs, status final/amended/corrected/preliminary; per kind the
    newest value. Blood pressure: any observation with systolic 8480-6 and diastolic 8462-4
    components that both carry a valueQuantity (85354-9 and 55284-4 panels are such; a panel
    missing one is skipped). Other kinds: a top-level valueQuantity under the kind's code, or
    a component with that code."""
    usable = [
        o
        for o in observations
        if o.get("status") in USABLE_OBSERVATION and _is_category(o, "vital-signs")
    ]
    found: dict[str, list[tuple[datetime | None, Reading]]] = {}
    for obs in usable:
        moment, shown = _when(obs)
        status = str(obs["status"])
        systolic, diastolic = _component(obs, SYSTOLIC), _component(obs, DIASTOLIC)
        if systolic and diastolic:
            sys_r = quantity_reading(systolic.get("valueQuantity"), shown, status)
            dia_r = quantity_reading(diastolic.get("valueQuantity"), shown, status)
            if sys_r and dia_r:
                reading = Reading(sys_r.numbers + dia_r.numbers, sys_r.unit, None, shown, status)
                found.setdefault("blood-pressure", []).append((moment, reading))
        for kind, codes in VITAL_CODES.items():
            source: Any = None
            if has_loinc(obs.get("code"), codes):
                source = obs.get("valueQuantity")
            else:
                for code in codes:
                    component = _component(obs, code)
                    if component is not None:
                        source = component.get("valueQuantity")
                        break
            reading_or_none = quantity_reading(source, shown, status)
            if reading_or_none is not None:
                found.setdefault(kind, []).append((moment, reading_or_none))
    return {
        kind: Vital(kind, tuple(dict.fromkeys(_newest(found[kind]))))
        for kind in VITAL_KINDS
        if kind in found
    }


def _range(observation: Json) -> tuple[Decimal | None, Decimal | None, str | None]:
    for rng in observation.get("referenceRange") or []:
        if not isinstance(rng, Mapping):
            continue
        low = _decimal((rng.get("low") or {}).get("value"))
        high = _decimal((rng.get("high") or {}).get("value"))
        text = rng.get("text") if isinstance(rng.get("text"), str) else None
        return low, high, text
    return None, None, None


def _abnormal(observation: Json, reading: Reading) -> bool | None:
    """Rule (contract, labs): interpretation when present (ABNORMAL codes flag, N does not);
    otherwise the reference range (below low or above high flags); neither: no flag."""
    codes = {c for i in observation.get("interpretation") or [] for c in coding_codes(i)}
    if codes:
        if codes & ABNORMAL:
            return True
        if codes & NORMAL:
            return False
        return None  # an interpretation this rule does not know: not checked
    low, high, _ = _range(observation)
    if len(reading.numbers) != 1 or (low is None and high is None):
        return False if reading.numbers or reading.text else None
    value = reading.numbers[0]
    return bool((low is not None and value < low) or (high is not None and value > high))


def lab_reading(obs: Json) -> Reading | None:
    """A lab result's value (FHIR R4 Observation.value[x], in the contract's v2 list): a
    quantity; a string; a coded value (its label); an integer; a boolean (shown yes/no or
    true/false); else, with a dataAbsentReason, "No value: <its label>". None: no result
    (a panel with `hasMember` and no value is not one)."""
    _, shown = _when(obs)
    status = str(obs.get("status"))
    reading = quantity_reading(obs.get("valueQuantity"), shown, status)
    if reading is not None:
        return reading
    if isinstance(obs.get("valueString"), str) and normalise(obs["valueString"]):
        return Reading(text=Label((normalise(obs["valueString"]),)), date=shown, status=status)
    if isinstance(obs.get("valueCodeableConcept"), Mapping):
        text = concept_label(obs["valueCodeableConcept"])
        return Reading(text=text, date=shown, status=status) if text else None
    integer = obs.get("valueInteger")
    if isinstance(integer, int) and not isinstance(integer, bool):
        return Reading((Decimal(integer),), date=shown, status=status)
    if isinstance(obs.get("valueBoolean"), bool):
        words = (
            ("Yes", "yes", "True", "true")
            if obs["valueBoolean"]
            else ("No", "no", "False", "false")
        )
        return Reading(text=Label(words), date=shown, status=status)
    absent = concept_label(obs.get("dataAbsentReason"))
    if absent is not None:
        options = tuple(f"No value: {option}" for option in absent.options)
        return Reading(text=Label(options, absent.code_only), date=shown, status=status)
    return None


def read_labs(observations: Iterable[Json]) -> list[Lab]:
    """Rule: category laboratory, status final/amended/corrected/preliminary, with a result
    (`lab_reading`); the newest per test (test = the set of `system|code` of its codings)."""
    by_key: dict[frozenset[str], list[tuple[datetime | None, tuple[Json, Reading, Label]]]] = {}
    for obs in observations:
        if obs.get("status") not in USABLE_OBSERVATION or not _is_category(obs, "laboratory"):
            continue
        label = concept_label(obs.get("code"))
        reading = lab_reading(obs)
        if label is None or reading is None:
            continue
        moment, _ = _when(obs)
        key = system_codes(obs.get("code")) or frozenset({f"label|{label}"})
        by_key.setdefault(key, []).append((moment, (obs, reading, label)))
    labs = []
    for key, candidates in by_key.items():
        newest = _newest(candidates)
        labs.append(
            Lab(
                key=key,
                label=Label(
                    tuple(dict.fromkeys(o for _, _, lb in newest for o in lb.options)),
                    code_only=all(lb.code_only for _, _, lb in newest),
                ),
                readings=tuple(r for _, r, _ in newest),
                ranges=tuple(_range(o) for o, _, _ in newest),
                abnormal=tuple(_abnormal(o, r) for o, r, _ in newest),
            )
        )
    return labs


def read_encounters(encounters: Iterable[Json]) -> int:
    """Rule (count only): encounters not cancelled and not entered-in-error."""
    return sum(1 for e in encounters if e.get("status") not in ("cancelled", "entered-in-error"))


def expected_summary(records: Sequence[Json], patient_id: str, today: Sequence[date]) -> Expected:
    """Everything the summary must show for one patient, from `records_for`'s output.
    `today` lists the calendar days the page may count ages from (local and UTC)."""
    by_type: dict[str, list[Json]] = {}
    for resource in records:
        by_type.setdefault(str(resource.get("resourceType")), []).append(resource)
    patient = next((p for p in by_type.get("Patient", []) if p.get("id") == patient_id), None)
    observations = by_type.get("Observation", [])
    return Expected(
        patient_id=patient_id,
        demographics=read_demographics(patient, today) if patient else None,
        problems=read_problems(by_type.get("Condition", [])),
        medications=read_medications(
            by_type.get("MedicationRequest", []),
            by_type.get("MedicationStatement", []),
            by_type.get("Medication", []),
        ),
        allergies=read_allergies(by_type.get("AllergyIntolerance", [])),
        immunizations=read_immunizations(by_type.get("Immunization", [])),
        vitals=read_vitals(observations),
        labs=read_labs(observations),
        encounters=read_encounters(by_type.get("Encounter", [])),
    )
