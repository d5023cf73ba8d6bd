"""The drill-down pages (patient line, charts beside their tables) and the style hints."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from portal.drilldowns import vital_bands, vital_chart
from smartapp.models import Launch
from smartapp.style_hints import safe_properties
from smartapp.summary.contract import VitalSign


def launched(sandbox, connect, browser, patient: str) -> Launch:
    connection = connect()
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()
    return Launch.objects.get()


MARKER = re.compile(
    r'<circle class="marker" cx="([\d.]+)" cy="([\d.]+)"[^>]*><title>([^<]*)</title>'
)
PAIR = re.compile(
    r'<line class="pair" data-pair x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"'
)
Y_TICK = re.compile(r'<text class="axis y-tick" x="\d+" y="([\d.]+)"[^>]*>([\d.-]+)</text>')
BAND = re.compile(
    r'<rect class="band band-\d" data-band x="\d+" y="([\d.]+)" width="\d+" height="([\d.]+)">'
)
DATE_CELL = re.compile(
    r'<td data-field="date"[^>]*>(?:<time datetime="([^"]*)">([^<]*)</time>)?</td>'
)


def markers(html: str, series: int = 1) -> list[tuple[float, float, str]]:
    """(x, y, title) of each marker of one series (1 = the first)."""
    group = html.split(f'<g class="series series-{series}"')[1].split("</g>")[0]
    return [(float(x), float(y), title) for x, y, title in MARKER.findall(group)]


def value_to_y(html: str):
    """The page's value-to-y mapping, read off two labelled y ticks of its chart."""
    (y1, v1), (y2, v2) = [(float(y), float(v)) for y, v in Y_TICK.findall(html)[:2]]
    return lambda value: y1 + (value - v1) * (y2 - y1) / (v2 - v1)


def assert_band(html: str, low: float, high: float) -> None:
    to_y = value_to_y(html)
    assert any(
        abs(float(y) - to_y(high)) < 0.2 and abs(float(y) + float(h) - to_y(low)) < 0.3
        for y, h in BAND.findall(html)
    ), (low, high, BAND.findall(html))


def assert_readable_dates(html: str) -> None:
    cells = DATE_CELL.findall(html)
    assert cells
    for attribute, text in cells:
        assert attribute == text
        assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text), text
    assert not re.search(r"T\d\d:\d\d", html.split("<table")[1])


def assert_patient_line_first(html: str, name: str) -> None:
    line = html.index('data-testid="patient-line"')
    assert html.index(name) > line
    assert line < html.index("<h1")


def test_vital_history_with_a_chart_and_pages(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "paging")
    page = browser.client.get(f"/l/{launch.handle}/vitals/heart-rate")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script" not in html
    assert ' style="' not in html  # the CSP allows no inline style
    assert "/static/css/charts.css" in html
    assert "Page 1 of 4" in html  # 70 readings, 20 a page
    assert_patient_line_first(html, "Paul Manyvisits")
    assert re.search(r'data-testid="y-unit"[^>]*>/min</text>', html)
    points = markers(html)
    assert len(points) == 70  # every reading has a marker, the table pages through them
    dates = [date.fromisoformat(title.split(": ")[0]) for _, _, title in points]
    assert dates == sorted(dates)
    assert all(title.endswith(" /min") for _, _, title in points)
    x0, days = points[0][0], (dates[-1] - dates[0]).days
    per_day = (points[-1][0] - x0) / days
    for (x, _, _), when in zip(points, dates, strict=True):  # x proportional to time
        assert x == pytest.approx(x0 + (when - dates[0]).days * per_day, abs=0.15)
    assert_band(html, 60, 100)  # the app's adult range: the patient is 65
    assert_readable_dates(html)
    assert browser.client.get(f"/l/{launch.handle}/vitals/heart-rate?page=4").status_code == 200
    assert browser.client.get(f"/l/{launch.handle}/vitals/shoe-size").status_code == 404


def test_blood_pressure_is_charted_as_pairs(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "us-core")
    html = browser.client.get(f"/l/{launch.handle}/vitals/blood-pressure").content.decode()
    systolic, diastolic = markers(html, 1), markers(html, 2)
    pairs = PAIR.findall(html)
    rows = DATE_CELL.findall(html)
    assert len(systolic) == len(diastolic) == len(pairs) == len(rows) == 3
    for (x, y1, y2), top, bottom in zip(pairs, systolic, diastolic, strict=True):
        assert float(x) == top[0] == bottom[0]
        assert (float(y1), float(y2)) == (top[1], bottom[1])
        assert top[1] < bottom[1]  # systolic above diastolic
    assert "2021-03: systolic 141 mmHg" in [title for _, _, title in systolic]
    # placed by time: 2021-03 (its first day), 2024-05-20, 2026-09-15 are unevenly spaced
    (x1, _, _), (x2, _, _), (x3, _, _) = systolic
    share = (date(2024, 5, 20) - date(2021, 3, 1)) / (date(2026, 9, 15) - date(2021, 3, 1))
    assert (x2 - x1) / (x3 - x1) == pytest.approx(share, abs=0.002)
    assert ("2021-03", "2021-03") in rows  # a partial date at its own precision
    assert re.search(r'data-testid="y-unit"[^>]*>mmHg</text>', html)
    assert_band(html, 90, 139)
    assert_band(html, 60, 89)
    assert_readable_dates(html)
    assert html.count("<polyline") == 2


def test_lab_history_with_a_chart_and_its_reference_band(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "pat-03")
    page = browser.client.get(f"/l/{launch.handle}/labs", {"code": "http://loinc.org|2345-7"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Glucose" in html
    assert "70-99 mg/dL" in html
    assert_patient_line_first(html, "Robert Williams")
    points = markers(html)
    rows = DATE_CELL.findall(html)
    assert len(points) == len(rows) >= 2
    assert [p[0] for p in points] == sorted(p[0] for p in points)
    assert [p[2].split(": ")[0] for p in points] == sorted(text for _, text in rows)
    assert re.search(r'data-testid="y-unit"[^>]*>mg/dL</text>', html)
    assert_band(html, 70, 99)
    assert_readable_dates(html)
    assert browser.client.get(f"/l/{launch.handle}/labs").status_code == 404


def test_a_single_result_has_its_table_and_no_chart(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "us-core")
    page = browser.client.get(f"/l/{launch.handle}/labs", {"code": "http://loinc.org|2345-7"})
    html = page.content.decode()
    assert len(DATE_CELL.findall(html)) == 1
    assert "<svg" not in html
    assert "182.0" in html


def vital(date_text: str | None, value: str, unit: str = "/min") -> VitalSign:
    return VitalSign("heart-rate", "Heart rate", value, unit, date_text, "8867-4", value, unit)


def test_a_vital_chart_keeps_to_the_newest_unit_and_plain_numbers() -> None:
    readings = [  # newest first, as the table lists them
        vital("2026-03-01", "72"),
        vital("2026-02-01", "<40"),
        vital("2026-01-15", "1.2", "Hz"),
        vital(None, "64"),
        vital("2026-01-01", "60"),
    ]
    chart = vital_chart(readings, "heart-rate", 40)
    assert chart is not None
    assert [m.title for m in chart.series[0].markers] == [
        "2026-01-01: 60 /min",
        "2026-03-01: 72 /min",
    ]
    assert chart.left_out == 3
    assert chart.unit == "/min"
    assert vital_chart(readings[:1], "heart-rate", 40) is None


@pytest.mark.parametrize(
    ("kind", "unit", "age", "ranges"),
    [
        ("heart-rate", "/min", 40, [(60, 100)]),
        ("heart-rate", "{beats}/min", 18, [(60, 100)]),
        ("heart-rate", "/min", 17, []),
        ("heart-rate", "/min", None, []),
        ("heart-rate", "/s", 40, []),
        ("temperature", "Cel", 40, [(36, 38)]),
        ("temperature", "[degF]", 40, [(Decimal("96.8"), Decimal("100.4"))]),
        ("blood-pressure", "mm[Hg]", 40, [(90, 139), (60, 89)]),
        ("blood-pressure", "kPa", 40, []),
        ("weight", "kg", 40, []),
    ],
)
def test_vital_bands_are_the_apps_adult_ranges(kind, unit, age, ranges) -> None:
    bands = vital_bands(kind, unit, age)
    assert [(band.low, band.high) for band in bands] == ranges
    assert all("adult range" in band.label for band in bands)


def test_medication_and_problem_lists(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "statuses")
    meds = browser.client.get(f"/l/{launch.handle}/list/medications").content.decode()
    assert "lisinopril 10 MG Oral Tablet" in meds
    assert "<code>314076</code>" in meds
    problems = browser.client.get(f"/l/{launch.handle}/list/problems").content.decode()
    assert "Hypertensive disorder" in problems
    assert "Acute bronchitis" not in problems
    assert browser.client.get(f"/l/{launch.handle}/list/secrets").status_code == 404


def test_style_hints_are_served_same_origin_and_filtered(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "pat-01")
    summary = browser.client.get(f"/l/{launch.handle}/").content.decode()
    assert f'href="/l/{launch.handle}/style.css"' in summary
    css = browser.client.get(f"/l/{launch.handle}/style.css")
    assert css["Content-Type"].startswith("text/css")
    assert "--accent: #0b5cad;" in css.content.decode()


def test_safe_properties_refuse_anything_odd() -> None:
    props = safe_properties(
        {
            "color_background": "#fff",
            "color_text": "red; background: url(evil)",
            "dim_font_size": "15px",
            "dim_border_radius": "calc(1px)",
            "font_family_body": "Segoe UI, sans-serif",
            "font_family_heading": "x",
        }
    )
    assert props == {"--bg": "#fff", "--font-size": "15px", "--font": "segoe ui, sans-serif"}
    assert safe_properties({"font_family_body": "Comic Sans; } body { x"}) == {}
    assert safe_properties("not a dict") == {}
