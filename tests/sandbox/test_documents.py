"""Clinical notes and documents: the synthetic DocumentReferences, DiagnosticReport forms and
Binaries (`sandbox.synthetic.documents`), and serving them over real HTTP (search, read,
Binary as JSON or raw bytes, access control)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import zlib
from typing import Any

import pytest

from sandbox import synthetic
from sandbox.fhir_store import FhirStore
from sandbox.synthetic import documents as docs

RESOURCES = synthetic.generate()
STORE = FhirStore(RESOURCES)
LOINC = "http://loinc.org"
NOTE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"


def resource(rtype: str, rid: str) -> dict[str, Any]:
    found = STORE.get(rtype, rid)
    assert found is not None, f"{rtype}/{rid}"
    return found


def document(rid: str) -> dict[str, Any]:
    return resource("DocumentReference", rid)


def attachment_of(rid: str) -> dict[str, Any]:
    return dict(document(rid)["content"][0]["attachment"])


def raw_bytes(attached: dict[str, Any]) -> bytes:
    """The bytes an attachment holds, inline or in the Binary its relative url names."""
    if "data" in attached:
        return base64.b64decode(attached["data"], validate=True)
    binary = resource("Binary", attached["url"].removeprefix("Binary/"))
    return base64.b64decode(binary["data"], validate=True)


def sha1(raw: bytes) -> str:
    return base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 - FHIR's hash


# --- the data -------------------------------------------------------------------------------


def test_every_id_is_there_once_with_a_description() -> None:
    keys = [(r["resourceType"], r["id"]) for r in RESOURCES]
    ids = [rid for _, rid in keys]
    assert len(docs.DOCUMENT_IDS) == 21
    for rid, description in docs.DOCUMENT_IDS.items():
        assert ids.count(rid) == 1, rid
        assert description
        assert "\n" not in description
    assert "DOCUMENT_IDS" in synthetic.__all__
    assert docs.DISCHARGE == "doc-pat-01-discharge"
    assert docs.US_CORE_LARGE_BINARY == "bin-us-core-large"


def test_sizes_and_hashes_are_right_except_where_meant_to_be_wrong() -> None:
    wrong_hash, sized = [], []
    for found in RESOURCES:
        if found["resourceType"] != "DocumentReference":
            continue
        attached = found["content"][0]["attachment"]
        if "size" in attached:
            sized.append(found["id"])
            raw = raw_bytes(attached)
            assert attached["size"] == len(raw), found["id"]
            if attached["hash"] != sha1(raw):
                wrong_hash.append(found["id"])
    assert wrong_hash == [docs.US_CORE_HASH_MISMATCH]
    assert {docs.DISCHARGE, docs.CONSULT, docs.WOUND_PHOTO, docs.US_CORE_BINARY} <= set(sized)
    assert not {docs.US_CORE_HP, docs.US_CORE_LARGE, docs.US_CORE_BAD_BASE64} & set(sized)


def test_discharge_summary_is_final_newest_and_replaces_the_draft() -> None:
    final = document(docs.DISCHARGE)
    assert (final["status"], final["docStatus"]) == ("current", "final")
    assert final["type"]["coding"][0] == {
        "system": LOINC,
        "code": "18842-5",
        "display": "Discharge summary",
    }
    assert final["category"][0]["coding"][0]["system"] == NOTE_CATEGORY
    author = final["author"][0]
    assert resource("Practitioner", author["reference"].removeprefix("Practitioner/"))
    assert author["display"]
    assert final["relatesTo"] == [
        {"code": "replaces", "target": {"reference": f"DocumentReference/{docs.DISCHARGE_DRAFT}"}}
    ]
    text = raw_bytes(final["content"][0]["attachment"]).decode("utf-8")
    assert "Discharge diagnosis: Community-acquired pneumonia" in text.splitlines()
    assert text.count("\n\n") >= 4  # paragraphs
    draft = document(docs.DISCHARGE_DRAFT)
    assert draft["status"] == "current"
    assert "DRAFT discharge summary" in raw_bytes(draft["content"][0]["attachment"]).decode()
    ordered = STORE.search("DocumentReference", [("patient", "pat-01"), ("_sort", "-date")])
    dates = [d["date"] for d in ordered]
    assert len(set(dates)) == len(dates) == 7
    assert ordered[0]["id"] == docs.DISCHARGE


def test_statuses_and_the_progress_note() -> None:
    assert document(docs.SUPERSEDED)["status"] == "superseded"
    assert document(docs.ENTERED_IN_ERROR)["status"] == "entered-in-error"
    progress = attachment_of(docs.PROGRESS)
    assert progress["contentType"] == "text/html"
    html = raw_bytes(progress).decode()
    assert "Progress note: patient improving" in html
    for tag in ("<h2>", "<p>", "<ul>", "<li>", "<table>", "<b>", "<i>"):
        assert tag in html
    assert "<script" not in html
    assert "onload" not in html


def test_the_consult_pdf_is_a_valid_pdf() -> None:
    attached = attachment_of(docs.CONSULT)
    assert attached["url"] == "Binary/bin-pat-01-consult"
    assert attached["title"] == "Cardiology consultation.pdf"
    assert "data" not in attached
    binary = resource("Binary", docs.CONSULT_BINARY)
    assert binary["securityContext"] == {"reference": "Patient/pat-01"}
    raw = raw_bytes(attached)
    assert raw.startswith(b"%PDF-1.4")
    assert raw.endswith(b"%%EOF")
    assert b"/BaseFont /Helvetica" in raw
    assert b"(Cardiology consultation) Tj" in raw
    start = int(raw.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert raw[start:].startswith(b"xref\n0 6\n")
    entries = raw[start:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert raw[offset:].startswith(b"%d 0 obj" % number)
    length = int(re.search(rb"/Length (\d+)", raw)[1])  # type: ignore[index]
    stream = raw.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert len(stream) == length


def test_the_wound_photo_is_a_valid_png() -> None:
    attached = attachment_of(docs.WOUND_PHOTO)
    assert (attached["contentType"], attached["title"]) == ("image/png", "wound.png")
    assert document(docs.WOUND_PHOTO)["type"]["coding"][0]["code"] == "72170-4"
    raw = raw_bytes(attached)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(raw):
        (length,) = struct.unpack(">I", raw[at : at + 4])
        kind, body = raw[at + 4 : at + 8], raw[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", raw[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = body
        at += 12 + length
    assert list(chunks) == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (32, 32, 8, 2)
    assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)


def test_chest_xray_report_presents_html() -> None:
    report = resource("DiagnosticReport", docs.CHEST_XRAY)
    assert report["category"][0]["coding"][0] == {
        "system": LOINC,
        "code": "LP29684-5",
        "display": "Radiology",
    }
    assert report["code"]["coding"][0]["code"] == "36643-5"
    assert report["status"] == "final"
    assert report["issued"] > report["effectiveDateTime"]
    (form,) = report["presentedForm"]
    assert form["contentType"] == "text/html"
    assert "No acute cardiopulmonary process" in raw_bytes(form).decode()


def test_xss_documents() -> None:
    html = raw_bytes(attachment_of(docs.XSS_HOSTILE)).decode()
    assert "The text of this note survives sanitising." in html
    assert len(docs.HOSTILE_NOTE_MARKUP) == 13
    assert all(markup in html for markup in docs.HOSTILE_NOTE_MARKUP)
    foreign = attachment_of(docs.XSS_FOREIGN)
    assert foreign == {
        "contentType": "application/pdf",
        "url": "https://evil.example/fhir/Binary/stolen",
        "title": "Consult.pdf",
    }
    named = attachment_of(docs.XSS_FILENAME)
    assert named["contentType"] == "application/rtf"
    assert named["title"] == '../../etc/passwd"; name=evil.rtf\r\nX-Injected: 1'
    assert raw_bytes(named).startswith(b"{\\rtf1")


def test_us_core_note_is_shaped_as_synthea_writes_it() -> None:
    note = document(docs.US_CORE_HP)
    assert [c["code"] for c in note["type"]["coding"]] == ["34117-2", "51847-2"]
    assert note["status"] == "current"
    assert note["date"].endswith("-05:00")
    assert note["author"] == [
        {
            "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999912345",
            "display": "Dr. Mariana Ortiz",
        }
    ]
    assert note["custodian"]["display"]
    (content,) = note["content"]
    assert set(content["attachment"]) == {"contentType", "data"}
    assert content["format"]["code"] == "urn:ihe:iti:xds:2017:mimeTypeSufficient"
    (encounter,) = note["context"]["encounter"]
    assert resource("Encounter", encounter["reference"].removeprefix("Encounter/"))
    report = resource("DiagnosticReport", docs.US_CORE_NOTE_REPORT)
    assert report["category"][0]["coding"][0]["code"] == "LP29708-2"
    assert report["code"]["coding"][0]["code"] == "34117-2"
    assert report["presentedForm"][0]["contentType"] == "text/plain; charset=utf-8"


def test_us_core_awkward_attachments() -> None:
    latin1 = attachment_of(docs.US_CORE_LATIN1)
    assert latin1["contentType"] == "text/plain; charset=ISO-8859-1"
    raw = raw_bytes(latin1)
    assert "Café crème, naïve résumé" in raw.decode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    with pytest.raises(binascii.Error):
        base64.b64decode(attachment_of(docs.US_CORE_BAD_BASE64)["data"], validate=True)
    held = raw_bytes(attachment_of(docs.US_CORE_BINARY)).decode()
    assert "Note held in a Binary" in held
    large = attachment_of(docs.US_CORE_LARGE)
    assert large["url"] == "Binary/bin-us-core-large"
    assert "size" not in large
    text = raw_bytes(large)
    assert 9 * 1024 * 1024 <= len(text) < 9 * 1024 * 1024 + 200
    assert text.endswith(b"\n")


def test_binaries_name_their_patient_and_every_relative_url_resolves() -> None:
    binaries = [r for r in RESOURCES if r["resourceType"] == "Binary"]
    assert {b["id"] for b in binaries} == {
        docs.CONSULT_BINARY,
        docs.US_CORE_NOTE_BINARY,
        docs.US_CORE_LARGE_BINARY,
    }
    for binary in binaries:
        patient = binary["securityContext"]["reference"].removeprefix("Patient/")
        assert resource("Patient", patient)
    for found in (r for r in RESOURCES if r["resourceType"] == "DocumentReference"):
        url = found["content"][0]["attachment"].get("url", "")
        if url.startswith("Binary/"):
            target = resource("Binary", url.removeprefix("Binary/"))
            assert target["securityContext"] == found["subject"]


def test_search_semantics_on_the_store() -> None:
    def ids(*params: tuple[str, str]) -> list[str]:
        return [r["id"] for r in STORE.search("DocumentReference", [*params])]

    notes = ids(("patient", "pat-01"), ("category", f"{NOTE_CATEGORY}|clinical-note"))
    assert docs.WOUND_PHOTO not in notes
    assert len(notes) == 6
    assert ids(("patient", "pat-01"), ("type", f"{LOINC}|18842-5"), ("_sort", "-date")) == [
        docs.DISCHARGE,
        docs.DISCHARGE_DRAFT,
    ]
    assert ids(("patient", "pat-01"), ("status", "superseded")) == [docs.SUPERSEDED]
    assert ids(("patient", "us-core"), ("type", "51847-2")) == [docs.US_CORE_HP]
    assert ids(("subject", "Patient/xss"), ("date", "ge2026-09-19")) == [
        docs.XSS_FOREIGN,
        docs.XSS_HOSTILE,
    ]


# --- over HTTP ------------------------------------------------------------------------------

PATIENT_SCOPES = (
    "launch/patient patient/Patient.rs patient/DocumentReference.rs patient/Binary.read"
    " patient/DiagnosticReport.rs"
)
USER_SCOPES = (
    "openid fhirUser launch/patient user/DocumentReference.rs user/Binary.read"
    " user/DiagnosticReport.rs"
)


def get(client: Any, path: str, token: str, accept: str | None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    return client.http.get(f"{client.base}/{path}", params=params or None, headers=headers)


def entry_ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["resource"]["id"] for entry in response.json()["entry"]]


def test_search_documents_by_patient_category_type_and_date(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    assert len(entry_ids(client.fhir("DocumentReference", token, patient="pat-01"))) == 7
    category = f"{NOTE_CATEGORY}|clinical-note"
    notes = entry_ids(client.fhir("DocumentReference", token, patient="pat-01", category=category))
    assert len(notes) == 6
    assert docs.WOUND_PHOTO not in notes
    summaries = client.fhir(
        "DocumentReference", token, patient="pat-01", type=f"{LOINC}|18842-5", _sort="-date"
    )
    assert entry_ids(summaries) == [docs.DISCHARGE, docs.DISCHARGE_DRAFT]
    newest = client.fhir("DocumentReference", token, patient="pat-01", _sort="-date", _count="1")
    assert entry_ids(newest) == [docs.DISCHARGE]
    reports = client.fhir("DiagnosticReport", token, patient="pat-01", code="36643-5")
    assert entry_ids(reports) == [docs.CHEST_XRAY]


def test_read_each_kind(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    for rid in (docs.DISCHARGE, docs.PROGRESS, docs.CONSULT, docs.WOUND_PHOTO, docs.SUPERSEDED):
        response = client.fhir(f"DocumentReference/{rid}", token)
        assert response.status_code == 200, rid
        assert response.json() == document(rid)
    report = client.fhir(f"DiagnosticReport/{docs.CHEST_XRAY}", token)
    assert report.json()["presentedForm"][0]["contentType"] == "text/html"


@pytest.mark.parametrize(
    "accept", ["application/fhir+json", "application/json", "*/*, application/json;q=0.5"]
)
def test_binary_as_fhir_json_when_accept_asks(sandbox, make_client, accept: str) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    response = get(client, f"Binary/{docs.CONSULT_BINARY}", token, accept)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert set(body) == {"resourceType", "id", "contentType", "securityContext", "data"}
    assert body["resourceType"] == "Binary"
    assert body["contentType"] == "application/pdf"
    assert base64.b64decode(body["data"]).startswith(b"%PDF-")


@pytest.mark.parametrize("accept", [None, "*/*", "application/pdf", "application/json;q=0"])
def test_binary_as_raw_bytes_otherwise(sandbox, make_client, accept: str | None) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    response = get(client, f"Binary/{docs.CONSULT_BINARY}", token, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == raw_bytes(attachment_of(docs.CONSULT))
    assert response.content.startswith(b"%PDF-")
    assert response.content.endswith(b"%%EOF")


def test_binary_is_read_only_and_listed_so(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    assert client.fhir("Binary", token, patient="pat-01").status_code == 400
    metadata = client.http.get(f"{client.base}/metadata").json()
    listed = {
        r["type"]: [i["code"] for i in r["interaction"]] for r in metadata["rest"][0]["resource"]
    }
    assert listed["Binary"] == ["read"]
    assert listed["DocumentReference"] == ["read", "search-type"]


def test_patient_scopes_see_only_their_own_documents(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]  # signed in as Patient/pat-01
    assert client.fhir(f"DocumentReference/{docs.XSS_HOSTILE}", token).status_code == 403
    assert client.fhir(f"DocumentReference/{docs.US_CORE_BINARY}", token).status_code == 403
    assert client.fhir("DocumentReference", token, patient="xss").status_code == 403
    for binary in (docs.US_CORE_NOTE_BINARY, docs.US_CORE_LARGE_BINARY):
        for accept in ("application/fhir+json", "*/*"):
            assert get(client, f"Binary/{binary}", token, accept).status_code == 403
    assert get(client, f"Binary/{docs.CONSULT_BINARY}", token, "*/*").status_code == 200
    assert client.fhir(f"DiagnosticReport/{docs.US_CORE_NOTE_REPORT}", token).status_code == 403


def test_binary_scope_alone_reads_binaries_not_documents(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch("launch/patient patient/Binary.read")["access_token"]
    assert get(client, f"Binary/{docs.CONSULT_BINARY}", token, "*/*").status_code == 200
    assert client.fhir(f"DocumentReference/{docs.DISCHARGE}", token).status_code == 403
    assert client.fhir("DocumentReference", token, patient="pat-01").status_code == 403


def test_user_scopes_read_any_patients_documents(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(USER_SCOPES, user="Practitioner/prac-2", patient="pat-01")
    access = token["access_token"]
    assert len(entry_ids(client.fhir("DocumentReference", access, patient="us-core"))) == 6
    held = get(client, f"Binary/{docs.US_CORE_NOTE_BINARY}", access, "text/plain")
    assert held.headers["content-type"] == "text/plain; charset=utf-8"
    assert "Note held in a Binary" in held.text
    large = get(client, f"Binary/{docs.US_CORE_LARGE_BINARY}", access, None)
    assert large.status_code == 200
    assert large.content == raw_bytes(attachment_of(docs.US_CORE_LARGE))
    latin1 = client.fhir(f"DocumentReference/{docs.US_CORE_LATIN1}", access).json()
    data = base64.b64decode(latin1["content"][0]["attachment"]["data"])
    assert "Café crème" in data.decode("latin-1")


def test_format_json_overrides_accept(sandbox, make_client) -> None:
    client = make_client()
    token = client.launch(PATIENT_SCOPES)["access_token"]
    response = get(client, f"Binary/{docs.CONSULT_BINARY}", token, "*/*", _format="json")
    assert response.json()["id"] == docs.CONSULT_BINARY
