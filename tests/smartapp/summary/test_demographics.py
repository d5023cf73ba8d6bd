"""smartapp.summary.demographics: identity as a summary needs it, partial dates, death."""

from __future__ import annotations

from datetime import date

import pytest

from smartapp.summary.demographics import demographics
from tests.fixtures.fhir_models import model, synthea_bundle

V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
TODAY = date(2026, 11, 21)


def patient(**extra) -> dict:
    return {
        "resourceType": "Patient",
        "name": [{"family": "Departed", "given": ["Walter"]}],
        **extra,
    }


def test_age_at_death() -> None:
    demo = demographics(
        model(patient(birthDate="1938-02-03", deceasedDateTime="2025-09-28T09:00:00+00:00")),
        TODAY,
    )
    assert (demo.deceased, demo.deceased_date, demo.age) == (True, "2025-09-28", 87)
    assert demo.name == "Walter Departed"


@pytest.mark.parametrize(
    ("born", "died", "shown_birth", "shown_death", "age"),
    [
        ("1940", "2020", "1940", "2020", 80),
        ("1940", "2020-05", "1940", "2020-05", 80),
        ("1958-07", None, "1958-07", None, 68),
        ("2000-11-22", None, "2000-11-22", None, 25),
    ],
)
def test_partial_dates_keep_their_precision(born, died, shown_birth, shown_death, age) -> None:
    extra = {"birthDate": born}
    if died:
        extra["deceasedDateTime"] = died
    demo = demographics(model(patient(**extra)), TODAY)
    assert (demo.birth_date, demo.deceased_date, demo.age) == (shown_birth, shown_death, age)


def test_only_the_mrn_of_all_identifiers() -> None:
    """Synthea's Patient carries SSN, driver's licence and passport numbers: none is read."""
    (synthea,) = synthea_bundle("Gustavo_Mejia")["Patient"]
    numbers = {i.value for i in synthea.identifier}
    demo = demographics(synthea, TODAY)
    assert len(demo.mrns) == 1
    assert demo.mrns[0] in numbers
    other = numbers - set(demo.mrns)
    assert len(other) >= 3  # the synthetic id, SSN, licence, passport
    assert not other & set(str(demo).split("'"))


def test_replaced_record() -> None:
    replaced = patient(
        active=False, link=[{"other": {"reference": "Patient/new"}, "type": "replaced-by"}]
    )
    assert demographics(model(replaced), TODAY).replaced
    assert not demographics(model(patient()), TODAY).replaced
