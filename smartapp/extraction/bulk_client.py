"""The HTTP side of a Bulk Data export: kick-off, status, delete, and streamed file reads.

The protocol's rules are `smart.bulk`; this module sends the requests over the shared FHIR
client (`smartapp.outbound`: timeouts, URL policies, pooled connections) and turns answers
into `smart.bulk` values or `ExtractionError`s.

Where requests go: the status URL and every file URL must be on the FHIR base's own
origin (`smart.url_policy.is_same_origin_url`), or they are refused and never requested. A
token goes with a file only when the manifest says `requiresAccessToken: true`; otherwise
no Authorization header at all. Files the manifest says need no token are held to the same
origin rule: the IG allows them elsewhere (signed storage URLs), but a manifest is the EHR's
word, and following it anywhere would let a compromised or confused EHR point the workers at
internal addresses (server-side request forgery) whose answers end up in the store.

Files are read as a stream of lines, each capped at `max_line_bytes`, so a file of any size
takes the same memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from smart import bulk
from smart.url_policy import is_same_origin_url
from smartapp import outbound
from smartapp.clock import clock

STATUS_MAX_BYTES = 4 * 1024 * 1024  # a manifest lists files; thousands fit in far less
RETRY_AFTER_CAP_S = 300.0


class ExtractionError(Exception):
    """Something the job records as its error code and a short detail (no PHI, no token)."""

    code = "extraction_error"
    transient = False

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail[:300]
        self.retry_after_s = retry_after_s


class ExportUnsupported(ExtractionError):
    code = "export_unsupported"


class Throttled(ExtractionError):
    code = "throttled"
    transient = True


class EhrTransient(ExtractionError):
    code = "ehr_unavailable"
    transient = True


class Unauthorized(ExtractionError):
    code = "unauthorized"
    transient = True  # once: the token is renewed and the request sent again


class ExportRefused(ExtractionError):
    code = "export_refused"


class ForeignUrl(ExtractionError):
    code = "foreign_url"


@dataclass(frozen=True)
class Line:
    number: int
    raw: bytes
    too_long: bool = False


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _own(url: str, iss: str, what: str) -> None:
    if not is_same_origin_url(url, [iss]):
        raise ForeignUrl(f"the {what} URL is not on the FHIR server's origin; not requested")


def classify(response: outbound.Response, what: str) -> ExtractionError:
    status = response.status_code
    words = bulk.outcome_text(response.content)
    detail = f"{what} answered {status}" + (f": {words}" if words else "")
    wait = bulk.retry_after_s(
        response.headers.get("retry-after"), now=clock().now(), default=-1, cap=RETRY_AFTER_CAP_S
    )
    retry = None if wait < 0 else wait
    if status == 401:
        return Unauthorized(detail)
    if status == 429:
        return Throttled(detail, retry_after_s=retry)
    if status >= 500:
        return EhrTransient(detail, retry_after_s=retry)
    return ExportRefused(detail)


def _send(method: str, url: str, headers: dict[str, str], max_bytes: int) -> outbound.Response:
    timeouts = outbound.client(outbound.Purpose.FHIR).timeout
    limit = (timeouts.read or 30.0) * 3
    try:
        return outbound.send_capped(
            outbound.Purpose.FHIR, method, url, headers=headers, max_bytes=max_bytes,
            max_seconds=limit,
        )  # fmt: skip
    except outbound.HTTPError as exc:
        raise EhrTransient(f"{method} {type(exc).__name__}") from exc


def kick_off(url: str, iss: str, token: str) -> str:
    """Send the kick-off request; the status URL from `Content-Location` (export.html)."""
    _own(url, iss, "kick-off")
    response = _send("GET", url, {**bulk.KICKOFF_HEADERS, **_auth(token)}, STATUS_MAX_BYTES)
    if response.status_code == 202:
        location = response.headers.get("content-location", "").strip()
        if not location:
            raise ExportRefused("the kick-off answered 202 without Content-Location")
        status_url: str = urljoin(url, location)
        _own(status_url, iss, "status")
        return status_url
    if response.status_code in (404, 405, 501):
        raise ExportUnsupported(classify(response, "kick-off").detail)
    raise classify(response, "kick-off")


def status(url: str, iss: str, token: str | None) -> bulk.StatusAnswer:
    """One status request (export.html "Bulk Data Status Request")."""
    _own(url, iss, "status")
    response = _send("GET", url, {"Accept": "application/json", **_auth(token)}, STATUS_MAX_BYTES)
    if response.status_code == 401:
        raise Unauthorized("status answered 401")
    return bulk.read_status(
        response.status_code,
        response.headers,
        response.content,
        now=clock().now(),
        cap_s=RETRY_AFTER_CAP_S,
    )


def delete(url: str, iss: str, token: str | None) -> bool:
    """Ask the server to delete the job and its files ("Bulk Data Delete Request")."""
    _own(url, iss, "status")
    try:
        response = _send("DELETE", url, _auth(token), STATUS_MAX_BYTES)
    except ExtractionError:
        return False
    return response.status_code in (200, 202, 204, 404)


def lines(
    url: str,
    iss: str,
    token: str | None,
    *,
    max_line_bytes: int,
    read_timeout_s: float,
) -> Iterator[Line]:
    """The file's lines as they arrive; a line over `max_line_bytes` comes back empty and
    `too_long` (its number kept, so the loader records it as malformed). Raises EhrTransient
    if the body ends short of its Content-Length or the connection breaks: the caller retries
    the whole file (loading is idempotent)."""
    _own(url, iss, "file")
    headers = {"Accept": bulk.NDJSON, **_auth(token)}
    timeout = outbound.Timeout(read_timeout_s, connect=read_timeout_s)
    try:
        with outbound.client(outbound.Purpose.FHIR).stream(
            "GET", url, headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                raise classify(response, "file download")
            yield from _split(response.iter_bytes(), max_line_bytes)
    except outbound.HTTPError as exc:
        raise EhrTransient(f"file download: {type(exc).__name__}") from exc


def _split(chunks: Iterator[bytes], max_line_bytes: int) -> Iterator[Line]:
    pending, number, oversize = bytearray(), 0, False
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            number += 1
            if not oversize and len(pending) + end - start <= max_line_bytes:
                pending += chunk[start:end]
                yield Line(number, bytes(pending))
            else:
                yield Line(number, b"", too_long=True)
            pending.clear()
            oversize, start = False, end + 1
        if not oversize:
            pending += chunk[start:]
            if len(pending) > max_line_bytes:
                pending.clear()
                oversize = True
    if pending or oversize:
        yield Line(number + 1, bytes(pending), too_long=oversize)
