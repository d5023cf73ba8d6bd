"""A clinical note or report, read through the app (docs/documents.md).

`/l/<handle>/documents/<type>/<id>` shows one document with the patient line: text and
sanitised HTML in the page itself, a PDF or an image from the app's own origin
(`.../<n>/content`, served under a sandboxing Content-Security-Policy to the browser's own
viewer), anything else as a download under a sanitised name. Nothing on either page points at
the EHR: the content is fetched server-side with the launch's token and the browser only ever
talks to the app. Each opening is a PHI access record.
"""

from __future__ import annotations

import re

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.common import launch_for, patient_demographics
from smart.errors import DocumentNotFound
from smartapp import audit
from smartapp.documents.content import Kind
from smartapp.documents.service import OpenedDocument, open_document
from smartapp.middleware import framing_csp

SERVED = (Kind.PDF, Kind.IMAGE, Kind.DOWNLOAD)
# What the browser's viewer may do with content from an EHR: nothing but show it. `sandbox`
# gives the response an opaque origin with scripts, forms, popups and plugins off.
CONTENT_CSP = (
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


def _attachment_index(request: HttpRequest) -> int | None:
    raw = request.GET.get("attachment", "")
    return int(raw) if re.fullmatch(r"[0-9]{1,3}", raw) else None


@never_cache
@require_GET
def document(request: HttpRequest, handle: str, rtype: str, rid: str) -> HttpResponse:
    launch = launch_for(request, handle)
    if not launch.patient_id:
        return HttpResponseRedirect(reverse("portal:patient-search", args=[handle]))
    with audit.accessed(request, launch, "document"):
        try:
            opened = open_document(launch, rtype, rid, _attachment_index(request))
        except DocumentNotFound as error:
            error.back_url = reverse("portal:summary", args=[handle])
            raise
        patient = patient_demographics(launch)
    return render(
        request,
        "portal/document.html",
        {
            "launch": launch,
            "patient": patient,
            "doc": opened,
            "served": opened.kind in SERVED and not opened.problem,
        },
    )


def _served(opened: OpenedDocument, request: HttpRequest) -> HttpResponse:
    """The content as a response the browser can only show or save, never run."""
    inline = opened.kind in (Kind.PDF, Kind.IMAGE)
    content_type = opened.media.essence if inline else "application/octet-stream"
    response = HttpResponse(opened.body, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{opened.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Referrer-Policy"] = "no-referrer"
    # Framed by the document page (this origin), which may itself be framed by the EHR.
    ancestors = " ".join(("'self'", *framing_csp(request).allowed))
    response["Content-Security-Policy"] = f"{CONTENT_CSP}; frame-ancestors {ancestors}"
    response.xframe_options_exempt = True
    return response


@never_cache
@require_GET
def document_content(
    request: HttpRequest, handle: str, rtype: str, rid: str, index: int
) -> HttpResponse:
    """A PDF, an image or a download, from the app's origin. Text and HTML are never served
    raw: they are only shown inside the document page (HTML sanitised)."""
    launch = launch_for(request, handle)
    if not launch.patient_id:
        raise Http404
    with audit.accessed(request, launch, "document-content"):
        opened = open_document(launch, rtype, rid, index)
    if opened.kind not in SERVED or opened.problem:
        raise Http404
    return _served(opened, request)
