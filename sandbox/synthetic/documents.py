"""Clinical notes and documents: US Core DocumentReference, DiagnosticReport.presentedForm
and Binary, for three patients (ids in `sandbox.synthetic.document_ids`, re-exported here;
`DOCUMENT_IDS` says what each is for). No randomness and no clock.

- `pat-01`: a final discharge summary (the newest, text/plain with `size` and `hash`) that
  `replaces` a draft still marked `current`; an HTML progress note; a PDF consult in a Binary
  (relative `url`); a PNG photo (no note category); a superseded and an entered-in-error
  progress note; a chest X-ray DiagnosticReport with an HTML `presentedForm`;
- `xss`: an HTML note full of hostile markup; a PDF on another origin; an RTF whose title is a
  hostile file name;
- `us-core`: a Synthea 3.x note and DiagnosticReport; a wrong `hash`; Latin-1 text; a note in
  a Binary; a 9 MiB Binary with no `size`; inline data that is not base64.

Codes: LOINC document types, US Core category `clinical-note` for notes, LOINC LP codes for
DiagnosticReport categories. Binaries name their patient in `securityContext`.
"""

from __future__ import annotations

from sandbox.synthetic.datatypes import Resource, strip_none
from sandbox.synthetic.document_files import (
    attachment,
    b64,
    binary,
    diagnostic_report,
    document_reference,
    pdf,
    png,
)
from sandbox.synthetic.document_ids import (
    BAD_BASE64,
    BINARY_NOTE_MARKER,
    CHEST_XRAY,
    CHEST_XRAY_MARKER,
    CONSULT,
    CONSULT_BINARY,
    CONSULT_PDF_TEXT,
    CONSULT_TITLE,
    DISCHARGE,
    DISCHARGE_AUTHOR,
    DISCHARGE_DIAGNOSIS_LINE,
    DISCHARGE_DRAFT,
    DOCUMENT_IDS,
    DRAFT_MARKER,
    ENTERED_IN_ERROR,
    FOREIGN_BINARY_URL,
    HOSTILE_FILENAME,
    HOSTILE_NOTE_MARKUP,
    LARGE_BINARY_BYTES,
    LATIN1_PHRASE,
    PROGRESS,
    PROGRESS_MARKER,
    SUPERSEDED,
    SURVIVING_SENTENCE,
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
    WOUND_PHOTO,
    WOUND_TITLE,
    XSS_FILENAME,
    XSS_FOREIGN,
    XSS_HOSTILE,
)
from sandbox.synthetic.document_shapes import us_core_documents, xss_documents
from sandbox.synthetic.document_texts import (
    CHEST_XRAY_HTML,
    CONSULT_LINES,
    DISCHARGE_DRAFT_TEXT,
    DISCHARGE_SUMMARY,
    ENTERED_IN_ERROR_TEXT,
    PROGRESS_HTML,
    SUPERSEDED_TEXT,
)

__all__ = [
    "BAD_BASE64",
    "BINARY_NOTE_MARKER",
    "CHEST_XRAY",
    "CHEST_XRAY_MARKER",
    "CONSULT",
    "CONSULT_BINARY",
    "CONSULT_PDF_TEXT",
    "CONSULT_TITLE",
    "DISCHARGE",
    "DISCHARGE_AUTHOR",
    "DISCHARGE_DIAGNOSIS_LINE",
    "DISCHARGE_DRAFT",
    "DOCUMENT_IDS",
    "DRAFT_MARKER",
    "ENTERED_IN_ERROR",
    "FOREIGN_BINARY_URL",
    "HOSTILE_FILENAME",
    "HOSTILE_NOTE_MARKUP",
    "LARGE_BINARY_BYTES",
    "LATIN1_PHRASE",
    "PROGRESS",
    "PROGRESS_MARKER",
    "SUPERSEDED",
    "SURVIVING_SENTENCE",
    "US_CORE_BAD_BASE64",
    "US_CORE_BINARY",
    "US_CORE_HASH_MISMATCH",
    "US_CORE_HP",
    "US_CORE_HP_AUTHOR",
    "US_CORE_LARGE",
    "US_CORE_LARGE_BINARY",
    "US_CORE_LATIN1",
    "US_CORE_NOTE_BINARY",
    "US_CORE_NOTE_REPORT",
    "WOUND_PHOTO",
    "WOUND_TITLE",
    "XSS_FILENAME",
    "XSS_FOREIGN",
    "XSS_HOSTILE",
    "document_resources",
]

PATIENT = "pat-01"
DISCHARGE_SUMMARY_TYPE = ("18842-5", "Discharge summary")
PROGRESS_NOTE = ("11506-3", "Progress note")
CONSULT_NOTE = ("11488-4", "Consult note")
PHOTO = ("72170-4", "Photographic image")
TEXT = "text/plain; charset=utf-8"
STAY = {"start": "2026-09-12T08:40:00+00:00", "end": "2026-09-16T16:00:00+00:00"}


def _discharge_summaries() -> list[Resource]:
    """The signed summary (newest of pat-01's documents) and the draft it replaces."""
    final = document_reference(
        DISCHARGE,
        PATIENT,
        DISCHARGE_SUMMARY_TYPE,
        "2026-09-16T15:00:00+00:00",
        attachment(TEXT, DISCHARGE_SUMMARY.encode(), title="Discharge summary"),
        docStatus="final",
        author=[DISCHARGE_AUTHOR],
        relatesTo=[
            {"code": "replaces", "target": {"reference": f"DocumentReference/{DISCHARGE_DRAFT}"}}
        ],
        context={"period": STAY},
    )
    draft = document_reference(
        DISCHARGE_DRAFT,
        PATIENT,
        DISCHARGE_SUMMARY_TYPE,
        "2026-09-16T09:00:00+00:00",
        attachment(TEXT, DISCHARGE_DRAFT_TEXT.encode(), title="Discharge summary (draft)"),
        docStatus="preliminary",
        author=[DISCHARGE_AUTHOR],
        context={"period": STAY},
    )
    return [final, draft]


def _progress_notes() -> list[Resource]:
    """The HTML progress note, a superseded one and one entered in error."""
    author = [{"reference": "Practitioner/prac-3", "display": "Astrid Lindqvist, NP"}]
    return [
        document_reference(
            PROGRESS,
            PATIENT,
            PROGRESS_NOTE,
            "2026-09-14T08:30:00+00:00",
            attachment("text/html", PROGRESS_HTML.encode(), title="Progress note"),
            docStatus="final",
            author=author,
        ),
        document_reference(
            SUPERSEDED,
            PATIENT,
            PROGRESS_NOTE,
            "2026-09-13T08:00:00+00:00",
            attachment(TEXT, SUPERSEDED_TEXT.encode()),
            status="superseded",
            author=author,
        ),
        document_reference(
            ENTERED_IN_ERROR,
            PATIENT,
            PROGRESS_NOTE,
            "2026-09-15T09:00:00+00:00",
            attachment(TEXT, ENTERED_IN_ERROR_TEXT.encode()),
            status="entered-in-error",
            author=author,
        ),
    ]


def _consult_and_images() -> list[Resource]:
    """The PDF consult (in a Binary), the wound photo and the chest X-ray report."""
    consult_pdf = pdf(CONSULT_LINES)
    link = attachment("application/pdf", consult_pdf, title=CONSULT_TITLE)
    link["url"] = f"Binary/{CONSULT_BINARY}"
    del link["data"]
    xray_form = {"contentType": "text/html", "data": b64(CHEST_XRAY_HTML.encode())}
    return [
        document_reference(
            CONSULT,
            PATIENT,
            CONSULT_NOTE,
            "2026-09-13T15:30:00+00:00",
            link,
            docStatus="final",
            author=[{"reference": "Practitioner/prac-1", "display": "Maria Alvarez, MD"}],
        ),
        binary(CONSULT_BINARY, PATIENT, "application/pdf", b64(consult_pdf)),
        document_reference(
            WOUND_PHOTO,
            PATIENT,
            PHOTO,
            "2026-09-14T11:00:00+00:00",
            attachment("image/png", png(32, 32, (196, 92, 80)), title=WOUND_TITLE),
            category=None,
            description="Cannula site, left forearm",
        ),
        diagnostic_report(
            CHEST_XRAY,
            PATIENT,
            ("LP29684-5", "Radiology"),
            ("36643-5", "XR Chest 2 Views"),
            ("2026-09-15T10:20:00+00:00", "2026-09-15T11:05:00+00:00"),
            xray_form,
        ),
    ]


def document_resources() -> list[Resource]:
    """Every synthetic document, report and Binary (pat-01, then xss, then us-core)."""
    found = [
        *_discharge_summaries(),
        *_progress_notes(),
        *_consult_and_images(),
        *xss_documents(),
        *us_core_documents(),
    ]
    return [strip_none(resource) for resource in found]  # `category=None`: no category
