"""EHR HTML made safe for the app's page (smartapp/documents/sanitise.py)."""

from __future__ import annotations

import re

import pytest

from sandbox.synthetic.documents import HOSTILE_NOTE_MARKUP
from smartapp.documents.sanitise import clean_html

# The sandbox's hostile note (each of its payloads), then what else a sanitiser must refuse.
HOSTILE = [
    *HOSTILE_NOTE_MARKUP,
    '<a href="/relative">relative</a>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=">',
    '<div id="summary-root" class="x" onclick="x()">clobber</div>',
    "<math><mi xlink:href='javascript:alert(4)'>m</mi></math>",
    '<noscript><p title="</noscript><img src=x onerror=alert(5)>"></noscript>',
]


@pytest.mark.parametrize("markup", HOSTILE)
def test_hostile_markup_leaves_nothing_that_runs_or_loads(markup: str) -> None:
    cleaned = clean_html(f"<p>The text of this note survives sanitising.</p>{markup}")
    assert "The text of this note survives sanitising." in cleaned
    lowered = cleaned.lower()
    for forbidden in ("<script", "<style", "<link", "<form", "<iframe", "<svg", "<object",
                      "<meta", "<base", "<input", "<math", "javascript:", "evil.example",
                      " on", "style=", " id=", " class=", "svg+xml", "/relative"):  # fmt: skip
        assert forbidden not in lowered, (markup, cleaned)


def test_a_clinical_note_keeps_its_structure() -> None:
    note = (
        "<h2>Assessment</h2><p>Patient <b>improving</b>, <i>afebrile</i>.</p>"
        "<ul><li>Continue amoxicillin</li></ul>"
        "<table><thead><tr><th scope='col'>Test</th></tr></thead>"
        "<tbody><tr><td colspan='2'>CRP 12 mg/L</td></tr></tbody></table>"
        "<p>Leaflet: <a href='https://www.nhs.uk/conditions/pneumonia/'>pneumonia</a></p>"
        "<img alt='wound' src='data:image/png;base64,iVBORw0KGgo='>"
    )
    cleaned = clean_html(note)
    for kept in ("<h2>", "<b>improving</b>", "<li>", 'scope="col"', 'colspan="2"', "<img"):
        assert kept in cleaned
    link = re.search(r"<a [^>]*>", cleaned)
    assert link is not None
    assert 'href="https://www.nhs.uk/conditions/pneumonia/"' in link.group(0)
    assert "noopener" in link.group(0)
    assert "noreferrer" in link.group(0)
