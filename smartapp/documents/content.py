"""A document's content: what a FHIR Attachment holds and how the app may show it (pure).

FHIR R4 Attachment (datatypes.html#Attachment): `contentType` is a MIME type (with the
character set for text), `data` the content in base64, `url` where the content can be found
instead, `size` the number of bytes of the content before base64, `hash` the base64 of its
SHA-1, `title` a label or file name. Everything the EHR says is an input to check:

- `data` is decoded strictly (an alphabet or padding error is a problem shown, not a guess);
- `size` and `hash`, when given, are compared with what arrived: a mismatch is a finding the
  page shows above the document, never hidden;
- text is decoded with the charset `contentType` names (UTF-8 when it names none; bytes that
  are not in that charset are shown as U+FFFD and the page says so);
- the way a document is shown follows from its media type (`Kind`): text, HTML (sanitised,
  smartapp/documents/sanitise.py), PDF and images in the browser's own viewer, anything else
  (SVG included: it can carry script) only as a download under a sanitised name.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"  # shown as text in the page
    HTML = "html"  # sanitised, shown in the page
    PDF = "pdf"  # served from the app's origin to the browser's PDF viewer
    IMAGE = "image"  # served from the app's origin, shown as an image
    DOWNLOAD = "download"  # offered as a download only


HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# The file name extension a download gets when its title has none.
EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "application/xhtml+xml": ".xhtml",
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/rtf": ".rtf",
    "text/rtf": ".rtf",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "application/msword": ".doc",
}
_TOKEN = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
FALLBACK_TYPE = "application/octet-stream"


class ContentProblem(ValueError):
    """The content cannot be shown; `str(error)` is a sentence for the page (user-safe)."""


class NotABinary(ContentProblem):
    """An attachment URL within the FHIR base that is not a Binary read: never requested."""

    def __str__(self) -> str:
        return (
            "The EHR pointed this document at something other than its content (not a "
            "Binary), so the app did not fetch it. Open it in the EHR."
        )


@dataclass(frozen=True)
class MediaType:
    """A parsed `contentType`: the essence ("text/plain", lower case) and its charset."""

    essence: str
    charset: str | None = None

    @classmethod
    def parse(cls, value: object) -> MediaType:
        """`text/plain; charset=ISO-8859-1` -> ("text/plain", "iso-8859-1"); anything that is
        not a media type (or not text at all) is `application/octet-stream` (a download)."""
        head, *params = (value if isinstance(value, str) else "").split(";")
        essence = head.strip().lower()
        if not _TOKEN.match(essence):
            return cls(FALLBACK_TYPE)
        charset = None
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "charset":
                charset = raw.strip().strip('"').lower() or None
        return cls(essence, charset)

    @property
    def kind(self) -> Kind:
        if self.essence == "text/plain":
            return Kind.TEXT
        if self.essence in HTML_TYPES:
            return Kind.HTML
        if self.essence == "application/pdf":
            return Kind.PDF
        if self.essence in IMAGE_TYPES:
            return Kind.IMAGE
        return Kind.DOWNLOAD


@dataclass(frozen=True)
class AttachmentRef:
    """What a resource says about one attachment (DocumentReference.content[n].attachment or
    DiagnosticReport.presentedForm[n]), before any of it is fetched."""

    index: int
    content_type: str | None
    title: str | None = None
    data: str | None = None  # base64, as sent
    url: str | None = None
    size: int | None = None
    hash: str | None = None
    language: str | None = None

    @property
    def media(self) -> MediaType:
        return MediaType.parse(self.content_type)

    @property
    def kind(self) -> Kind:
        return self.media.kind


# The order in which a page prefers the attachments of one document (a note sent as HTML and
# as PDF is read as HTML): what can be read in the page first.
PREFERENCE = (Kind.HTML, Kind.TEXT, Kind.PDF, Kind.IMAGE, Kind.DOWNLOAD)


def preferred(attachments: tuple[AttachmentRef, ...]) -> AttachmentRef | None:
    """The attachment to show first: inline or linked, the most readable kind."""
    usable = [a for a in attachments if a.data is not None or a.url]
    return min(usable, key=lambda a: PREFERENCE.index(a.kind), default=None)


def decode_data(data: str) -> bytes:
    """`Attachment.data` (base64Binary), strictly: whitespace is allowed (FHIR's XML form
    wraps long values), any other character outside the alphabet or bad padding is not."""
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ContentProblem(
            "The EHR sent this document in a damaged form (its base64 encoding is not valid), "
            "so the app cannot show it."
        ) from exc


def sha1_base64(body: bytes) -> str:
    """FHIR's `Attachment.hash`: the base64 of the SHA-1 of the content (an integrity check
    FHIR chose; not used here for anything that needs collision resistance)."""
    return base64.b64encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode()


def integrity_findings(body: bytes, ref: AttachmentRef) -> tuple[str, ...]:
    """What does not match between the content and the EHR's `size` and `hash`: sentences
    the page shows above the document (empty when they match or were not given)."""
    findings = []
    if ref.size is not None and ref.size != len(body):
        findings.append(
            f"The EHR recorded this document as {ref.size} bytes, but {len(body)} bytes "
            "arrived: it may be incomplete or not the version that was recorded."
        )
    if ref.hash and "".join(ref.hash.split()) != sha1_base64(body):
        findings.append(
            "This document's fingerprint (SHA-1) does not match the one the EHR recorded: it "
            "may have been changed or damaged since it was written. Check it against the EHR "
            "before relying on it."
        )
    return tuple(findings)


@dataclass(frozen=True)
class DecodedText:
    text: str
    note: str | None = None  # a sentence for the page when the decoding was not clean


# Codecs Python knows that are not character sets a document can be written in.
NOT_CHARSETS = frozenset({"undefined", "idna", "punycode"})
BAD_BYTES = (
    "Some characters of this document were not in the character set the EHR named and are "
    "shown as \ufffd."
)


def _charset(name: str | None) -> str:
    """A text encoding Python can decode with, for the charset named; UTF-8 for none, for an
    unknown one and for codecs that are not text encodings (base64, rot13, zlib...)."""
    try:
        info = codecs.lookup(name or "utf-8")
    except (LookupError, ValueError):
        return "utf-8"
    text_encoding = getattr(info, "_is_text_encoding", True)
    return info.name if text_encoding and info.name not in NOT_CHARSETS else "utf-8"


def decode_text(body: bytes, media: MediaType) -> DecodedText:
    """The content as text, in the charset its media type names (UTF-8 when none is named;
    a byte-order mark wins, as HTML and RFC 2046 readers do)."""
    charset = _charset(media.charset)
    if body.startswith(codecs.BOM_UTF8):
        charset, body = "utf-8", body[len(codecs.BOM_UTF8) :]
    try:
        return DecodedText(body.decode(charset))
    except (UnicodeError, LookupError, ValueError):
        pass
    try:
        return DecodedText(body.decode(charset, errors="replace"), BAD_BYTES)
    except (UnicodeError, LookupError, ValueError):
        return DecodedText(body.decode("utf-8", errors="replace"), BAD_BYTES)


def _ascii_name(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    safe = re.sub(r"[^A-Za-z0-9._ -]+", "_", folded)
    return re.sub(r"[ _]{2,}", "_", safe).strip(" ._-")


def download_name(title: str | None, media: MediaType, fallback: str) -> str:
    """A file name safe in a `Content-Disposition` header and on any file system: the last
    path segment of the title, ASCII letters, digits, `._ -` only (no quotes, separators or
    control characters), at most 80 characters, with an extension for the media type."""
    last = re.split(r"[\\/]", title or "")[-1]
    name = _ascii_name(last)[:80] or _ascii_name(fallback)[:80] or "document"
    extension = EXTENSIONS.get(media.essence, "")
    if extension and not name.lower().endswith(extension):
        name = f"{name}{extension}"
    return name
