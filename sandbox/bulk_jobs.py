"""Bulk Data `$export` jobs: the kick-off's parameters and the jobs the sandbox holds.

FHIR Bulk Data Access 2.0 (https://hl7.org/fhir/uv/bulkdata/export.html), "Bulk Data
Kick-off Request": `Prefer: respond-async` is required; `_outputFormat` (NDJSON only here),
`_since` (an instant: only resources changed after it) and `_type` (a comma list) are the
parameters served; any other parameter is an error unless the client sent
`Prefer: handling=lenient`, when it is ignored (the spec lets a server do either, and says
which with `handling`). Parsing is pure (`parse_kickoff`); errors carry the HTTP status and
the OperationOutcome issue code (`ExportError`).

Jobs live in this process (the sandbox runs as one multi-threaded process), keyed by an
unguessable id (`secrets.token_urlsafe`), and expire JOB_TTL_S after kick-off. Each records
the client that started it: status, delete and file requests from another client are 404.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sandbox.fhir_search import PATIENT_REFERENCE, RESOURCE_TYPES, SearchError, parse_instant
from sandbox.site import SandboxSite

Level = Literal["system", "patient", "group"]

# sandbox.stats counters (keys in the comments), for tests and benchmarks.
EXPORT_KICKOFFS = "export_kickoffs"  # "<site key>"
EXPORT_STATUS = "export_status"  # "<job id>"
EXPORT_FILES = "export_files"  # "<job id> <file number> auth|noauth" (Authorization sent?)
EXPORT_DELETES = "export_deletes"  # "<job id>"

OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
KNOWN_PARAMETERS = ("_outputFormat", "_since", "_type")
# Types an export may name: every served type but Group (the cohort, not data).
EXPORTABLE = tuple(rtype for rtype in RESOURCE_TYPES if rtype != "Group")
# Exported when `_type` is absent: Binary only when asked for (documents' bytes are big).
DEFAULT_TYPES = tuple(rtype for rtype in EXPORTABLE if rtype != "Binary")
# Patient- and group-level exports cover the Patient compartment only (export.html,
# "Endpoint - All Patients").
COMPARTMENT_TYPES = ("Patient", *PATIENT_REFERENCE)
JOB_TTL_S = 3600


class ExportError(Exception):
    """A refused export request: HTTP status, OperationOutcome issue code, diagnostics."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class Kickoff:
    """A validated kick-off: the types to export and the `_since` instant, if any."""

    types: tuple[str, ...]
    since: datetime | None


def export_supported(site: SandboxSite) -> bool:
    """Whether this simulated EHR offers `$export` (the CapabilityStatement should list the
    `export` operation only then)."""
    return site.options.export != "unsupported"


def prefers(prefer: str) -> set[str]:
    """The preferences of a `Prefer` header (RFC 7240), lower-cased, spaces removed."""
    return {item.strip().lower().replace(" ", "") for item in prefer.split(",") if item.strip()}


def parse_kickoff(
    params: Sequence[tuple[str, str]], prefer: str, level: Level, readable: Sequence[str]
) -> Kickoff:
    """Validate a kick-off request; `readable` are the types the token may read."""
    preferences = prefers(prefer)
    if "respond-async" not in preferences:
        raise ExportError(400, "invalid", "$export needs the header Prefer: respond-async")
    unknown = sorted({name for name, _ in params if name not in KNOWN_PARAMETERS})
    if unknown and "handling=lenient" not in preferences:
        raise ExportError(400, "not-supported", f"unsupported $export parameters {unknown}")
    values: dict[str, list[str]] = {}
    for name, value in params:
        # A `+` a client forgot to percent-encode arrives as a space.
        values.setdefault(name, []).append(value.replace(" ", "+"))
    for name in ("_outputFormat", "_since"):
        if len(values.get(name, [])) > 1:
            raise ExportError(400, "invalid", f"{name} given more than once")
    output_format = values.get("_outputFormat", [OUTPUT_FORMATS[0]])[0]
    if output_format not in OUTPUT_FORMATS:
        raise ExportError(400, "not-supported", f"unsupported _outputFormat {output_format!r}")
    since = None
    if "_since" in values:
        try:
            since = parse_instant(values["_since"][0])
        except SearchError as exc:
            raise ExportError(400, "invalid", f"_since: {exc}") from exc
    return Kickoff(_types(values.get("_type"), level, readable), since)


def _types(asked: list[str] | None, level: Level, readable: Sequence[str]) -> tuple[str, ...]:
    allowed = EXPORTABLE if level == "system" else COMPARTMENT_TYPES
    if asked is None:
        default = DEFAULT_TYPES if level == "system" else COMPARTMENT_TYPES
        return tuple(rtype for rtype in default if rtype in readable)
    wanted = [rtype.strip() for value in asked for rtype in value.split(",") if rtype.strip()]
    for rtype in wanted:
        if rtype not in allowed:
            where = "this server" if level == "system" else "the Patient compartment"
            raise ExportError(400, "not-supported", f"_type: {rtype} is not in {where}")
        if rtype not in readable:
            raise ExportError(403, "forbidden", f"_type: the granted scopes do not cover {rtype}")
    return tuple(dict.fromkeys(wanted))


# --- jobs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """One NDJSON output file: its type, number (1-based, per job) and bytes."""

    resource_type: str
    number: int
    body: bytes
    count: int


@dataclass
class Job:
    client_id: str
    base: str  # the FHIR base of the site it was started on
    level: Level
    group: str | None
    types: tuple[str, ...]
    since: datetime | None
    request: str  # the kick-off URL, for the manifest
    transaction_time: str  # the kick-off instant: the manifest's transactionTime
    created: float
    files: list[ExportFile] = field(default_factory=list)
    id: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    polls: int = 0  # status polls answered 202 or 200 so far
    status_requests: int = 0  # every status poll, failed ones included
    downloads: Counter[int] = field(default_factory=Counter)  # by file number
    deleted: bool = False


_lock = threading.Lock()
_jobs: dict[str, Job] = {}


def add(job: Job) -> Job:
    with _lock:
        _jobs[job.id] = job
    return job


def find(job_id: str, base: str, now: float) -> Job | None:
    """A live job of this site; expired ones are dropped here (time is an input)."""
    with _lock:
        job = _jobs.get(job_id)
        if job is not None and now >= job.created + JOB_TTL_S:
            del _jobs[job_id]
            job = None
    if job is None or job.deleted or job.base != base:
        return None
    return job


def delete(job: Job) -> None:
    """Forget a job: its status and files are gone (export.html, "Bulk Data Delete")."""
    with _lock:
        job.deleted = True
        _jobs.pop(job.id, None)


def count_status_request(job: Job) -> int:
    with _lock:
        job.status_requests += 1
        return job.status_requests


def count_poll(job: Job) -> int:
    """Count an answered poll; returns the polls before this one."""
    with _lock:
        job.polls += 1
        return job.polls - 1


def count_download(job: Job, number: int) -> int:
    with _lock:
        job.downloads[number] += 1
        return job.downloads[number]
