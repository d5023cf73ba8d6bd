"""Demographics: the patient's name, age, sex and identifiers (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from smartapp.summary.codes import concept
from smartapp.summary.contract import Demographics, Json


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
