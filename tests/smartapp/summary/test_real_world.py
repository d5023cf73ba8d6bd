"""The summary page on real-world shapes, through real HTTP to the sandbox: US Core blood
pressure (55284-4), "as needed", medication names when `_include` is dropped or ignored,
partial dates, deceased in an EHR launch, identity limited to the MRN, "N of M"."""

from __future__ import annotations

import re
from typing import Any

from django.core.cache import cache

from smartapp.models import Launch
from smartapp.summary import sections as registry

SSN, LICENCE, PASSPORT = "999-12-3456", "S99912345", "X12345678"


def ehr_launch(connect: Any, browser: Any, patient: str, **options: Any) -> Launch:
    connection = connect(**options)
    browser.launch(browser.start_ehr(connection, patient=patient))
    cache.clear()
    return Launch.objects.get()


def card(html: str, name: str) -> str:
    start = html.index(f'data-section="{name}"')
    return html[start : html.index("</section>", start)]


def row(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start : html.index("</tr>", start)]


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_us_core_patient_shows_what_a_clinician_must_see(sandbox, connect, browser) -> None:
    launch = ehr_launch(connect, browser, "us-core")
    html = browser.client.get(f"/l/{launch.handle}/").content.decode()

    vitals = card(html, "vitals")
    pressure = text(row(vitals, 'data-vital="blood-pressure"'))
    assert "189/115 mmHg" in pressure  # 55284-4 with components, to the whole mmHg
    assert "H" in pressure  # 189/115 is above the adult range (no interpretation was sent)
    assert "2026-09-15" in pressure
    assert "96 /min" in text(row(vitals, 'data-vital="heart-rate"'))  # from a panel's component
    assert "71.7 kg" in text(row(vitals, 'data-vital="weight"'))
    assert "37.8 °C" in text(row(vitals, 'data-vital="temperature"'))
    assert "28.0 kg/m²" in text(row(vitals, 'data-vital="bmi"'))
    assert 'data-ucum="mm[Hg]"' in vitals  # the code as sent, beside the human unit

    medications = text(card(html, "medications"))
    assert "acetaminophen" in medications
    assert "as needed" in medications
    assert "as needed for Pain" in medications
    assert "1 tablet, twice a day" in medications
    assert "atorvastatin" in medications  # a contained Medication
    assert "amlodipine" in medications  # a referenced one
    assert "(medication not shown)" not in medications
    assert "lisinopril" not in medications  # stopped

    labs = text(card(html, "labs"))
    assert "No growth at 48 hours" in labs
    assert "Negative" in labs
    assert "(corrected)" in labs
    assert "(preliminary)" in labs
    assert "9.9" not in labs  # the newer HbA1c was cancelled

    problems = text(card(html, "problems"))
    assert "2019" in problems  # a year-only onset, as sent


def test_identity_is_name_birth_age_sex_and_mrn_only(sandbox, connect, browser) -> None:
    launch = ehr_launch(connect, browser, "us-core")
    pages = [
        browser.client.get(f"/l/{launch.handle}/").content.decode(),
        *(
            browser.client.get(f"/l/{launch.handle}/list/{name}").content.decode()
            for name in registry.listed_sections()
        ),
    ]
    details = text(card(pages[0], "demographics"))
    assert "USC-0001" in details
    assert "1958-07" in details
    assert "68 years" in details
    for page in pages:
        for number in (SSN, LICENCE, PASSPORT):
            assert number not in page


def test_deceased_with_partial_dates_in_an_ehr_launch(sandbox, connect, browser) -> None:
    launch = ehr_launch(connect, browser, "partial-dates")
    assert not launch.need_patient_banner  # the EHR shows its own banner: the card must say it
    details = card(browser.client.get(f"/l/{launch.handle}/").content.decode(), "demographics")
    assert "Deceased 2020-05" in text(details)
    assert "80 years at death" in text(details)
    assert "1940" in text(details)


def test_a_replaced_record_says_so(sandbox, connect, browser) -> None:
    launch = ehr_launch(connect, browser, "replaced-record")
    details = card(browser.client.get(f"/l/{launch.handle}/").content.decode(), "demographics")
    assert "replaced by another record" in details


def test_medication_names_with_the_default_scopes(sandbox, connect, browser) -> None:
    """pat-04's lisinopril is a reference to a shared Medication; the sandbox, as scope-
    enforcing servers do, drops `_include` targets the token cannot read."""
    launch = ehr_launch(connect, browser, "pat-04")
    assert "Medication." in launch.granted_scope or "Medication.r" in launch.granted_scope
    medications = text(
        card(browser.client.get(f"/l/{launch.handle}/").content.decode(), "medications")
    )
    assert "lisinopril 10 MG Oral Tablet" in medications
    assert "(medication not shown)" not in medications


def test_a_server_ignoring_include_gets_medications_read_by_reference(
    sandbox, connect, browser
) -> None:
    launch = ehr_launch(connect, browser, "pat-04", include="ignore")
    sandbox.reset_stats()
    medications = text(
        card(browser.client.get(f"/l/{launch.handle}/").content.decode(), "medications")
    )
    assert "lisinopril 10 MG Oral Tablet" in medications
    assert "(medication not shown)" not in medications


def test_every_capped_card_says_n_of_m_and_links_to_all(
    sandbox, connect, browser, monkeypatch
) -> None:
    labs = registry.spec_for("labs")
    capped = tuple(
        spec if spec.name != "labs" else type(spec)(**{**spec.__dict__, "card_limit": 3})
        for spec in registry.SECTIONS
    )
    monkeypatch.setattr(registry, "SECTIONS", capped)
    launch = ehr_launch(connect, browser, "us-core")
    html = browser.client.get(f"/l/{launch.handle}/").content.decode()
    section = card(html, "labs")
    total = int(re.search(r'data-total="(\d+)"', section).group(1))  # type: ignore[union-attr]
    assert total > 3
    assert 'data-shown="3"' in section
    assert f"Showing 3 of {total}" in text(section)
    assert section.count("<tr data-item") == 3
    everything = browser.client.get(f"/l/{launch.handle}/list/labs").content.decode()
    assert everything.count("<tr data-item") == total
    assert labs.card_limit == 20
