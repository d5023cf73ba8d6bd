"""Screenshots of the summary for docs/screenshots/ (issue 14): three Synthea patients and one
edge patient of the sandbox, each in the EHR's chart iframe at 1280x680 (what a clinician sees
without scrolling) and on a phone at 390x844 (a patient's own launch, the whole page).

Written to docs/screenshots/ with SCREENSHOTS=1 (`make screenshots`), else to
test-artifacts/screenshots/ (not committed), so an ordinary test run never changes the docs.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from sandbox.fhir_store import get_store
from sandbox.people import display_name
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.launches import CHART_FRAME, Wired
from tests.e2e.synthea import SyntheaPatient

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = (390, 844)
# (file name stem, Synthea key or sandbox patient id); docs/screenshots/README.md lists them.
PATIENTS = [
    ("alexis-toy", "Alexis_Toy"),  # a child: allergies, immunizations, many labs
    ("bernardo-ordonez", "Bernardo_Ordonez"),  # deceased, hypertension
    ("trey-berge", "Trey_Berge"),  # hypertension, many active medications
    ("edge-xss", "xss"),  # sandbox patient: script payloads in every text, shown as text
]


def out_dir() -> Path:
    folder = DOCS if os.environ.get("SCREENSHOTS") == "1" else ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(("stem", "who"), PATIENTS, ids=[stem for stem, _ in PATIENTS])
def test_summary_screenshots(
    wired: Wired, synthea: dict[str, SyntheaPatient], stem: str, who: str
) -> None:
    patient_id = synthea[who].id if who in synthea else who
    resource = get_store().get("Patient", patient_id)
    assert resource is not None
    name = display_name(resource)
    folder = out_dir()

    # In the chart: the app's iframe only, exactly the first screen a clinician sees.
    page = wired.context().new_page()
    frame = wired.in_chart(page, patient_id, frame_size=CHART_FRAME)
    assert name in (frame.locator("[data-testid=patient-name]").first.text_content() or "")
    chart = folder / f"{stem}-chart-{CHART_FRAME[0]}x{CHART_FRAME[1]}.png"
    box = page.locator("#smart-app").bounding_box()
    assert box is not None
    clip = {
        "x": round(box["x"]),
        "y": round(box["y"]),
        "width": box["width"],
        "height": box["height"],
    }
    page.screenshot(path=str(chart), clip=clip, animations="disabled")  # type: ignore[arg-type]
    assert png_size(chart) == CHART_FRAME

    # On a phone: the patient's own launch, the whole page.
    phone = wired.context(
        viewport={"width": PHONE[0], "height": PHONE[1]}, device_scale_factor=1
    ).new_page()
    wired.standalone(phone, patient_id)
    assert name in (phone.locator("[data-testid=patient-name]").first.text_content() or "")
    whole = folder / f"{stem}-phone-{PHONE[0]}x{PHONE[1]}.png"
    phone.screenshot(path=str(whole), full_page=True, animations="disabled")
    width, height = png_size(whole)
    assert width == PHONE[0]
    assert height >= PHONE[1]
