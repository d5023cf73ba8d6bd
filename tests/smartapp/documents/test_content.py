"""A document's content (smartapp/documents/content.py): media types, strict base64, the
size and hash checks, charsets and download names."""

from __future__ import annotations

import base64
import hashlib

import pytest

from smartapp.documents.content import (
    AttachmentRef,
    ContentProblem,
    Kind,
    MediaType,
    decode_data,
    decode_text,
    download_name,
    integrity_findings,
    preferred,
    sha1_base64,
)


@pytest.mark.parametrize(
    ("raw", "essence", "charset", "kind"),
    [
        ("text/plain; charset=utf-8", "text/plain", "utf-8", Kind.TEXT),
        ('Text/Plain;CHARSET="ISO-8859-1"', "text/plain", "iso-8859-1", Kind.TEXT),
        ("text/html", "text/html", None, Kind.HTML),
        ("application/xhtml+xml", "application/xhtml+xml", None, Kind.HTML),
        ("application/pdf", "application/pdf", None, Kind.PDF),
        ("image/png", "image/png", None, Kind.IMAGE),
        ("image/svg+xml", "image/svg+xml", None, Kind.DOWNLOAD),  # SVG can carry script
        ("application/rtf", "application/rtf", None, Kind.DOWNLOAD),
        (None, "application/octet-stream", None, Kind.DOWNLOAD),
        ("not a type", "application/octet-stream", None, Kind.DOWNLOAD),
        ('text/html"><script>', "application/octet-stream", None, Kind.DOWNLOAD),
    ],
)
def test_media_types_and_the_way_each_is_shown(raw, essence, charset, kind) -> None:
    media = MediaType.parse(raw)
    assert (media.essence, media.charset, media.kind) == (essence, charset, kind)


def test_base64_is_decoded_strictly_but_wrapped_lines_are_fine() -> None:
    encoded = base64.b64encode(b"Discharge summary").decode()
    assert decode_data(encoded[:8] + "\n  " + encoded[8:]) == b"Discharge summary"
    for broken in ("not*base64!!", encoded[:-1], "abc"):
        with pytest.raises(ContentProblem, match="base64"):
            decode_data(broken)


def test_size_and_hash_mismatches_are_findings() -> None:
    body = b"The note as written."
    good = AttachmentRef(0, "text/plain", size=len(body), hash=sha1_base64(body))
    assert integrity_findings(body, good) == ()
    assert sha1_base64(body) == base64.b64encode(hashlib.sha1(body).digest()).decode()  # noqa: S324 - FHIR says SHA-1
    wrong_hash = AttachmentRef(0, "text/plain", hash=sha1_base64(b"another note"))
    (finding,) = integrity_findings(body, wrong_hash)
    assert "fingerprint" in finding
    wrong_size = AttachmentRef(0, "text/plain", size=len(body) + 5)
    (finding,) = integrity_findings(body, wrong_size)
    assert f"{len(body) + 5} bytes" in finding
    assert f"{len(body)} bytes arrived" in finding
    assert integrity_findings(body, AttachmentRef(0, "text/plain")) == ()  # nothing declared


def test_text_is_decoded_in_its_charset() -> None:
    latin1 = "Café crème, naïve résumé".encode("latin-1")
    assert decode_text(latin1, MediaType.parse("text/plain; charset=ISO-8859-1")).text == (
        "Café crème, naïve résumé"
    )
    shown = decode_text(latin1, MediaType.parse("text/plain"))  # UTF-8 assumed: wrong bytes
    assert "\ufffd" in shown.text
    assert shown.note
    bom = "\ufeffNote".encode()
    assert decode_text(bom, MediaType.parse("text/plain; charset=latin-1")).text == "Note"
    assert decode_text(b"ok", MediaType.parse("text/plain; charset=klingon")).text == "ok"


@pytest.mark.parametrize(
    ("title", "essence", "expected"),
    [
        ('../../etc/passwd"; name=evil.rtf\r\nX-Injected: 1', "application/rtf", None),
        ("Cardiology consultation.pdf", "application/pdf", "Cardiology consultation.pdf"),
        ("Résumé", "text/plain", "Resume.txt"),
        (None, "image/png", "doc-1.png"),
        ("", "application/x-unknown", "doc-1"),
    ],
)
def test_download_names_are_safe(title, essence, expected) -> None:
    name = download_name(title, MediaType(essence), "doc-1")
    if expected is not None:
        assert name == expected
    assert name
    assert len(name) <= 90
    assert not set(name) & set('"\\/\r\n;:'), name
    assert not name.startswith(".")


def test_the_most_readable_attachment_is_preferred() -> None:
    pdf = AttachmentRef(0, "application/pdf", url="Binary/1")
    html = AttachmentRef(1, "text/html", data="PHA+aGk8L3A+")
    empty = AttachmentRef(2, "text/plain")  # neither data nor url
    assert preferred((pdf, html, empty)) == html
    assert preferred((empty,)) is None


@pytest.mark.parametrize(
    "charset", ["rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri", "undefined", "idna",
                "punycode", "a\0b", "utf-16", ""],
)  # fmt: skip
def test_any_charset_name_decodes_without_raising(charset: str) -> None:
    shown = decode_text("Café".encode(), MediaType("text/plain", charset or None))
    assert isinstance(shown.text, str)
    assert shown.text


def test_a_content_type_that_is_not_text_is_a_download() -> None:
    for value in (42, ["text/html"], {"a": 1}, None):
        assert MediaType.parse(value).kind == Kind.DOWNLOAD
