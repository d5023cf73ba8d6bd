"""Demographics: who the patient is, and no more than a summary needs (pure).

Name, birth date and age, sex, medical record number(s), deceased with its date, and whether
this record was replaced by another (`Patient.link` replaced-by). Other identifiers (social
security, driver's licence, passport numbers...) are never read into the summary: the IPS
patient section and the minimum necessary rule (45 CFR 164.502(b)) ask for identification,
not every number the EHR holds. An identifier is an MRN when its `type` is v2-0203 `MR`.
"""

from __future__ import annotations

from datetime import date

from smartapp.summary.codes import FhirModel, date_of
from smartapp.summary.contract import Demographics
from smartapp.summary.presentation import age_in_years, date_text

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MRN_TYPE = "MR"


def _name(raw: FhirModel) -> str:
    if raw.text:
        return str(raw.text)
    parts = [*(raw.prefix or []), *(raw.given or []), raw.family or "", *(raw.suffix or [])]
    return " ".join(str(part) for part in parts if part)


def _official(names: list[FhirModel]) -> FhirModel | None:
    return next((n for n in names if n.use == "official"), names[0] if names else None)


def patient_name(patient: FhirModel) -> str:
    """The `official` name (else the first), as text; "(no name recorded)" when there is none."""
    official = _official(list(patient.name or []))
    return (_name(official) if official is not None else "") or "(no name recorded)"


def is_mrn(identifier: FhirModel) -> bool:
    kind = identifier.type
    return any(
        c.code == MRN_TYPE and c.system in (V2_0203, None)
        for c in getattr(kind, "coding", None) or []
    )


def demographics(patient: FhirModel, today: date) -> Demographics:
    names = list(patient.name or [])
    official = _official(names)
    others = tuple(_name(n) for n in names if n is not official and _name(n))
    mrns = tuple(
        str(ident.value) for ident in patient.identifier or [] if ident.value and is_mrn(ident)
    )
    deceased_raw = date_of(patient.deceasedDateTime)
    deceased = bool(patient.deceasedBoolean) or deceased_raw is not None
    birth = date_of(patient.birthDate)
    # Age at death for the deceased; a year-only or year-month death date counts from its
    # first day, as a partial birth date does.
    died_on = _first_day(deceased_raw) if deceased_raw else None
    replaced = any(link.type == "replaced-by" for link in patient.link or [])
    return Demographics(
        name=patient_name(patient),
        other_names=others,
        birth_date=date_text(birth),
        age=age_in_years(birth, died_on or today),
        sex=patient.gender,
        mrns=mrns,
        deceased=deceased,
        deceased_date=date_text(deceased_raw),
        replaced=replaced,
    )


def _first_day(raw: str) -> date | None:
    text = date_text(raw)
    if text is None:
        return None
    return date.fromisoformat((text + "-01-01")[:10])
