"""Issue 19: notes and documents through the app, over real HTTP to the sandbox EHR: each
content type shown or offered as specified, nothing fetched outside the FHIR base, size and
hash mismatches shown, nothing of one patient in another launch's pages, no plain body in the
cache, everything dropped at sign-out, every opening audited."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import cache as django_cache

from sandbox.fhir_store import get_store
from sandbox.synthetic import documents as docs
from smartapp.audit.records import AccessRecord
from smartapp.models import Launch
from smartapp.vault import tokens
from tests.smartapp.fhir.test_hostile_ehr import Recorder

cache: Any = django_cache  # the backend's own client or dict, read below


@contextmanager
def added(*resources: dict[str, Any]) -> Iterator[None]:
    """The sandbox's store holds these resources for the block, and not after it."""
    store = get_store()
    for resource in resources:
        store.put(resource)
    try:
        yield
    finally:
        for resource in resources:
            store.remove(resource["resourceType"], resource["id"])


def launched(connect, browser, patient: str, **options: Any) -> Launch:
    """A patient's standalone launch (its landing page warmed the summary)."""
    connection = connect(**options)
    page = browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    assert page.status_code == 200
    return Launch.objects.get(patient_id=patient, connection=connection)


def clinician(connect, browser, patient: str = "pat-01") -> Launch:
    """A clinician's EHR launch from the sandbox chart."""
    connection = connect()
    page = browser.launch(browser.start_ehr(connection, patient=patient))
    assert page.status_code == 200
    return Launch.objects.get()


def open_doc(browser, launch: Launch, rid: str, rtype: str = "DocumentReference", **query):
    return browser.client.get(f"/l/{launch.handle}/documents/{rtype}/{rid}", query)


def content_url(page: str) -> str:
    found = re.search(r'/l/[^"]+/content', page)
    assert found, page[:2000]
    return found.group(0)


def text_of(page) -> str:
    assert page.status_code == 200, page.content[:1000]
    return page.content.decode()


def test_the_section_lists_notes_and_reports_newest_first(connect, browser) -> None:
    launch = clinician(connect, browser)
    page = text_of(browser.client.get(f"/l/{launch.handle}/"))
    card = page[page.index('data-section="documents"') :]
    rows = re.findall(r'data-document="(\w+/[\w-]+)"', card)
    assert rows[0] == f"DocumentReference/{docs.DISCHARGE}"
    assert f"DiagnosticReport/{docs.CHEST_XRAY}" in rows
    assert f"DocumentReference/{docs.CONSULT}" in rows
    for hidden in (docs.DISCHARGE_DRAFT, docs.SUPERSEDED, docs.ENTERED_IN_ERROR):
        assert f"DocumentReference/{hidden}" not in rows
    assert docs.DISCHARGE_AUTHOR["display"] in card


def test_the_full_list_filters_by_category_and_type(connect, browser) -> None:
    launch = clinician(connect, browser)
    everything = text_of(browser.client.get(f"/l/{launch.handle}/list/documents"))
    assert 'data-filter="category"' in everything
    assert 'data-filter="type"' in everything
    radiology = text_of(
        browser.client.get(f"/l/{launch.handle}/list/documents", {"category": "Radiology"})
    )
    assert re.findall(r'<tr data-item data-document="(\w+/[\w-]+)"', radiology) == [
        f"DiagnosticReport/{docs.CHEST_XRAY}"
    ]
    listed = re.findall(r'<tr data-item data-document="(\w+/[\w-]+)"', everything)
    assert len(listed) > 1
    unknown = browser.client.get(f"/l/{launch.handle}/list/documents", {"type": "<nope>"})
    assert re.findall(r'<tr data-item data-document="(\w+/[\w-]+)"', text_of(unknown)) == listed


def test_a_plain_text_discharge_summary_is_shown_as_text(sandbox, connect, browser) -> None:
    launch = clinician(connect, browser)
    page = text_of(open_doc(browser, launch, docs.DISCHARGE))
    assert re.search(r'<pre class="document-text" data-content="text">', page)
    assert docs.DISCHARGE_DIAGNOSIS_LINE in page
    assert "data-finding" not in page  # its size and hash are right
    assert sandbox.url not in page  # nothing on the page points at the EHR


def test_html_is_sanitised_and_a_report_presented_form_is_shown(connect, browser) -> None:
    launch = clinician(connect, browser)
    progress = text_of(open_doc(browser, launch, docs.PROGRESS))
    assert docs.PROGRESS_MARKER in progress
    assert 'data-content="html"' in progress
    xray = text_of(open_doc(browser, launch, docs.CHEST_XRAY, rtype="DiagnosticReport"))
    assert docs.CHEST_XRAY_MARKER in xray


def test_a_hostile_note_keeps_its_words_and_loses_its_markup(connect, browser) -> None:
    launch = launched(connect, browser, "xss")
    page = text_of(open_doc(browser, launch, docs.XSS_HOSTILE))
    body = page[page.index('data-content="html"') :].split("</article>")[0].lower()
    assert docs.SURVIVING_SENTENCE.lower() in body
    for forbidden in ("<script", "<iframe", "<form", "<object", "<svg", "<style", "<link",
                      "<meta", "<base", "javascript:", "evil.example", "onerror", "onload",
                      "style="):  # fmt: skip
        assert forbidden not in body, forbidden


def test_a_pdf_in_a_binary_is_served_from_the_apps_origin(sandbox, connect, browser) -> None:
    launch = clinician(connect, browser)
    page = text_of(open_doc(browser, launch, docs.CONSULT))
    assert 'data-content="pdf"' in page
    assert sandbox.url not in page
    pdf = browser.client.get(content_url(page))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf["Content-Disposition"] == f'inline; filename="{docs.CONSULT_TITLE}"'
    assert pdf["X-Content-Type-Options"] == "nosniff"
    assert pdf["Content-Security-Policy"].startswith("sandbox;")
    assert "frame-ancestors 'self'" in pdf["Content-Security-Policy"]
    assert "no-store" in pdf["Cache-Control"]


def test_an_image_is_served_inline_and_text_never_raw(connect, browser) -> None:
    launch = clinician(connect, browser)
    page = text_of(open_doc(browser, launch, docs.WOUND_PHOTO))
    image = browser.client.get(content_url(page))
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert image["Content-Disposition"].startswith("inline;")
    # Text and HTML are shown only inside the page (HTML sanitised): never served raw.
    for rid in (docs.DISCHARGE, docs.PROGRESS):
        raw = browser.client.get(f"/l/{launch.handle}/documents/DocumentReference/{rid}/0/content")
        assert raw.status_code == 404
        assert docs.PROGRESS_MARKER.encode() not in raw.content


def test_another_type_is_a_download_with_a_sanitised_name(connect, browser) -> None:
    launch = launched(connect, browser, "xss")
    page = text_of(open_doc(browser, launch, docs.XSS_FILENAME))
    assert 'data-content="download"' in page
    download = browser.client.get(content_url(page))
    assert download["Content-Type"] == "application/octet-stream"
    disposition = download["Content-Disposition"]
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._ -]+\.rtf"', disposition)
    assert "passwd" in disposition  # the last path segment survives, without the path
    assert "X-Injected" not in download.headers  # no header was injected
    assert "\r" not in disposition


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    listening = Recorder("127.0.0.2", 0)
    yield listening
    listening.server.shutdown()
    listening.server.server_close()


@pytest.fixture
def foreign_document(recorder) -> Iterator[str]:
    """The xss patient's foreign-URL document, pointed at a server that writes down requests."""
    store = get_store()
    original = store.get("DocumentReference", docs.XSS_FOREIGN)
    assert original is not None
    changed = copy.deepcopy(original)
    port = recorder.server.server_address[1]
    changed["content"][0]["attachment"]["url"] = f"http://127.0.0.2:{port}/fhir/Binary/stolen"
    store.put(changed)
    yield docs.XSS_FOREIGN
    store.put(original)


def test_a_url_on_another_origin_is_refused_without_the_token(
    connect, browser, recorder, foreign_document
) -> None:
    launch = launched(connect, browser, "xss")
    page = text_of(open_doc(browser, launch, foreign_document))
    assert "data-problem" in page
    assert "another server" in page
    assert recorder.requests == []  # nothing was sent there, let alone a token
    stock = text_of(open_doc(browser, launch, docs.XSS_FOREIGN))
    assert "evil.example" not in stock


def test_mismatches_charsets_and_broken_content_are_said(connect, browser) -> None:
    launch = launched(connect, browser, "us-core")
    mismatch = text_of(open_doc(browser, launch, docs.US_CORE_HASH_MISMATCH))
    assert "fingerprint" in mismatch
    assert 'data-content="text"' in mismatch  # shown, with the warning above it
    latin1 = text_of(open_doc(browser, launch, docs.US_CORE_LATIN1))
    assert "Café crème, naïve résumé" in latin1
    broken = text_of(open_doc(browser, launch, docs.US_CORE_BAD_BASE64))
    assert "base64" in broken
    assert "data-problem" in broken
    large = text_of(open_doc(browser, launch, docs.US_CORE_LARGE))
    assert "larger than the app opens" in large
    synthea = text_of(open_doc(browser, launch, docs.US_CORE_HP))
    assert 'data-content="text"' in synthea


@pytest.mark.parametrize("binary", ["json", "raw"])
def test_a_binary_is_read_whichever_way_the_ehr_answers(connect, browser, binary) -> None:
    launch = launched(connect, browser, "us-core", binary=binary)
    page = text_of(open_doc(browser, launch, docs.US_CORE_BINARY))
    assert "Note held in a Binary" in page


@pytest.mark.postgres
def test_a_document_of_another_patient_opens_nothing(connect, browser) -> None:
    """A provider's user-level grant lets the EHR answer any patient's document: the app
    itself refuses one that is not about the launch's patient."""
    connection = connect()
    browser.sign_in_staff()
    browser.launch(
        browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
    )
    launch = Launch.objects.get()
    chosen = browser.client.post(f"/l/{launch.handle}/patients", {"patient": "pat-02"})
    assert chosen.status_code in (302, 303)
    page = open_doc(browser, launch, docs.DISCHARGE)
    assert page.status_code == 404
    assert docs.DISCHARGE_DIAGNOSIS_LINE.encode() not in page.content
    assert b"Back to the summary" in page.content
    content = browser.client.get(
        f"/l/{launch.handle}/documents/DocumentReference/{docs.CONSULT}/0/content"
    )
    assert content.status_code == 404
    assert not content.content.startswith(b"%PDF")


def test_a_patient_cannot_open_another_patients_document(connect, browser) -> None:
    launch = launched(connect, browser, "pat-02")
    page = open_doc(browser, launch, docs.DISCHARGE)
    assert page.status_code in (403, 404)
    assert docs.DISCHARGE_DIAGNOSIS_LINE.encode() not in page.content


def _cached_values() -> list[bytes]:
    """Every value in the cache as stored (encrypted or not), whichever backend the run uses."""
    if hasattr(cache, "delete_pattern"):
        raw = cache.client.get_client()
        return [raw.get(key) or b"" for key in raw.keys("*")]
    return [repr(value).encode() for value in cache._cache.values()]  # LocMemCache


def test_the_cache_holds_no_plain_body_and_sign_out_drops_it(connect, browser) -> None:
    launch = clinician(connect, browser)
    page = text_of(open_doc(browser, launch, docs.DISCHARGE))
    browser.client.get(content_url(text_of(open_doc(browser, launch, docs.CONSULT))))
    line = docs.DISCHARGE_DIAGNOSIS_LINE.encode()
    assert line in page.encode()
    stored = b"\n".join(_cached_values())
    assert line not in stored
    assert base64.b64encode(line)[:24] not in stored
    assert b"%PDF" not in stored
    assert b"Cardiology consultation" not in stored
    cached_keys = [k for k in _keys() if ":doc:" in k]
    assert len(cached_keys) >= 2  # the discharge summary and the consult's PDF
    browser.client.post(f"/l/{launch.handle}/sign-out")
    assert [k for k in _keys() if ":doc:" in k] == []


def _keys() -> list[str]:
    if hasattr(cache, "delete_pattern"):
        return [k.decode() for k in cache.client.get_client().keys("*")]
    return list(cache._cache)


def test_each_opening_is_a_phi_access_record(connect, browser) -> None:
    launch = clinician(connect, browser)
    seen = max(AccessRecord.objects.values_list("seq", flat=True), default=0)
    browser.client.get(content_url(text_of(open_doc(browser, launch, docs.CONSULT))))
    page, content = (
        AccessRecord.objects.filter(seq__gt=seen, what=what).get()
        for what in ("document", "document-content")
    )
    assert page.patient_id == content.patient_id == "pat-01"
    assert page.outcome == content.outcome == "success"
    assert "DocumentReference" in page.resource_types
    assert "Binary" in page.resource_types


def test_no_token_in_any_document_response(connect, browser) -> None:
    launch = clinician(connect, browser)
    token, _ = tokens.token_and_version(launch)
    responses = [
        open_doc(browser, launch, rid)
        for rid in (docs.DISCHARGE, docs.PROGRESS, docs.CONSULT, docs.WOUND_PHOTO)
    ]
    responses.append(browser.client.get(f"/l/{launch.handle}/list/documents"))
    responses.append(browser.client.get(content_url(text_of(responses[2]))))
    for response in responses:
        assert token.encode() not in response.content
        assert token not in str(response.headers)


def test_a_grant_without_binary_says_so_and_still_shows_inline_notes(connect, browser) -> None:
    connection = connect()
    browser.launch(
        browser.start_standalone(connection), user="Patient/pat-01", untick=("patient/Binary.rs",)
    )
    launch = Launch.objects.get()
    assert "Binary" not in launch.granted_scope
    consult = text_of(open_doc(browser, launch, docs.CONSULT))
    assert "Binary scope" in consult
    assert 'data-content="pdf"' not in consult
    discharge = text_of(open_doc(browser, launch, docs.DISCHARGE))
    assert docs.DISCHARGE_DIAGNOSIS_LINE in discharge


@pytest.fixture
def odd_documents() -> Iterator[None]:
    """pat-01 gains a note whose id breaks the FHIR grammar and one whose Binary's content
    type is not text: an EHR's data must not turn a page into a 500."""
    store = get_store()
    consult = store.get("DocumentReference", docs.CONSULT)
    binary = store.get("Binary", docs.CONSULT_BINARY)
    assert consult is not None
    assert binary is not None
    slashed = {**copy.deepcopy(consult), "id": "odd/slash"}
    untyped = copy.deepcopy(consult)
    untyped["id"] = "odd-untyped"
    untyped["content"][0]["attachment"] = {"url": "Binary/odd-untyped-bin"}
    odd_binary = {**copy.deepcopy(binary), "id": "odd-untyped-bin", "contentType": 42}
    with added(slashed, untyped, odd_binary):
        yield


def test_odd_ids_content_types_and_parameters_are_no_500(connect, browser, odd_documents):
    launch = clinician(connect, browser)
    summary = text_of(browser.client.get(f"/l/{launch.handle}/?refresh=documents"))
    assert "odd/slash" not in summary
    assert "DocumentReference/odd-untyped" in summary
    untyped = text_of(open_doc(browser, launch, "odd-untyped"))
    assert 'data-content="download"' in untyped  # no usable content type: offered, not shown
    page = open_doc(browser, launch, docs.DISCHARGE, attachment="²")
    assert page.status_code == 200
    assert open_doc(browser, launch, docs.DISCHARGE, attachment="7").status_code == 404


@pytest.fixture
def shapes_from_other_ehrs() -> Iterator[None]:
    """Shapes real EHRs send that the sandbox's own data does not: a report whose
    `presentedForm` is a Binary URL (not inline), and a note sent twice, as PDF and HTML."""
    store = get_store()
    progress = store.get("DocumentReference", docs.PROGRESS)
    assert progress is not None
    report = {
        "resourceType": "DiagnosticReport",
        "id": "odd-echo",
        "status": "final",
        "subject": {"reference": "Patient/pat-01"},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "LP29708-2"}]}],
        "code": {"text": "Echocardiogram report"},
        "effectiveDateTime": "2026-09-14T10:00:00Z",
        "presentedForm": [
            {"contentType": "application/pdf", "url": f"Binary/{docs.CONSULT_BINARY}"}
        ],
    }
    twice = copy.deepcopy(progress)
    twice["id"] = "odd-twice"
    twice["content"] = [
        {"attachment": {"contentType": "application/pdf", "url": f"Binary/{docs.CONSULT_BINARY}"}},
        *progress["content"],
    ]
    with added(report, twice):
        yield


def test_a_report_by_url_and_a_note_in_two_forms(connect, browser, shapes_from_other_ehrs):
    launch = clinician(connect, browser)
    echo = text_of(open_doc(browser, launch, "odd-echo", rtype="DiagnosticReport"))
    assert 'data-content="pdf"' in echo
    assert browser.client.get(content_url(echo)).content.startswith(b"%PDF-")
    twice = text_of(open_doc(browser, launch, "odd-twice"))
    assert 'data-content="html"' in twice  # the readable form first
    assert docs.PROGRESS_MARKER in twice
    assert 'href="?attachment=0"' in twice
    as_pdf = text_of(open_doc(browser, launch, "odd-twice", attachment="0"))
    assert 'data-content="pdf"' in as_pdf
