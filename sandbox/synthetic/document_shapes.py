"""The documents of the edge-case patients: `xss` (hostile markup, a foreign attachment URL,
a hostile file name) and `us-core` (Synthea 3.x shapes, a wrong hash, Latin-1 text, Binaries,
a 9 MiB note with no size, data that is not base64). Ids: `sandbox.synthetic.document_ids`.
"""

from __future__ import annotations

from sandbox.synthetic.codes import LOINC
from sandbox.synthetic.datatypes import Resource, ref
from sandbox.synthetic.document_files import (
    attachment,
    b64,
    binary,
    diagnostic_report,
    document_reference,
    large_text_b64,
    rtf,
    sha1_b64,
)
from sandbox.synthetic.document_ids import (
    BAD_BASE64,
    FOREIGN_BINARY_URL,
    HOSTILE_FILENAME,
    LARGE_BINARY_BYTES,
    US_CORE_BAD_BASE64,
    US_CORE_BINARY,
    US_CORE_HASH_MISMATCH,
    US_CORE_HP,
    US_CORE_HP_AUTHOR,
    US_CORE_LARGE,
    US_CORE_LARGE_BINARY,
    US_CORE_LATIN1,
    US_CORE_NOTE_BINARY,
    US_CORE_NOTE_REPORT,
    XSS_FILENAME,
    XSS_FOREIGN,
    XSS_HOSTILE,
)
from sandbox.synthetic.document_texts import (
    BINARY_NOTE_TEXT,
    HASH_MISMATCH_HASHED,
    HASH_MISMATCH_TEXT,
    LATIN1_TEXT,
    US_CORE_HP_NOTE,
    US_CORE_REPORT_NOTE,
    XSS_RTF_TEXT,
    hostile_note_html,
)

TEXT = "text/plain; charset=utf-8"
NOTE = ("34109-9", "Note")
US_CORE_ENCOUNTER = "us-core-enc-1"  # start 2022-02-03, the day of the H&P
SYNTHEA_TYPES = {
    "coding": [
        {"system": LOINC, "code": "34117-2", "display": "History and physical note"},
        {"system": LOINC, "code": "51847-2", "display": "Evaluation + Plan note"},
    ]
}
SYNTHEA_FORMAT = {
    "system": "http://ihe.net/fhir/ValueSet/IHE.FormatCode.codesystem",
    "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient",
    "display": "mimeType Sufficient",
}
SYNTHEA_CUSTODIAN = {
    "reference": "Organization?identifier=https://github.com/synthetichealth/synthea|ef58ea08",
    "display": "SPRINGFIELD FAMILY PRACTICE",
}


def xss_documents() -> list[Resource]:
    """Hostile HTML, an attachment on another origin, and a hostile file name."""
    foreign = {"contentType": "application/pdf", "url": FOREIGN_BINARY_URL, "title": "Consult.pdf"}
    return [
        document_reference(
            XSS_HOSTILE,
            "xss",
            ("34746-8", "Nurse note"),
            "2026-09-20T10:00:00+00:00",
            attachment("text/html", hostile_note_html().encode(), title="Nursing note"),
        ),
        document_reference(
            XSS_FOREIGN,
            "xss",
            ("11488-4", "Consult note"),
            "2026-09-19T10:00:00+00:00",
            foreign,
        ),
        document_reference(
            XSS_FILENAME,
            "xss",
            NOTE,
            "2026-09-18T10:00:00+00:00",
            attachment("application/rtf", rtf(XSS_RTF_TEXT), title=HOSTILE_FILENAME),
        ),
    ]


def _synthea_note() -> Resource:
    """The H&P note as Synthea 3.x writes a DocumentReference."""
    note = document_reference(
        US_CORE_HP,
        "us-core",
        ("34117-2", "History and physical note"),
        "2022-02-03T10:15:00-05:00",
        {
            "attachment": {"contentType": TEXT, "data": b64(US_CORE_HP_NOTE.encode())},
            "format": SYNTHEA_FORMAT,
        },
        identifier=[
            {
                "system": "urn:ietf:rfc:3986",
                "value": "urn:uuid:4f2d8a8e-6c1b-4e0f-9a57-2b7c3e1d0a11",
            }
        ],
        author=[US_CORE_HP_AUTHOR],
        custodian=SYNTHEA_CUSTODIAN,
        context={
            "encounter": [ref("Encounter", US_CORE_ENCOUNTER)],
            "period": {"start": "2022-02-03T10:00:00-05:00", "end": "2022-02-03T10:45:00-05:00"},
        },
    )
    note["type"] = SYNTHEA_TYPES
    return note


def _synthea_report() -> Resource:
    """A note as Synthea writes it into a DiagnosticReport's `presentedForm`."""
    report = diagnostic_report(
        US_CORE_NOTE_REPORT,
        "us-core",
        ("LP29708-2", "Cardiology"),
        ("34117-2", "History and physical note"),
        ("2022-02-03T10:15:00-05:00", "2022-02-03T10:15:00.417-05:00"),
        {"contentType": TEXT, "data": b64(US_CORE_REPORT_NOTE.encode())},
    )
    report["code"] = SYNTHEA_TYPES
    report["encounter"] = ref("Encounter", US_CORE_ENCOUNTER)
    report["performer"] = [US_CORE_HP_AUTHOR]
    return report


def _awkward_notes() -> list[Resource]:
    """A wrong hash, Latin-1 text and data that is not base64, all inline."""
    raw = HASH_MISMATCH_TEXT.encode()
    mismatch = {
        "contentType": TEXT,
        "data": b64(raw),
        "size": len(raw),
        "hash": sha1_b64(HASH_MISMATCH_HASHED.encode()),
    }
    latin1 = attachment("text/plain; charset=ISO-8859-1", LATIN1_TEXT.encode("latin-1"))
    return [
        document_reference(
            US_CORE_HASH_MISMATCH, "us-core", NOTE, "2026-09-16T12:00:00-04:00", mismatch
        ),
        document_reference(US_CORE_LATIN1, "us-core", NOTE, "2026-09-17T12:00:00-04:00", latin1),
        document_reference(
            US_CORE_BAD_BASE64,
            "us-core",
            NOTE,
            "2026-09-18T12:00:00-04:00",
            {"contentType": TEXT, "data": BAD_BASE64},
        ),
    ]


def _binary_notes() -> list[Resource]:
    """Notes whose attachment is a relative `Binary/{id}` url, and those Binaries."""
    held = BINARY_NOTE_TEXT.encode()
    small = attachment(TEXT, held)
    small["url"] = f"Binary/{US_CORE_NOTE_BINARY}"
    del small["data"]
    large = {"contentType": TEXT, "url": f"Binary/{US_CORE_LARGE_BINARY}", "title": "Nursing log"}
    return [
        document_reference(US_CORE_BINARY, "us-core", NOTE, "2026-09-19T12:00:00-04:00", small),
        binary(US_CORE_NOTE_BINARY, "us-core", TEXT, b64(held)),
        document_reference(US_CORE_LARGE, "us-core", NOTE, "2026-09-20T12:00:00-04:00", large),
        binary(US_CORE_LARGE_BINARY, "us-core", TEXT, large_text_b64(LARGE_BINARY_BYTES)),
    ]


def us_core_documents() -> list[Resource]:
    return [_synthea_note(), _synthea_report(), *_awkward_notes(), *_binary_notes()]
