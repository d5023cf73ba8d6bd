"""Observations: the latest vital signs, the lab results and their histories (pure).

Vital signs follow the US Core vital-sign profiles (FHIR R4 vital signs, 2.1.0): blood
pressure is read from any observation carrying systolic 8480-6 and diastolic 8462-4
components, whatever its own code (the 85354-9 panel, or 55284-4 as Synthea and many EHRs
send it); any vital sign may also arrive as a `component` of a panel with no value of its
own. Lab results are Observations of category `laboratory` with a value (quantity, string,
coded, integer or boolean) or a `dataAbsentReason`; a panel (`hasMember`, no value) is not a
result itself. Statuses final, amended, corrected and preliminary are shown (the last three
say so); registered, cancelled and entered-in-error are not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from smartapp.summary.codes import Amount, FhirModel, amount, concept, first_code, first_date
from smartapp.summary.contract import LOINC, LabResult, VitalSign
from smartapp.summary.presentation import (
    adult_vital_flag,
    date_text,
    fixed,
    lab_value,
    sort_key,
    vital_value,
)

SHOWN_OBSERVATION = ("final", "amended", "corrected", "preliminary")
BLOOD_PRESSURE_PANELS = ("85354-9", "55284-4")
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
VITAL_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "blood-pressure": ("Blood pressure", BLOOD_PRESSURE_PANELS),
    "heart-rate": ("Heart rate", ("8867-4",)),
    "respiratory-rate": ("Respiratory rate", ("9279-1",)),
    # Body temperature 8310-5 (US Core), and the site-specific codes EHRs and Synthea send
    # instead: oral 8331-1, rectal 8332-9, tympanic 8333-7, axillary 8328-7.
    "temperature": ("Temperature", ("8310-5", "8331-1", "8332-9", "8333-7", "8328-7")),
    "oxygen-saturation": ("Oxygen saturation", ("59408-5", "2708-6")),
    "weight": ("Weight", ("29463-7",)),
    "height": ("Height", ("8302-2",)),
    "bmi": ("BMI", ("39156-5",)),
}
ABNORMAL_FLAGS = frozenset({"H", "HH", "L", "LL", "A", "AA", "HU", "LU", "<", ">", "POS", "R"})


def _shown(observations: Iterable[FhirModel]) -> list[FhirModel]:
    return [o for o in observations if o.status in SHOWN_OBSERVATION]


def _effective(observation: FhirModel) -> str | None:
    return first_date(observation, "effectiveDateTime", "effectivePeriod.start", "issued")


def _loinc(code: FhirModel | None) -> str | None:
    return concept(code).code_in(LOINC)


def _kind_of(loinc: str | None) -> str | None:
    return next((kind for kind, (_, codes) in VITAL_KINDS.items() if loinc in codes), None)


def _interpretation(interpretations: Sequence[FhirModel] | None) -> tuple[str | None, bool]:
    """(the abnormal flag, whether the source interpreted at all): its word wins."""
    codes = [code for item in interpretations or [] if (code := first_code(item))]
    return next((c for c in codes if c in ABNORMAL_FLAGS), None), bool(codes)


def _component(observation: FhirModel, loinc: str) -> FhirModel | None:
    for component in observation.component or []:
        if _loinc(component.code) == loinc:
            return component
    return None


def _blood_pressure(observation: FhirModel, age: int | None) -> VitalSign | None:
    systolic_part, diastolic_part = (
        _component(observation, SYSTOLIC),
        _component(observation, DIASTOLIC),
    )
    if systolic_part is None or diastolic_part is None:
        return None
    systolic, diastolic = amount(systolic_part.valueQuantity), amount(diastolic_part.valueQuantity)
    if systolic is None or diastolic is None:
        return None  # a reading missing one half (dataAbsentReason) is not a blood pressure
    flag, interpreted = _interpretation(
        [
            *(observation.interpretation or []),
            *(systolic_part.interpretation or []),
            *(diastolic_part.interpretation or []),
        ]
    )
    source = "interpretation" if flag else None
    if not interpreted:
        flag = adult_vital_flag(
            "blood-pressure", (systolic.text, diastolic.text), systolic.code, age
        )
        source = "adult range" if flag else None
    return VitalSign(
        "blood-pressure",
        VITAL_KINDS["blood-pressure"][0],
        f"{fixed(systolic.text, 0)}/{fixed(diastolic.text, 0)}",
        systolic.human,
        date_text(_effective(observation)),
        _loinc(observation.code) or "",
        f"{systolic.text}/{diastolic.text}",
        systolic.code,
        flag,
        source,
        observation.status,
    )


def _single(
    observation: FhirModel, element: FhirModel, kind: str, age: int | None
) -> VitalSign | None:
    """One vital sign from an observation's own value or from one of its components."""
    value = amount(element.valueQuantity)
    if value is None:
        return None
    flag, interpreted = _interpretation(element.interpretation)
    source = "interpretation" if flag else None
    if not interpreted:
        flag = adult_vital_flag(kind, (value.text,), value.code, age)
        source = "adult range" if flag else None
    return VitalSign(
        kind,
        VITAL_KINDS[kind][0],
        value.comparator + vital_value(kind, value.text),
        value.human,
        date_text(_effective(observation)),
        _loinc(element.code) or "",
        value.text,
        value.code,
        flag,
        source,
        observation.status,
    )


def vital_readings(observation: FhirModel, age: int | None = None) -> list[VitalSign]:
    """Every vital sign one observation carries: a blood pressure from its components, its
    own value, and the values of components that are vital signs themselves."""
    readings: list[VitalSign] = []
    pressure = _blood_pressure(observation, age)
    if pressure is not None:
        readings.append(pressure)
    own = _kind_of(_loinc(observation.code))
    if own is not None and own != "blood-pressure":
        reading = _single(observation, observation, own, age)
        if reading is not None:
            readings.append(reading)
    for component in observation.component or []:
        kind = _kind_of(_loinc(component.code))
        if kind is not None and kind != "blood-pressure" and kind != own:
            reading = _single(observation, component, kind, age)
            if reading is not None:
                readings.append(reading)
    return readings


def _newest_first(pairs: list[tuple[str, VitalSign]]) -> list[VitalSign]:
    return [reading for _, reading in sorted(pairs, key=lambda pair: pair[0], reverse=True)]


def latest_vitals(
    observations: Iterable[FhirModel], age: int | None = None
) -> tuple[VitalSign, ...]:
    """The newest reading of each vital sign, in the order of VITAL_KINDS."""
    latest: dict[str, tuple[str, VitalSign]] = {}
    for observation in _shown(observations):
        when = sort_key(_effective(observation))
        for reading in vital_readings(observation, age):
            if reading.kind not in latest or when > latest[reading.kind][0]:
                latest[reading.kind] = (when, reading)
    return tuple(latest[kind][1] for kind in VITAL_KINDS if kind in latest)


def vital_history(
    observations: Iterable[FhirModel], kind: str, age: int | None = None
) -> tuple[VitalSign, ...]:
    pairs = [
        (sort_key(_effective(o)), r)
        for o in _shown(observations)
        for r in vital_readings(o, age)
        if r.kind == kind
    ]
    return tuple(_newest_first(pairs))


# --- lab results ----------------------------------------------------------------------------


def _range_text(ranges: Sequence[FhirModel] | None) -> tuple[str | None, str | None, str | None]:
    """(the range as shown, its low, its high as sent)."""
    for item in ranges or []:
        low, high = amount(item.low), amount(item.high)
        if item.text:
            return str(item.text), low.text if low else None, high.text if high else None
        bound = low or high
        if bound is not None:
            if low and high:
                text = f"{lab_value(low.text)}-{lab_value(high.text)}"
            else:
                text = f">= {lab_value(low.text)}" if low else f"<= {lab_value(bound.text)}"
            unit = bound.human or ""
            return f"{text} {unit}".strip(), low.text if low else None, high.text if high else None
    return None, None, None


def _lab_value(
    observation: FhirModel, quantity: Amount | None
) -> tuple[str, str | None, str, str | None] | None:
    """(shown value, shown unit, value as sent, unit as sent), or None when there is none."""
    if quantity is not None:
        shown = quantity.comparator + lab_value(quantity.text)
        return shown, quantity.human, quantity.comparator + quantity.text, quantity.code
    if observation.valueString is not None:
        return str(observation.valueString), None, str(observation.valueString), None
    if observation.valueCodeableConcept is not None:
        label = concept(observation.valueCodeableConcept).label
        return label, None, label, None
    if observation.valueInteger is not None and not isinstance(observation.valueInteger, bool):
        return str(observation.valueInteger), None, str(observation.valueInteger), None
    if observation.valueBoolean is not None:
        word = "yes" if observation.valueBoolean else "no"
        return word, None, word, None
    if observation.dataAbsentReason is not None and not observation.hasMember:
        label = f"No value: {concept(observation.dataAbsentReason).label}"
        return label, None, "", None
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def lab_result(observation: FhirModel) -> LabResult | None:
    quantity = amount(observation.valueQuantity)
    value = _lab_value(observation, quantity)
    if value is None:
        return None
    shown, unit, source_value, source_unit = value
    text, low, high = _range_text(observation.referenceRange)
    flag, interpreted = _interpretation(observation.interpretation)
    source = "interpretation" if interpreted else None
    number = _number(quantity.text) if quantity is not None else None
    low_number, high_number = _number(low), _number(high)
    if not interpreted and number is not None and not (quantity and quantity.comparator):
        if low_number is not None and number < low_number:
            flag = "L"
        elif high_number is not None and number > high_number:
            flag = "H"
        source = "reference range" if (low_number is not None or high_number is not None) else None
    return LabResult(
        concept(observation.code),
        shown,
        unit,
        date_text(_effective(observation)),
        text,
        flag,
        flag is not None,
        source,
        source_value,
        source_unit,
        observation.status,
    )


def _test_key(result: LabResult) -> str:
    return "|".join(f"{c.system}|{c.code}" for c in result.concept.codings) or result.concept.label


def recent_labs(observations: Iterable[FhirModel]) -> tuple[LabResult, ...]:
    """The newest result of each test (by code), newest first: every test, not a first page
    (the summary's card shows the first 20 and says "20 of N")."""
    newest: dict[str, tuple[str, LabResult]] = {}
    for observation in _shown(observations):
        result = lab_result(observation)
        if result is None:
            continue
        key, when = _test_key(result), sort_key(_effective(observation))
        if key not in newest or when > newest[key][0]:
            newest[key] = (when, result)
    ordered = sorted(newest.values(), key=lambda pair: pair[0], reverse=True)
    return tuple(result for _, result in ordered)


def lab_history(observations: Iterable[FhirModel], system: str, code: str) -> tuple[LabResult, ...]:
    results = []
    for observation in _shown(observations):
        if any(c.system == system and c.code == code for c in concept(observation.code).codings):
            result = lab_result(observation)
            if result is not None:
                results.append((sort_key(_effective(observation)), result))
    return tuple(r for _, r in sorted(results, key=lambda pair: pair[0], reverse=True))
