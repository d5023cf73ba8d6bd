"""The bytes behind the synthetic documents, made here with no dependency: a PDF 1.4 with
correct xref offsets, a PNG (zlib and struct), a tiny RTF and a large text; and the FHIR
Attachment and resource shapes that carry them.

An Attachment's `hash` is FHIR's: base64 of the SHA-1 of the raw bytes; `size` is the raw
byte count.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import struct
import zlib
from typing import Any

from sandbox.synthetic.codes import LOINC, US_CORE
from sandbox.synthetic.datatypes import Resource, concept, ref

NOTE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def sha1_b64(raw: bytes) -> str:
    """FHIR Attachment.hash: base64 of the SHA-1 of the data."""
    return b64(hashlib.sha1(raw).digest())  # noqa: S324 - FHIR defines the hash as SHA-1


def attachment(content_type: str, raw: bytes, *, sized: bool = True, **extra: Any) -> Resource:
    """An inline Attachment; with `size` and `hash` unless `sized` is False."""
    found: Resource = {"contentType": content_type, "data": b64(raw)}
    if sized:
        found |= {"size": len(raw), "hash": sha1_b64(raw)}
    return found | extra


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF 1.4 showing `lines` in Helvetica, with a correct xref table."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    shown = " T* ".join(f"({line}) Tj" for line in escaped)
    stream = f"BT /F1 12 Tf 16 TL 72 720 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour 8-bit RGB PNG."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + bytes(rgb) * width  # filter type 0, then the pixels
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(row * height, 9)),
            _png_chunk(b"IEND", b""),
        )
    )


def rtf(text: str) -> bytes:
    return b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times New Roman;}}\\f0\\fs24 %s\\par}" % (
        text.encode("ascii")
    )


@functools.cache
def large_text_b64(at_least: int) -> str:
    """Numbered lines until `at_least` bytes, base64; built once per process and shared."""
    lines, size, number = [], 0, 0
    while size < at_least:
        number += 1
        line = f"{number:07d} Nursing observation: resting comfortably, no change since last.\n"
        lines.append(line)
        size += len(line)
    return b64("".join(lines).encode("ascii"))


def binary(bid: str, patient: str, content_type: str, data_b64: str) -> Resource:
    """A Binary whose `securityContext` names its patient (what access control reads)."""
    return {
        "resourceType": "Binary",
        "id": bid,
        "contentType": content_type,
        "securityContext": ref("Patient", patient),
        "data": data_b64,
    }


def document_reference(
    did: str,
    patient: str,
    loinc: tuple[str, str],
    date: str,
    content: Resource,
    **extra: Any,
) -> Resource:
    """A US Core DocumentReference: clinical-note category unless `category` says otherwise;
    `status` current unless given; `content` is one Attachment (or a full content entry)."""
    entry = content if "attachment" in content else {"attachment": content}
    return {
        "resourceType": "DocumentReference",
        "id": did,
        "meta": {"profile": [f"{US_CORE}/us-core-documentreference"]},
        "status": extra.pop("status", "current"),
        **({"docStatus": extra.pop("docStatus")} if "docStatus" in extra else {}),
        "type": concept(LOINC, *loinc),
        "category": extra.pop(
            "category", [concept(NOTE_CATEGORY, "clinical-note", "Clinical Note")]
        ),
        "subject": ref("Patient", patient),
        "date": date,
        "content": [entry],
        **extra,
    }


def diagnostic_report(
    rid: str,
    patient: str,
    category: tuple[str, str],
    code: tuple[str, str],
    when: tuple[str, str],
    form: Resource,
) -> Resource:
    """A final DiagnosticReport whose one `presentedForm` is `form`; `when`: (effective,
    issued)."""
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "meta": {"profile": [f"{US_CORE}/us-core-diagnosticreport-note"]},
        "status": "final",
        "category": [concept(LOINC, *category)],
        "code": concept(LOINC, *code),
        "subject": ref("Patient", patient),
        "effectiveDateTime": when[0],
        "issued": when[1],
        "presentedForm": [form],
    }
