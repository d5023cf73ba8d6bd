"""smartapp.summary.presentation: the written presentation rules (docs/summary-contract.md)."""

from __future__ import annotations

from datetime import date

import pytest

from smartapp.summary.presentation import (
    adult_vital_flag,
    age_in_years,
    fixed,
    how_long_ago,
    human_unit,
    lab_value,
    shown_date,
    sort_key,
)


@pytest.mark.parametrize(
    ("ucum", "human"),
    [
        ("mm[Hg]", "mmHg"),
        ("Cel", "°C"),
        ("/min", "/min"),
        ("kg/m2", "kg/m²"),
        ("10*3/uL", "×10³/µL"),  # noqa: RUF001
        ("mL/min/{1.73_m2}", "mL/min/1.73 m²"),
        ("mg/dL", "mg/dL"),
        ("{score}", "{score}"),  # unknown: as sent
        (None, None),
    ],
)
def test_human_units(ucum, human) -> None:
    assert human_unit(ucum) == human


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("7.10", "7.10"),
        ("5.337817329", "5.338"),
        ("71.6619566789248", "71.66"),
        ("131", "131"),
        ("12345.678", "12346"),
        ("0.00123456", "0.001235"),
        ("0", "0"),
        ("not a number", "not a number"),
    ],
)
def test_lab_values(sent, shown) -> None:
    assert lab_value(sent) == shown


def test_fixed_precision_rounds_half_to_even() -> None:
    assert fixed("71.65", 1) == "71.6"
    assert fixed("71.75", 1) == "71.8"
    assert fixed("188.72546355403142", 0) == "189"


@pytest.mark.parametrize(
    ("raw", "text", "precision"),
    [
        ("2020", "2020", "year"),
        ("2020-05", "2020-05", "month"),
        ("2020-05-01", "2020-05-01", "day"),
        ("2020-05-01T23:30:00-05:00", "2020-05-01", "day"),
    ],
)
def test_dates_keep_their_precision(raw, text, precision) -> None:
    shown = shown_date(raw)
    assert shown is not None
    assert (shown.text, shown.precision) == (text, precision)


def test_dates_of_mixed_precision_sort_and_nonsense_is_none() -> None:
    dates = ["2020-05-01T23:30:00-05:00", "2020", "2020-05", "2020-05-02T01:00:00+00:00"]
    assert sorted(dates, key=sort_key) == [
        "2020",
        "2020-05",
        "2020-05-02T01:00:00+00:00",
        "2020-05-01T23:30:00-05:00",  # 04:30 UTC on the 2nd
    ]
    assert shown_date("05/01/2020") is None
    assert shown_date("2020-13") is None


def test_age_from_partial_birth_dates() -> None:
    assert age_in_years("1958-07", date(2026, 11, 21)) == 68
    assert age_in_years("1940", date(2020, 5, 1)) == 80
    assert age_in_years("2030", date(2026, 1, 1)) is None


@pytest.mark.parametrize(
    ("shown", "words"),
    [
        ("2026-11-20", None),
        ("2026-10-30", "3 weeks ago"),
        ("2025-01-15", "22 months ago"),
        ("2021-03", "5 years ago"),
    ],
)
def test_how_long_ago(shown, words) -> None:
    assert how_long_ago(shown, date(2026, 11, 21)) == words


@pytest.mark.parametrize(
    ("kind", "values", "unit", "age", "flag"),
    [
        ("blood-pressure", ("188.7", "115.2"), "mm[Hg]", 60, "H"),
        ("blood-pressure", ("118", "76"), "mm[Hg]", 60, None),
        ("blood-pressure", ("85", "55"), "mm[Hg]", 60, "L"),
        ("blood-pressure", ("150", "95"), "mm[Hg]", 12, None),
        ("heart-rate", ("128",), "/min", 40, "H"),
        ("heart-rate", ("128",), "{beats}/min", 40, "H"),
        ("temperature", ("100.9",), "[degF]", 40, "H"),
        ("temperature", ("37.2",), "Cel", 40, None),
        ("oxygen-saturation", ("91",), "%", 40, "L"),
        ("bmi", ("31.2",), "kg/m2", 40, "H"),
        ("weight", ("140",), "kg", 40, None),
        ("heart-rate", ("128",), "beats", 40, None),  # a unit the range is not written in
    ],
)
def test_adult_vital_ranges(kind, values, unit, age, flag) -> None:
    assert adult_vital_flag(kind, values, unit, age) == flag
