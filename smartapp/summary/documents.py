"""Recent notes and documents: DocumentReference (US Core clinical notes) and DiagnosticReport
with `presentedForm` (the report as written), newest first (pure).

Left out: documents `entered-in-error`, `superseded` ones, and those another document
`replaces` (DocumentReference.relatesTo, code `replaces`: the EHR may leave the old one
`current`); reports `entered-in-error` or `cancelled`; anything with no content to read.
"""

from __future__ import annotations

from collections.abc import Iterable

from smart.fhir_ids import is_fhir_id
from smartapp.documents.content import AttachmentRef, Kind
from smartapp.summary.codes import FhirModel, concept, entered_in_error, first_date
from smartapp.summary.contract import DocumentItem
from smartapp.summary.presentation import date_text, sort_key

HIDDEN_REFERENCE_STATUS = ("entered-in-error", "superseded")
HIDDEN_REPORT_STATUS = ("entered-in-error", "cancelled")
DOCUMENT_TYPES = ("DocumentReference", "DiagnosticReport")
FORMAT_LABELS = {
    Kind.TEXT: "text",
    Kind.HTML: "HTML",
    Kind.PDF: "PDF",
    Kind.IMAGE: "image",
    Kind.DOWNLOAD: "file",
}


def _attachment(index: int, raw: FhirModel) -> AttachmentRef:
    size = raw.size if isinstance(raw.size, int) and not isinstance(raw.size, bool) else None
    return AttachmentRef(
        index,
        raw.contentType,
        raw.title,
        raw.data,
        raw.url,
        size,
        raw.hash,
        raw.language,
    )


def attachments(resource: FhirModel) -> tuple[AttachmentRef, ...]:
    """The attachments of a DocumentReference (`content[n].attachment`) or a DiagnosticReport
    (`presentedForm[n]`), indexed as the resource lists them."""
    if resource.resource_type == "DocumentReference":
        raws = [item.attachment for item in resource.content or []]
    else:
        raws = list(getattr(resource, "presentedForm", None) or [])
    return tuple(_attachment(index, raw) for index, raw in enumerate(raws) if raw is not None)


def _target_id(reference: str | None) -> str | None:
    """The id a `relatesTo.target` names, relative or absolute (`.../DocumentReference/id`)."""
    parts = (reference or "").rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "DocumentReference":
        return parts[-1]
    return None


def replaced_ids(references: Iterable[FhirModel]) -> frozenset[str]:
    """Ids of the documents that a shown document says it replaces."""
    replaced = set()
    for resource in references:
        if resource.status in HIDDEN_REFERENCE_STATUS:
            continue
        for relation in resource.relatesTo or []:
            target = getattr(relation.target, "reference", None)
            if relation.code == "replaces" and (found := _target_id(target)):
                replaced.add(found)
    return frozenset(replaced)


def _author(resource: FhirModel) -> str | None:
    people = (
        resource.author
        if resource.resource_type == "DocumentReference"
        else (resource.resultsInterpreter or resource.performer)
    )
    names = [str(person.display) for person in people or [] if person.display]
    return ", ".join(names) or None


def _categories(resource: FhirModel) -> tuple[str, ...]:
    return tuple(dict.fromkeys(concept(item).label for item in resource.category or []))


def document_item(resource: FhirModel) -> tuple[str, DocumentItem]:
    """One document as listed, with its sort key (its date at any precision)."""
    is_note = resource.resource_type == "DocumentReference"
    kind = resource.type if is_note else resource.code
    found = attachments(resource)
    when = (
        first_date(resource, "date", "context.period.start")
        if is_note
        else first_date(resource, "effectiveDateTime", "effectivePeriod.start", "issued")
    )
    titles = [a.title for a in found if a.title]
    title = (
        (resource.description if is_note else None)
        or (concept(kind).label if kind is not None else None)
        or (titles[0] if titles else "Document")
    )
    status = (resource.docStatus if is_note else None) or resource.status
    item = DocumentItem(
        resource.resource_type,
        str(resource.id),
        concept(kind),
        str(title),
        date_text(when),
        _author(resource),
        str(status),
        _categories(resource),
        tuple(dict.fromkeys(FORMAT_LABELS[a.kind] for a in found)),
    )
    return sort_key(when), item


def shown(resource: FhirModel, replaced: frozenset[str] = frozenset()) -> bool:
    """Whether a document belongs in the list (and may be opened from it)."""
    # An id outside FHIR's grammar cannot be linked to (nor read back): left out.
    if not is_fhir_id(resource.id) or entered_in_error(resource) or not attachments(resource):
        return False
    if resource.resource_type == "DocumentReference":
        return resource.status not in HIDDEN_REFERENCE_STATUS and resource.id not in replaced
    return resource.status not in HIDDEN_REPORT_STATUS


def recent_documents(
    references: Iterable[FhirModel], reports: Iterable[FhirModel]
) -> tuple[DocumentItem, ...]:
    """Every note and report with content, newest first (the card shows the first ten)."""
    references = list(references)
    replaced = replaced_ids(references)
    rows = [
        document_item(resource) for resource in (*references, *reports) if shown(resource, replaced)
    ]
    rows.sort(key=lambda row: row[0], reverse=True)
    return tuple(item for _, item in rows)
