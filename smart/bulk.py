"""FHIR Bulk Data Access (IG v2.0.0, "export.html"), the client's side, with no I/O.

- Kick-off (`$export` at system, Patient or Group level): `kickoff_url` builds the request
  URL with `_outputFormat=application/fhir+ndjson`, `_type` and `_since`; the caller sends
  `Accept: application/fhir+json` and `Prefer: respond-async` (`KICKOFF_HEADERS`).
- Status: `read_status` turns the status endpoint's answer into `InProgress` (202, with the
  server's `X-Progress` and `Retry-After`), `Complete` (200 and a manifest) or `Failed`
  (4xx/5xx, with the OperationOutcome's words; 5xx and 429 are transient, a 404 or 410 an
  expired or deleted job).
- The manifest (`Manifest.parse`): `transactionTime`, `request`, `requiresAccessToken`,
  `output[]` and `error[]`, checked once; an output URL that is not absolute http(s) makes
  the manifest invalid rather than a request to somewhere odd.
- `Retry-After` (RFC 9110 10.2.3): delay-seconds or an HTTP-date, capped by the caller.
- NDJSON lines (`parse_line`): one JSON object per line; anything else is `MalformedLine`
  with its line number, so a loader records and skips it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urlsplit

NDJSON = "application/fhir+ndjson"
KICKOFF_HEADERS = {"Accept": "application/fhir+json", "Prefer": "respond-async"}
# The types the canonical store keeps (smartapp.warehouse), asked for with `_type`.
CANONICAL_TYPES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",
    "AllergyIntolerance",
    "Immunization",
    "Encounter",
    "DiagnosticReport",
    "DocumentReference",
)
# Not in the Patient compartment: Patient- and Group-level exports do not return them, and
# servers may refuse them in `_type` there (export.html, "Query Parameters").
OUTSIDE_COMPARTMENT = frozenset({"Medication"})
PROGRESS_LIMIT = 100  # characters of X-Progress kept (the IG: "a brief indication")


class ExportLevel(StrEnum):
    SYSTEM = "system"
    PATIENT = "patient"
    GROUP = "group"


class ManifestInvalid(ValueError):
    """A completion answer that is not a usable manifest."""


def default_types(level: ExportLevel) -> tuple[str, ...]:
    """What a job asks for when the operator names no types."""
    if level is ExportLevel.SYSTEM:
        return CANONICAL_TYPES
    return tuple(rtype for rtype in CANONICAL_TYPES if rtype not in OUTSIDE_COMPARTMENT)


def kickoff_url(
    base: str,
    level: ExportLevel,
    *,
    group_id: str | None = None,
    types: Sequence[str] = (),
    since: datetime | None = None,
) -> str:
    """The kick-off request URL (export.html "Query Parameters")."""
    root = base.rstrip("/")
    if level is ExportLevel.GROUP:
        if not group_id:
            raise ValueError("a Group-level export needs a group id")
        path = f"{root}/Group/{group_id}/$export"
    elif level is ExportLevel.PATIENT:
        path = f"{root}/Patient/$export"
    else:
        path = f"{root}/$export"
    params = [("_outputFormat", NDJSON)]
    if types:
        params.append(("_type", ",".join(types)))
    if since is not None:
        params.append(("_since", instant(since)))
    return f"{path}?{urlencode(params)}"


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC with a `Z` (what `_since` and `_lastUpdated` take)."""
    if moment.tzinfo is None:
        raise ValueError("an instant needs a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def retry_after_s(value: str | None, *, now: datetime, default: float, cap: float) -> float:
    """RFC 9110 10.2.3 Retry-After as seconds from `now`, within [0, cap]; `default` when
    absent or unreadable."""
    if value is None or not value.strip():
        return min(default, cap)
    text = value.strip()
    seconds: float
    if text.isascii() and text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return min(default, cap)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if math.isnan(seconds):
        return min(default, cap)
    return max(0.0, min(seconds, cap))


@dataclass(frozen=True)
class OutputFile:
    type: str
    url: str
    count: int | None = None


@dataclass(frozen=True)
class Manifest:
    transaction_time: datetime
    request: str
    requires_access_token: bool
    output: tuple[OutputFile, ...]
    error: tuple[OutputFile, ...]

    @classmethod
    def parse(cls, body: Any) -> Manifest:
        if not isinstance(body, Mapping):
            raise ManifestInvalid("the manifest is not a JSON object")
        moment = parse_instant(body.get("transactionTime"))
        if moment is None:
            raise ManifestInvalid("the manifest has no valid transactionTime")
        requires = body.get("requiresAccessToken")
        if not isinstance(requires, bool):
            raise ManifestInvalid("requiresAccessToken must be true or false")
        request = body.get("request")
        return cls(
            transaction_time=moment,
            request=request if isinstance(request, str) else "",
            requires_access_token=requires,
            output=_files(body.get("output"), "output"),
            error=_files(body.get("error", []), "error"),
        )


def _files(value: Any, name: str) -> tuple[OutputFile, ...]:
    if not isinstance(value, list):
        raise ManifestInvalid(f"{name} must be a list")
    files = []
    for item in value:
        if not isinstance(item, Mapping):
            raise ManifestInvalid(f"an {name} entry is not an object")
        rtype, url, count = item.get("type"), item.get("url"), item.get("count")
        if not isinstance(rtype, str) or not rtype.isalpha():
            raise ManifestInvalid(f"an {name} entry has no resource type")
        if not isinstance(url, str) or not _absolute_http(url):
            raise ManifestInvalid(f"an {name} entry's url is not an absolute http(s) URL")
        known = count if isinstance(count, int) and not isinstance(count, bool) else None
        files.append(OutputFile(rtype, url, known if known is None or known >= 0 else None))
    return tuple(files)


def _absolute_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def parse_instant(value: Any) -> datetime | None:
    """A FHIR instant (with a time zone), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# --- the status endpoint -------------------------------------------------------------------


class StatusKind(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusAnswer:
    kind: StatusKind
    progress: str = ""
    retry_after_s: float | None = None
    manifest: Manifest | None = None
    status: int = 0
    detail: str = ""
    transient: bool = False
    gone: bool = False


def read_status(
    status: int, headers: Mapping[str, str], body: bytes, *, now: datetime, cap_s: float
) -> StatusAnswer:
    """export.html "Bulk Data Status Request": 202 in progress, 200 complete, else error."""
    if status == 202:
        progress = (headers.get("x-progress") or "").strip()[:PROGRESS_LIMIT]
        wait = retry_after_s(headers.get("retry-after"), now=now, default=-1, cap=cap_s)
        return StatusAnswer(
            StatusKind.IN_PROGRESS,
            progress=progress,
            retry_after_s=None if wait < 0 else wait,
        )
    if status == 200:
        try:
            manifest = Manifest.parse(json.loads(body))
        except (ValueError, RecursionError) as exc:
            return StatusAnswer(StatusKind.FAILED, status=status, detail=str(exc)[:200])
        return StatusAnswer(StatusKind.COMPLETE, manifest=manifest, status=status)
    wait = retry_after_s(headers.get("retry-after"), now=now, default=-1, cap=cap_s)
    return StatusAnswer(
        StatusKind.FAILED,
        status=status,
        detail=outcome_text(body),
        retry_after_s=None if wait < 0 else wait,
        transient=status >= 500 or status == 429,
        gone=status in (404, 410),
    )


def outcome_text(body: bytes, limit: int = 200) -> str:
    """The diagnostics or details text of an OperationOutcome, shortened; "" if none."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(data, Mapping) or data.get("resourceType") != "OperationOutcome":
        return ""
    issues = data.get("issue")
    words = []
    for issue in issues if isinstance(issues, list) else []:
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = issue.get("diagnostics") or (
            details.get("text") if isinstance(details, Mapping) else None
        )
        if isinstance(text, str):
            words.append(" ".join(text.split()))
    return "; ".join(words)[:limit]


# --- NDJSON ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MalformedLine:
    line: int
    reason: str


def parse_line(raw: bytes, number: int) -> dict[str, Any] | MalformedLine | None:
    """One NDJSON line: a resource, MalformedLine, or None for a blank line."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return MalformedLine(number, "not valid JSON")
    if not isinstance(value, dict):
        return MalformedLine(number, "not a JSON object")
    if not isinstance(value.get("resourceType"), str):
        return MalformedLine(number, "no resourceType")
    return value
