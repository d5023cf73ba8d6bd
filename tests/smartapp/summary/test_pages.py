"""The drill-down pages, the style hints and the charts."""

from __future__ import annotations

from django.core.cache import cache

from portal.charts import line_chart
from smartapp.models import Launch
from smartapp.style_hints import safe_properties


def launched(sandbox, connect, browser, patient: str) -> Launch:
    connection = connect()
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()
    return Launch.objects.get()


def test_vital_history_with_a_chart_and_pages(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "paging")
    page = browser.client.get(f"/l/{launch.handle}/vitals/heart-rate")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html
    assert "<polyline" in html
    assert "<script" not in html
    assert "Page 1 of 4" in html  # 70 readings, 20 a page
    assert browser.client.get(f"/l/{launch.handle}/vitals/heart-rate?page=4").status_code == 200
    bp = browser.client.get(f"/l/{launch.handle}/vitals/blood-pressure").content.decode()
    assert bp.count("<polyline") == 2  # systolic and diastolic
    assert browser.client.get(f"/l/{launch.handle}/vitals/shoe-size").status_code == 404


def test_lab_history(sandbox, connect, browser) -> None:
    launch = launched(sandbox, connect, browser, "pat-03")
    page = browser.client.get(f"/l/{launch.handle}/labs", {"code": "http://loinc.org|2345-7"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Glucose" in html
    assert "70-99 mg/dL" in html
    assert browser.client.get(f"/l/{launch.handle}/labs").status_code == 404


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


def test_line_chart() -> None:
    chart = line_chart(["2026-01-01", "2026-02-01", "2026-03-01"], {"hr": ["60", "80", "70"]})
    assert chart is not None
    assert chart.low == "60"
    assert chart.high == "80"
    assert len(chart.series[0].points.split()) == 3
    assert line_chart(["2026-01-01"], {"hr": ["60"]}) is None
