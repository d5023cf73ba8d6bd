"""The summary against the sandbox's synthetic patients, checked against the FHIR data read
directly from the sandbox's store with the test's own (independent) reading of the rules."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from sandbox.fhir_store import get_store
from sandbox.synthetic import XSS_PAYLOADS
from smart.clock import ManualClock
from smartapp.clock import use_clock
from smartapp.fhir.breaker import reset_circuits
from smartapp.models import Launch
from smartapp.summary.contract import SectionStatus
from smartapp.summary.service import build_summary

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def records(patient: str, rtype: str) -> list[dict]:
    return get_store().search(rtype, [("patient", patient)])


def code_of(concept: dict | None) -> str | None:
    return next((c.get("code") for c in (concept or {}).get("coding", [])), None)


def launch_for(sandbox, connect, browser, patient: str, **options) -> Launch:
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()  # the launch warmed the cache: start every check cold
    return Launch.objects.get()


@pytest.mark.parametrize("patient", ["pat-03", "pat-08", "statuses", "odd-codes"])
def test_sections_match_the_ehrs_data(sandbox, connect, browser, patient) -> None:
    launch = launch_for(sandbox, connect, browser, patient)
    sections = build_summary(launch).sections

    expected_problems = [
        c
        for c in records(patient, "Condition")
        if code_of(c.get("clinicalStatus")) == "active"
        and code_of(c.get("verificationStatus")) != "entered-in-error"
    ]
    assert len(sections["problems"].items) == len(expected_problems)

    expected_allergies = [
        a
        for a in records(patient, "AllergyIntolerance")
        if code_of(a.get("clinicalStatus")) == "active"
        and code_of(a.get("verificationStatus")) != "entered-in-error"
    ]
    assert len(sections["allergies"].items) == len(expected_allergies)

    drugs = {
        code_of(r.get("medicationCodeableConcept"))
        or r.get("medicationReference", {}).get("reference")
        for rtype in ("MedicationRequest", "MedicationStatement")
        for r in records(patient, rtype)
        if r.get("status") == "active"
    }
    # The shared Medication resource codes lisinopril 314076, as does the inline coding.
    drugs = {"314076" if d == "Medication/med-lisinopril-10" else d for d in drugs}
    assert len(sections["medications"].items) == len(drugs)

    given = [i for i in records(patient, "Immunization") if i["status"] == "completed"]
    assert len(sections["immunizations"].items) == len(given)

    observations = [o for o in records(patient, "Observation") if o["status"] == "final"]
    vitals = {v.kind: v for v in sections["vitals"].items}
    heart = [o for o in observations if code_of(o["code"]) == "8867-4"]
    if heart:
        newest = max(heart, key=lambda o: o["effectiveDateTime"])
        sent = Decimal(str(newest["valueQuantity"]["value"]))
        assert vitals["heart-rate"].value == str(sent.quantize(Decimal(1)))  # whole beats
        assert vitals["heart-rate"].source_value == str(newest["valueQuantity"]["value"])
        assert vitals["heart-rate"].source_unit == newest["valueQuantity"]["code"]
    panels = [o for o in observations if code_of(o["code"]) == "85354-9"]
    if panels:
        newest = max(panels, key=lambda o: o["effectiveDateTime"])
        systolic, diastolic = (
            Decimal(str(c["valueQuantity"]["value"])).quantize(Decimal(1))
            for c in newest["component"]
        )
        assert vitals["blood-pressure"].value == f"{systolic}/{diastolic}"
        assert vitals["blood-pressure"].unit == "mmHg"

    for lab in sections["labs"].items:
        source = next(
            o
            for o in observations
            if o.get("effectiveDateTime", "")[:10] == lab.date
            and [c.get("code") for c in o["code"]["coding"]]
            == [c.code for c in lab.concept.codings]
        )
        flags = [code_of(i) for i in source.get("interpretation", [])]
        if flags:
            assert lab.abnormal == any(f in ("H", "L") for f in flags)
        elif source.get("referenceRange"):
            low = Decimal(str(source["referenceRange"][0]["low"]["value"]))
            high = Decimal(str(source["referenceRange"][0]["high"]["value"]))
            value = Decimal(str(source["valueQuantity"]["value"]))
            assert lab.abnormal == (value < low or value > high)

    encounters = [e for e in records(patient, "Encounter") if e["status"] == "finished"]
    assert len(sections["encounters"].items) == len(encounters)  # the card shows 10 "of N"


def test_what_is_excluded_and_why(sandbox, connect, browser) -> None:
    launch = launch_for(sandbox, connect, browser, "statuses")
    sections = build_summary(launch).sections
    problems = {p.concept.label for p in sections["problems"].items}
    assert problems == {
        "Hypertensive disorder, systemic arterial"
    }  # resolved, inactive, error left out
    meds = {m.concept.label: m for m in sections["medications"].items}
    # the order and the patient's own report of lisinopril are one row with both sources
    assert meds["lisinopril 10 MG Oral Tablet"].sources == ("order", "patient-reported")
    assert "atorvastatin 20 MG Oral Tablet" not in meds  # stopped
    assert "amlodipine 5 MG Oral Tablet" not in meds  # entered in error
    assert [i.concept.label for i in sections["immunizations"].items] == [
        "Influenza, seasonal, injectable, preservative free"
    ]
    assert all(v.value != "190" for v in sections["vitals"].items)  # the erroneous heart rate


def test_codes_without_display_and_unknown_systems(sandbox, connect, browser) -> None:
    launch = launch_for(sandbox, connect, browser, "odd-codes")
    sections = build_summary(launch).sections
    labels = {lab.concept.label for lab in sections["labs"].items}
    assert "LOCAL-K (urn:oid:1.2.3.4.5.99)" in labels  # code and system, not dropped
    assert "Local assay" in labels
    assert [p.concept.label for p in sections["problems"].items] == ["Local problem code"]
    assert [m.concept.label for m in sections["medications"].items] == [
        "F-123 (http://example.org/formulary)"
    ]


def test_the_paging_patient(sandbox, connect, browser) -> None:
    launch = launch_for(sandbox, connect, browser, "paging")
    vitals = build_summary(launch).sections["vitals"]
    newest = max(
        (o for o in records("paging", "Observation") if code_of(o["code"]) == "8867-4"),
        key=lambda o: o["effectiveDateTime"],
    )
    assert {v.kind: v.value for v in vitals.items}["heart-rate"] == str(
        newest["valueQuantity"]["value"]
    )
    assert vitals.status == SectionStatus.PARTIAL  # 560 readings, capped at 5 pages of 100
    assert vitals.truncated
    with override_settings(FHIR_MAX_PAGES=10):
        cache.clear()
        assert build_summary(launch).sections["vitals"].status == SectionStatus.OK


def test_empty_patient(sandbox, connect, browser) -> None:
    launch = launch_for(sandbox, connect, browser, "empty")
    sections = build_summary(launch).sections
    assert sections["demographics"].status == SectionStatus.OK
    for name in (
        "problems",
        "medications",
        "allergies",
        "immunizations",
        "vitals",
        "labs",
        "encounters",
    ):
        assert sections[name].status == SectionStatus.EMPTY


def test_xss_payloads_render_as_text(sandbox, connect, browser) -> None:
    launch = launch_for(sandbox, connect, browser, "xss")
    html = browser.client.get(f"/l/{launch.handle}/").content.decode()
    for payload in XSS_PAYLOADS:
        assert payload not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(document.domain)&gt;" in html
    # The one script is the app's own, from its static files; nothing the EHR sent runs.
    assert re.findall(r"<script[^>]*>", html.lower()) == ['<script src="/static/js/summary.js">']


def test_ungranted_sections_are_not_shared_and_never_queried(sandbox, connect, browser) -> None:
    grant = [
        "launch/patient",
        "openid",
        "fhirUser",
        "offline_access",
        "patient/Patient.rs",
        "patient/Observation.rs",
        "patient/MedicationRequest.rs",
    ]
    launch = launch_for(sandbox, connect, browser, "pat-04", grant=grant)
    sandbox.reset_stats()
    page = browser.client.get(f"/l/{launch.handle}/").content.decode()
    sections = build_summary(launch).sections
    for name in ("problems", "allergies", "immunizations", "encounters", "documents"):
        assert sections[name].status == SectionStatus.NOT_SHARED
    assert page.count('data-status="not_shared"') == 5
    asked = set(sandbox.stats()["fhir_requests"])
    assert asked <= {"Patient", "Observation", "MedicationRequest"}
    assert not asked & {
        "Condition",
        "AllergyIntolerance",
        "Immunization",
        "Encounter",
        "MedicationStatement",
    }


@pytest.mark.parametrize(
    ("failing", "down"), [("Condition", {"problems"}), ("Observation", {"vitals", "labs"})]
)
def test_one_failing_type_takes_down_only_its_sections(
    sandbox, connect, browser, failing, down
) -> None:
    launch = launch_for(sandbox, connect, browser, "pat-02", fail={failing: 500})
    reset_circuits()
    sections = build_summary(launch).sections
    for name, section in sections.items():
        if name in down:
            assert section.status == SectionStatus.UNAVAILABLE
            assert section.reason == "The EHR could not answer just now."
        else:
            assert section.status in (SectionStatus.OK, SectionStatus.EMPTY), name
    page = browser.client.get(f"/l/{launch.handle}/")
    assert page.status_code == 200
    assert b"Try again" in page.content


def test_malformed_json_is_a_section_error(sandbox, connect, browser) -> None:
    launch = launch_for(
        sandbox, connect, browser, "pat-02", fail={"AllergyIntolerance": "malformed"}
    )
    sections = build_summary(launch).sections
    assert sections["allergies"].status == SectionStatus.UNAVAILABLE
    assert sections["problems"].status in (SectionStatus.OK, SectionStatus.EMPTY)


@override_settings(SUMMARY_BUDGET_S=1.0, FHIR_READ_TIMEOUT_S=30)
def test_a_hanging_ehr_does_not_hold_the_page(sandbox, connect, browser) -> None:
    launch = launch_for(
        sandbox, connect, browser, "pat-02", fail={"Condition": {"mode": "timeout", "hang_s": 8}}
    )
    started = time.monotonic()
    response = browser.client.get(f"/l/{launch.handle}/")
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert b"The EHR took too long to answer." in response.content
    assert elapsed < 6  # answered within the budget, long before the EHR would have


@override_settings(FHIR_ATTEMPTS=3)
def test_429_retries_wait_as_told(sandbox, connect, browser) -> None:
    launch = launch_for(
        sandbox, connect, browser, "pat-02", fail={"Immunization": {"mode": 429, "retry_after": 1}}
    )
    sandbox.reset_stats()
    with use_clock(ManualClock()) as clock:
        sections = build_summary(launch).sections
    assert sections["immunizations"].status == SectionStatus.UNAVAILABLE
    assert sandbox.stats()["fhir_requests"]["Immunization"] == 3  # bounded attempts
    assert clock.slept == [1.0, 1.0]  # waited Retry-After (1 s) between attempts


def test_the_cache_serves_the_second_page_and_refresh_bypasses_it(
    sandbox, connect, browser
) -> None:
    launch = launch_for(sandbox, connect, browser, "pat-05")
    browser.client.get(f"/l/{launch.handle}/")
    sandbox.reset_stats()
    second = browser.client.get(f"/l/{launch.handle}/")
    assert second.status_code == 200
    assert sandbox.stats()["fhir_requests"] == {}  # all from the cache
    assert b'class="page-freshness' in second.content  # freshness once, for the page
    assert b'class="freshness' not in second.content  # no section older than a minute
    browser.client.get(f"/l/{launch.handle}/?refresh=1")
    assert sandbox.stats()["fhir_requests"]  # fetched again


def test_cached_sections_are_encrypted_and_dropped_at_sign_out(sandbox, connect, browser) -> None:
    from smartapp.summary.cache import _cache_key, cache_scope
    from smartapp.summary.sections import SECTIONS

    launch = launch_for(sandbox, connect, browser, "pat-05")
    build_summary(launch)
    keys = [_cache_key(cache_scope(launch), spec.name) for spec in SECTIONS]
    stored = [cache.get(key) for key in keys]
    assert all(stored)
    assert not any("James" in value or "Jones" in value for value in stored)
    browser.client.post(f"/l/{launch.handle}/sign-out")
    assert all(cache.get(key) is None for key in keys)


def test_a_401_mid_summary_refreshes_once(sandbox, connect, browser) -> None:
    from sandbox.models import Token

    launch = launch_for(sandbox, connect, browser, "pat-05")
    Token.objects.update(access_revoked=True)
    sandbox.reset_stats()
    sections = build_summary(launch).sections
    assert sections["problems"].status in (SectionStatus.OK, SectionStatus.EMPTY)
    refreshes = [k for k in sandbox.stats()["token_requests"] if k.startswith("refresh_token")]
    assert sum(sandbox.stats()["token_requests"][k] for k in refreshes) == 1
