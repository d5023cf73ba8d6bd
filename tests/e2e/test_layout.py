"""The clinician layout of issue 14, as a browser sees it (written from the issue's spec):

(a) in the EHR's chart iframe at 1280x680, a typical patient's allergies, problems,
    medications and vitals headings are on the first screen, no scrolling;
(b) at phone widths (360, 390, 414 px) no page is wider than the screen;
(c) the patient line is on the summary when the launch asks for a banner
    (`need_patient_banner`), and on every drill-down.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Frame, Page

from smartapp.models import Launch
from smartapp.summary.sections import section_names
from tests.e2e.launches import CHART_FRAME, Wired, drilldown_urls, handle_of, settle
from tests.e2e.synthea import SyntheaPatient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

KEY_SECTIONS = ("allergies", "problems", "medications", "vitals")
PHONE_WIDTHS = (360, 390, 414)
SYNTHEA = ("Alexis_Toy", "Bernardo_Ordonez", "Gustavo_Mejia", "Trey_Berge")

# Where a heading is in its document (page coordinates), and what would hide it.
HEADING_BOX = """e => {
  const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return {top: r.top + scrollY, bottom: r.bottom + scrollY, left: r.left + scrollX,
          right: r.right + scrollX, width: r.width, height: r.height,
          hidden: s.visibility !== 'visible' || s.display === 'none'};
}"""
# The page's width against the screen's, and the elements that stick out (for the message).
OVERFLOW = """() => {
  const width = innerWidth, out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.right > width + 0.5 && r.width > 0) {
      const cls = typeof e.className === 'string' ? e.className.trim().split(/\\s+/) : [];
      const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        cls.filter(Boolean).map(c => '.' + c).join('');
      out.push(name + ' (right ' + Math.round(r.right) + ')');
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          sticking_out: out.slice(0, 8)};
}"""


def launch_of(url: str) -> Launch:
    return Launch.objects.get(handle=handle_of(url))


# Whether an element is drawn where it is: a point inside it hits it (or a child), which a
# visually-hidden element (clipped to nothing) or one covered by another does not.
SHOWN = """e => {
  e.scrollIntoView({block: 'center'});
  const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + Math.min(4, r.width / 2), r.top + r.height / 2);
  return {width: r.width, height: r.height, hit: !!hit && e.contains(hit)};
}"""


def assert_patient_line(where: str, target: Page | Frame, patient: SyntheaPatient) -> str:
    """One patient line, drawn, with the patient's name; its text."""
    line = target.locator("[data-testid=patient-line]")
    assert line.count() == 1, f"{where}: {line.count()} patient lines"
    shown = line.evaluate(SHOWN)
    assert shown["hit"], f"{where}: the patient line is not shown ({shown})"
    assert shown["width"] >= 100, f"{where}: the patient line is {shown['width']} px wide"
    text = line.inner_text()
    assert patient.name in text, f"{where}: {text!r} lacks {patient.name!r}"
    return text


# (a) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SYNTHEA)
def test_key_sections_on_the_first_screen_of_the_chart_iframe(
    wired: Wired, synthea: dict[str, SyntheaPatient], key: str
) -> None:
    page = wired.context().new_page()
    frame = wired.in_chart(page, synthea[key].id, frame_size=CHART_FRAME)
    width, height = CHART_FRAME
    assert frame.evaluate("scrollY") == 0
    misplaced = {}
    for name in KEY_SECTIONS:
        heading = frame.locator(f"section[data-section={name}] h2")
        assert heading.count() == 1, f"the summary has no {name} card heading"
        box = heading.evaluate(HEADING_BOX)
        on_screen = (
            not box["hidden"]
            and box["width"] > 0
            and box["top"] >= 0
            and box["bottom"] <= height
            and box["left"] >= 0
            and box["right"] <= width
        )
        if not on_screen:
            misplaced[name] = {k: round(v) if isinstance(v, float) else v for k, v in box.items()}
    assert misplaced == {}, (
        f"{key}: key headings not within the first {width}x{height}: {misplaced}"
    )


# (b) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["Trey_Berge", "Alexis_Toy"])
def test_no_horizontal_overflow_at_phone_widths(
    wired: Wired, synthea: dict[str, SyntheaPatient], key: str
) -> None:
    """A patient on a phone: the summary and the drill-downs at 360, 390 and 414 px wide."""
    page = wired.context(viewport={"width": 390, "height": 844}).new_page()
    launched = wired.standalone(page, synthea[key].id)
    pages = {"summary": launched.summary, **drilldown_urls(page)}
    overflowing = {}
    for width in PHONE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        for name, url in pages.items():
            response = page.goto(url)
            assert response is not None
            assert response.status == 200, f"{name} answered {response.status}"
            settle(page)
            measured = page.evaluate(OVERFLOW)
            assert measured["innerWidth"] == width
            if measured["scrollWidth"] > measured["innerWidth"]:
                overflowing[f"{name} at {width}px"] = measured
    assert overflowing == {}, "pages wider than the screen:\n" + "\n".join(
        f"  {where}: {m['scrollWidth']}px wide; sticking out: {m['sticking_out']}"
        for where, m in overflowing.items()
    )


# (c) ------------------------------------------------------------------------------------


def test_patient_line_on_the_portal_summary_and_drilldowns(
    wired: Wired, synthea: dict[str, SyntheaPatient]
) -> None:
    """A patient's standalone launch asks for a banner: the line is on every page, with the
    name, and says the patient died (Bernardo Ordóñez is deceased)."""
    patient = synthea["Bernardo_Ordonez"]
    page = wired.context(viewport={"width": 1280, "height": 800}).new_page()
    launched = wired.standalone(page, patient.id)
    assert launch_of(launched.summary).need_patient_banner is True
    pages = {"summary": launched.summary, **drilldown_urls(page)}
    for name, url in pages.items():
        page.goto(url)
        settle(page)
        text = assert_patient_line(name, page, patient)
        assert "deceased" in text.lower(), f"{name}: the patient line {text!r} omits the death"


def test_patient_line_on_every_drilldown_in_the_chart(
    wired: Wired, synthea: dict[str, SyntheaPatient]
) -> None:
    """An EHR launch shows the EHR's own banner (`need_patient_banner` false), but the
    drill-downs still say whose record this is."""
    patient = synthea["Trey_Berge"]
    page = wired.context().new_page()
    frame = wired.in_chart(page, patient.id)
    assert launch_of(frame.url).need_patient_banner is False
    for name, url in drilldown_urls(frame).items():
        frame.goto(url)
        settle(frame)
        assert_patient_line(f"{name} in the chart", frame, patient)


# (e) ------------------------------------------------------------------------------------


def test_every_section_card_sits_in_its_own_grid_area(wired: Wired) -> None:
    """A section without a grid area would be auto-placed into the first free cell (above the
    sections a clinician reads first): every card in the registry has its own area."""
    page = wired.context().new_page()
    frame = wired.in_chart(page, "pat-01", frame_size=CHART_FRAME)
    areas = frame.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('section.card[data-section]')]
            .map(s => [s.dataset.section, getComputedStyle(s).gridRowStart]))"""
    )
    assert areas == {name: name for name in section_names()}
