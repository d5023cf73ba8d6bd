"""Opening one document for a launch: the resource, its content and what may be shown.

1. The DocumentReference or DiagnosticReport is read with the launch's session, within the
   drill-down budget. One that is not provably about the launch's patient, or that the list
   leaves out (entered in error, superseded, no content), is `DocumentNotFound`: a link from
   another launch or another patient opens nothing.
2. The attachment asked for (else the most readable one, `content.preferred`).
3. Its content: inline `data`, decoded strictly; or `url`, resolved against the FHIR base and
   fetched with the launch's token only when it lies within that base (`ForeignUrl`
   otherwise, and nothing is sent), with DOCUMENT_MAX_BYTES as its cap. A Binary answered as
   FHIR JSON is unwrapped; one answered as raw bytes is taken as it is.
4. `size` and `hash` are checked against what arrived (findings the page shows).
5. What the page shows: text decoded in its charset, HTML sanitised, or the bytes that the
   content view serves to the browser's viewer or as a download.

The content is cached encrypted for the launch's scope (smartapp/summary/cache.py), so the page
and the browser's request for the PDF or image it embeds ask the EHR once. Anything about the
content that prevents showing it is a `problem` sentence on the page, not an error page: the
clinician still sees which document it is and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from smart.errors import DocumentForbidden, DocumentNotFound, EhrUnavailable
from smart.fhir_ids import about_patient, is_fhir_id, patient_in_reference
from smart.url_policy import is_within_base
from smartapp.documents import sanitise
from smartapp.documents.content import (
    AttachmentRef,
    ContentProblem,
    Kind,
    MediaType,
    NotABinary,
    decode_data,
    decode_text,
    download_name,
    integrity_findings,
    preferred,
)
from smartapp.fhir.resources import parse
from smartapp.fhir.session import SmartSession
from smartapp.fhir.transport import (
    EhrTooSlow,
    FhirForbidden,
    FhirNotFound,
    FhirTooLarge,
    ForeignUrl,
)
from smartapp.models import Launch
from smartapp.summary import cache
from smartapp.summary import documents as listing
from smartapp.summary.contract import DocumentItem
from smartapp.summary.service import drilldown_session

TOO_LARGE = "This document is larger than the app opens ({limit} MB). Open it in the EHR."
FOREIGN = (
    "The EHR keeps this document on another server. The app sends your sign-in only to the "
    "EHR's own FHIR server, so it did not fetch it. Open it in the EHR."
)
UNREACHABLE = "The EHR could not send this document just now. Try again in a moment."
MISSING = "The EHR no longer has this document's content. Open it in the EHR."
REFUSED = (
    "The EHR did not allow this sign-in to read the document's content (it may need the "
    "Binary scope). Open it in the EHR."
)


@dataclass(frozen=True)
class OpenedDocument:
    item: DocumentItem
    attachments: tuple[AttachmentRef, ...]
    shown: AttachmentRef | None
    media: MediaType
    text: str | None = None  # Kind.TEXT
    html: str | None = None  # Kind.HTML, sanitised
    body: bytes = b""  # Kind.PDF, IMAGE, DOWNLOAD: served by the content view
    findings: tuple[str, ...] = ()  # size or hash mismatches, decoding notes
    problem: str | None = None  # why the content is not shown
    retry: bool = False  # the problem may pass (the EHR was slow or down)

    @property
    def kind(self) -> Kind:
        return self.media.kind

    @property
    def filename(self) -> str:
        title = self.shown.title if self.shown else None
        return download_name(title or self.item.title, self.media, self.item.id)


def _resource(session: SmartSession, launch: Launch, rtype: str, rid: str) -> object:
    try:
        raw = session.read(rtype, rid)
    except FhirNotFound as exc:
        raise DocumentNotFound(f"{rtype} not found").of_launch(launch) from exc
    except FhirForbidden as exc:
        raise DocumentForbidden(f"{rtype} forbidden").of_launch(launch) from exc
    model = parse(raw)
    if not about_patient(raw, launch.patient_id, session.base) or model is None:
        raise DocumentNotFound(f"{rtype} not about the launch's patient").of_launch(launch)
    if not listing.shown(model):
        raise DocumentNotFound(f"{rtype} is not listed (status)").of_launch(launch)
    return model


def _limit() -> int:
    return int(getattr(settings, "DOCUMENT_MAX_BYTES", 8 * 1024 * 1024))


def binary_url(base: str, url: str | None) -> str:
    """The attachment's URL as a Binary read within the FHIR base (`Binary/{id}`, relative or
    absolute, optionally `/_history/{vid}`, no query): the only URL the token is sent to for a
    document's content. Another origin is `ForeignUrl`; any other path under the base (a
    search, another resource, `_format=`) is `NotABinary`: an attachment must not turn the
    launch's token into a reader of anything else the grant allows."""
    resolved = urljoin(base.rstrip("/") + "/", url or "")
    if not is_within_base(resolved, base):
        raise ForeignUrl("an attachment URL outside the FHIR base; nothing was sent")
    parts = urlsplit(resolved)
    segments = parts.path[len(urlsplit(base).path.rstrip("/")) :].strip("/").split("/")
    plain = len(segments) == 2
    versioned = len(segments) == 4 and segments[2] == "_history" and is_fhir_id(segments[3])
    if (
        parts.query
        or parts.fragment
        or segments[0] != "Binary"
        or not (plain or versioned)
        or not is_fhir_id(segments[1])
    ):
        raise NotABinary("an attachment URL that is not a Binary read; nothing was sent")
    return resolved


def _from_url(session: SmartSession, ref: AttachmentRef) -> tuple[str | None, bytes]:
    """The content behind `ref.url`: its content type (the attachment's wins) and bytes. A
    Binary answered as JSON carries base64, a third more than the bytes: its cap allows it."""
    url = binary_url(session.base, ref.url)
    answer = session.read_content(url, max_bytes=_limit() * 4 // 3 + 64 * 1024)
    if not answer.is_fhir_json:
        return ref.content_type or answer.content_type, answer.body
    binary = answer.resource()
    if binary.get("resourceType") != "Binary" or not isinstance(binary.get("data"), str):
        raise ContentProblem("The EHR sent this document without its content.")
    context = binary.get("securityContext")
    named = patient_in_reference(
        context.get("reference") if isinstance(context, dict) else None, session.base
    )
    if named is not None and named != session.launch.patient_id:
        raise ContentProblem("The EHR says this content belongs to another patient's record.")
    declared = binary.get("contentType")
    content_type = ref.content_type or (declared if isinstance(declared, str) else None)
    return content_type, decode_data(binary["data"])


def _content(
    session: SmartSession, scope: str, key: str, ref: AttachmentRef
) -> tuple[str | None, bytes]:
    if ref.size is not None and ref.size > _limit():
        raise FhirTooLarge("declared size over the cap; not fetched")
    if (cached := cache.get_document(scope, key)) is not None:
        return cached
    if ref.data is not None:
        found: tuple[str | None, bytes] = (ref.content_type, decode_data(ref.data))
    else:
        found = _from_url(session, ref)
    if len(found[1]) > _limit():
        raise FhirTooLarge("content over the cap")
    cache.put_document(scope, key, *found)
    return found


def _shown(
    item: DocumentItem,
    refs: tuple[AttachmentRef, ...],
    ref: AttachmentRef,
    content_type: str | None,
    body: bytes,
) -> OpenedDocument:
    media = MediaType.parse(content_type)
    findings = integrity_findings(body, ref)
    if media.kind not in (Kind.TEXT, Kind.HTML):
        return OpenedDocument(item, refs, ref, media, body=body, findings=findings)
    decoded = decode_text(body, media)
    notes = (*findings, decoded.note) if decoded.note else findings
    if media.kind == Kind.TEXT:
        return OpenedDocument(item, refs, ref, media, text=decoded.text, findings=notes)
    html = sanitise.clean_html(decoded.text)
    return OpenedDocument(item, refs, ref, media, html=html, findings=notes)


def open_document(launch: Launch, rtype: str, rid: str, index: int | None = None) -> OpenedDocument:
    """The document `rtype/rid` of the launch's patient, with attachment `index` (else the
    preferred one) fetched, checked and made safe to show."""
    if rtype not in listing.DOCUMENT_TYPES:
        raise DocumentNotFound(f"{rtype} is not a document type").of_launch(launch)
    session = drilldown_session(launch)
    model = _resource(session, launch, rtype, rid)
    _, item = listing.document_item(model)
    refs = listing.attachments(model)
    ref = preferred(refs) if index is None else next((a for a in refs if a.index == index), None)
    if ref is None:
        raise DocumentNotFound("no such attachment").of_launch(launch)
    key = f"{rtype}/{rid}#{ref.index}"
    try:
        content_type, body = _content(session, cache.cache_scope(launch), key, ref)
    except ContentProblem as problem:
        return OpenedDocument(item, refs, ref, ref.media, problem=str(problem))
    except FhirTooLarge:
        limit = f"{_limit() / (1024 * 1024):g}"
        return OpenedDocument(item, refs, ref, ref.media, problem=TOO_LARGE.format(limit=limit))
    except ForeignUrl:
        return OpenedDocument(item, refs, ref, ref.media, problem=FOREIGN)
    except FhirNotFound:
        return OpenedDocument(item, refs, ref, ref.media, problem=MISSING)
    except FhirForbidden:
        return OpenedDocument(item, refs, ref, ref.media, problem=REFUSED)
    except (EhrTooSlow, EhrUnavailable):
        return OpenedDocument(item, refs, ref, ref.media, problem=UNREACHABLE, retry=True)
    return _shown(item, refs, ref, content_type, body)
