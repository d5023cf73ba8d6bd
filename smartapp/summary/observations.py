"""Observations: the latest vital signs, recent lab results and their histories (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from smartapp.summary.codes import concept, first_code, first_date, quantity, sort_key
from smartapp.summary.contract import LOINC, Json, LabResult, Quantity, VitalSign

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
            or sort_key(reading.date) > sort_key(latest[reading.kind].date)
        ):
            latest[reading.kind] = reading
    return tuple(latest[kind] for kind in VITAL_KINDS if kind in latest)


def vital_history(observations: Iterable[Json], kind: str) -> tuple[VitalSign, ...]:
    readings = [r for o in _shown(observations) if (r := vital_reading(o)) and r.kind == kind]
    return tuple(sorted(readings, key=lambda r: sort_key(r.date), reverse=True))


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
    interpreted = [first_code(i) for i in observation.get("interpretation") or []]
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
        if key not in newest or sort_key(result.date) > sort_key(newest[key][0].date):
            newest[key] = (result, key)
    ordered = sorted((r for r, _ in newest.values()), key=lambda r: sort_key(r.date), reverse=True)
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
    return tuple(sorted(results, key=lambda r: sort_key(r.date), reverse=True))
