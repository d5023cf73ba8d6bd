"""The chart maths (portal.charts): time-scaled x, nice y ticks, bands, markers, pairs."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

import pytest

from portal.charts import (
    Band,
    Chart,
    Reading,
    date_ticks,
    instant,
    nice_ticks,
    time_chart,
)


def hr(when: str | None, value: str) -> Reading:
    return Reading(when, (value,), (value,))


def xs(chart: Chart, series: int = 0) -> list[float]:
    return [float(m.x) for m in chart.series[series].markers]


def value_to_y(chart: Chart):
    """The chart's own value-to-y mapping, read off two of its labelled y ticks."""
    (y1, v1), (y2, v2) = [(float(t.at), float(t.label)) for t in chart.y_ticks[:2]]
    return lambda value: y1 + (value - v1) * (y2 - y1) / (v2 - v1)


def test_points_are_placed_by_time_not_by_index() -> None:
    chart = time_chart(
        [hr("2026-01-01", "60"), hr("2026-01-11", "80"), hr("2026-03-02", "70")], ["hr"]
    )
    assert chart is not None
    first, second, third = xs(chart)
    assert first < second < third
    assert (second - first) / (third - second) == pytest.approx(10 / 50, rel=0.02)
    assert first == chart.left
    assert third == chart.right


def test_readings_are_sorted_by_instant_whatever_the_order_and_precision() -> None:
    # 23:30 at -05:00 is 04:30 UTC the next day: after a reading at 01:00 UTC that day
    late_evening = hr("2020-05-01T23:30:00-05:00", "3")
    early_utc = hr("2020-05-02T01:00:00Z", "2")
    chart = time_chart([late_evening, hr("2020", "1"), early_utc, hr("2021-05", "4")], ["x"])
    assert chart is not None
    titles = [m.title for m in chart.series[0].markers]
    assert [t.split(": ")[1] for t in titles] == ["1", "2", "3", "4"]
    assert titles[0] == "2020: 1"  # a partial date is shown at its own precision
    assert titles[2] == "2020-05-01: 3"  # the day as recorded, not the UTC day
    start, end = datetime(2020, 1, 1), datetime(2021, 5, 1)
    gap = (instant("2020-05-02T01:00:00Z") - start) / (end - start)  # type: ignore[operator]
    width = chart.right - chart.left
    assert xs(chart)[1] == pytest.approx(chart.left + gap * width, abs=0.1)


def test_unusable_readings_are_left_out_and_counted() -> None:
    readings = [
        hr("2026-01-01", "60"),
        hr(None, "65"),
        hr("not a date", "66"),
        hr("2026-01-05", "NaN"),
        hr("2026-01-06", "Infinity"),
        hr("2026-01-07", "-Infinity"),
        hr("2026-01-08", "positive"),
        hr("2026-01-09", "72"),
    ]
    chart = time_chart(readings, ["hr"], "/min")
    assert chart is not None
    assert chart.left_out == 6
    assert len(chart.series[0].markers) == 2
    assert (chart.low, chart.high) == ("60", "72")
    drawn = " ".join(f"{m.x} {m.y} {m.title}" for m in chart.series[0].markers)
    assert "nan" not in drawn.lower()
    assert "inf" not in drawn.lower()


@pytest.mark.parametrize(
    "readings",
    [
        [],
        [hr("2026-01-01", "60")],
        [hr("2026-01-01", "60"), hr(None, "61")],
        [hr("2026-01-01", "60"), hr("2026-01-02", "NaN")],
    ],
)
def test_fewer_than_two_dated_numbers_make_no_chart(readings: list[Reading]) -> None:
    assert time_chart(readings, ["hr"]) is None


@pytest.mark.parametrize(
    ("low", "high"), [("60", "80"), ("0.1", "0.13"), ("-3", "7"), ("131", "1180"), ("97", "99")]
)
def test_nice_ticks_are_round_even_and_cover_the_range_tightly(low: str, high: str) -> None:
    ticks = nice_ticks(Decimal(low), Decimal(high))
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    step = steps.pop()
    assert step.scaleb(-step.adjusted()).normalize() in {1, 2, Decimal("2.5"), 5}
    assert ticks[0] <= Decimal(low) < Decimal(high) <= ticks[-1]
    assert ticks[0] > Decimal(low) - step
    assert ticks[-1] < Decimal(high) + step
    assert 3 <= len(ticks) <= 7


@pytest.mark.parametrize("value", ["5", "0", "-120"])
def test_a_flat_series_still_gets_a_range_around_it(value: str) -> None:
    ticks = nice_ticks(Decimal(value), Decimal(value))
    assert ticks[0] < Decimal(value) < ticks[-1]
    assert 3 <= len(ticks) <= 7


def test_y_ticks_are_labelled_gridlines_and_the_unit_is_kept() -> None:
    chart = time_chart([hr("2026-01-01", "61"), hr("2026-02-01", "79")], ["hr"], "/min")
    assert chart is not None
    assert chart.unit == "/min"
    assert [t.label for t in chart.y_ticks] == ["60", "65", "70", "75", "80"]
    ys = [float(t.at) for t in chart.y_ticks]
    assert ys == sorted(ys, reverse=True)  # higher values nearer the top
    assert ys[0] == chart.bottom
    assert ys[-1] == chart.top
    to_y = value_to_y(chart)
    assert [float(m.y) for m in chart.series[0].markers] == pytest.approx(
        [to_y(61), to_y(79)], abs=0.1
    )


def test_the_reference_band_spans_its_range_and_widens_the_axis() -> None:
    readings = [hr("2026-01-01", "150"), hr("2026-02-01", "200")]
    chart = time_chart(readings, ["glucose"], "mg/dL", [Band(Decimal(70), Decimal(99), "ref")])
    assert chart is not None
    assert float(chart.y_ticks[0].label) <= 70  # the band is on the plot, not off it
    (band,) = chart.bands
    to_y = value_to_y(chart)
    assert float(band.y) == pytest.approx(to_y(99), abs=0.1)
    assert float(band.y) + float(band.height) == pytest.approx(to_y(70), abs=0.2)
    assert band.label == "ref"


def test_an_open_band_reaches_the_edge_of_the_plot() -> None:
    readings = [hr("2026-01-01", "40"), hr("2026-02-01", "90")]
    chart = time_chart(readings, ["egfr"], bands=[Band(Decimal(60), None, ">= 60")])
    assert chart is not None
    (band,) = chart.bands
    assert float(band.y) == chart.top
    assert float(band.y) + float(band.height) == pytest.approx(value_to_y(chart)(60), abs=0.2)


def test_blood_pressure_is_paired_with_a_marker_per_value() -> None:
    readings = [
        Reading("2026-01-01", ("128.4", "82.2"), ("128", "82")),
        Reading("2026-02-01", ("141", "91"), ("141", "91")),
        Reading("2026-03-01", ("119", None), ("119", "")),
    ]
    chart = time_chart(readings, ["systolic", "diastolic"], "mmHg", paired=True)
    assert chart is not None
    systolic, diastolic = chart.series
    assert len(systolic.markers) == 3
    assert len(diastolic.markers) == 2
    assert len(chart.pairs) == 2  # the reading missing a half has no joining line
    for pair, top, bottom in zip(chart.pairs, systolic.markers, diastolic.markers, strict=False):
        assert pair.x == top.x == bottom.x
        assert (pair.y1, pair.y2) == (top.y, bottom.y)
        assert float(pair.y1) < float(pair.y2)  # systolic above diastolic
    assert systolic.markers[0].title == "2026-01-01: systolic 128 mmHg"
    assert diastolic.markers[1].title == "2026-02-01: diastolic 91 mmHg"
    unpaired = time_chart(readings, ["systolic", "diastolic"], "mmHg")
    assert unpaired is not None
    assert unpaired.pairs == ()


def test_markers_stay_inside_the_plot() -> None:
    readings = [hr(f"2025-{m:02d}-15", str(m * 7.3)) for m in range(1, 13)]
    chart = time_chart(readings, ["x"], bands=[Band(Decimal(-500), Decimal(500), "wide")])
    assert chart is not None
    for marker in chart.series[0].markers:
        assert chart.left <= float(marker.x) <= chart.right
        assert chart.top <= float(marker.y) <= chart.bottom
    (band,) = chart.bands
    assert float(band.y) == chart.top
    assert float(band.y) + float(band.height) == pytest.approx(chart.bottom, abs=0.1)


@pytest.mark.parametrize(
    ("start", "end", "width"),
    [
        (datetime(2026, 1, 3, 10), datetime(2026, 1, 9), 10),
        (datetime(2025, 1, 3), datetime(2026, 9, 1), 7),
        (datetime(1990, 6, 1), datetime(2026, 9, 1), 4),
    ],
)
def test_date_ticks_are_few_calendar_dates_at_a_fitting_precision(
    start: datetime, end: datetime, width: int
) -> None:
    ticks = date_ticks(start, end)
    assert 2 <= len(ticks) <= 4
    assert all(start <= moment <= end for moment, _ in ticks)
    assert [m for m, _ in ticks] == sorted(m for m, _ in ticks)
    assert all(len(label) == width for _, label in ticks)
    assert all(moment.date().isoformat().startswith(label) for moment, label in ticks)


def test_x_ticks_follow_the_time_scale() -> None:
    chart = time_chart([hr("2025-12-20", "1"), hr("2026-04-10", "2")], ["x"])
    assert chart is not None
    labels = [t.label for t in chart.x_ticks]
    assert labels[0] == "2026-01"
    start, end = datetime(2025, 12, 20), datetime(2026, 4, 10)
    share = (datetime(2026, 1, 1) - start) / (end - start)
    left, width = chart.left, chart.right - chart.left
    assert float(chart.x_ticks[0].at) == pytest.approx(left + share * width, abs=0.1)


def test_readings_at_one_instant_sit_in_the_middle_with_one_label() -> None:
    chart = time_chart([hr("2026-01-01T10:00:00Z", "1"), hr("2026-01-01T10:00:00Z", "2")], ["x"])
    assert chart is not None
    assert xs(chart) == [(chart.left + chart.right) / 2] * 2
    assert [t.label for t in chart.x_ticks] == ["2026-01-01"]
