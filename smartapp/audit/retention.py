"""Retention of the PHI access trail: archive, then delete, whole prefixes of the chain.

Rows older than settings.AUDIT_RETENTION_DAYS leave the table only as a prefix of the live
chain (never a hole): up to the row before the first one still within the period, since
`at` is when an access opened and `seq` when it closed. Each run of at most SEGMENT_ROWS rows
is written as NDJSON AuditEvents (smartapp.audit.auditevent, with each row's chain link) to
AUDIT_ARCHIVE_DIR and fsynced; only then, in one transaction, an `AuditSegment` recording the
file's SHA-256 and the chain's hash at its end is inserted and the rows are deleted. The
database accepts the delete only for rows a segment covers, and the segment only if it
continues the previous one and its end hash is its last row's (migration 0007).

A crash between the file and the transaction leaves a file and no segment; the next run
writes the same file again. Two runs at once: the second finds the segment already there and
stops.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from smartapp.audit.auditevent import to_auditevent
from smartapp.audit.chain import lock_head
from smartapp.audit.records import AccessRecord, AuditSegment

log = logging.getLogger(__name__)

SEGMENT_ROWS = 50_000


def _archived_upto() -> int:
    return AuditSegment.objects.aggregate(upto=Max("upto_seq"))["upto"] or 0


def _due_upto(cutoff: datetime) -> int:
    """The last seq of the longest live prefix whose rows all opened before `cutoff`."""
    live = AccessRecord.objects.filter(seq__gt=_archived_upto())
    first_kept = live.filter(at__gte=cutoff).aggregate(seq=Min("seq"))["seq"]
    if first_kept is not None:
        return int(first_kept) - 1
    return int(live.aggregate(seq=Max("seq"))["seq"] or 0)


def _write(path: Path, rows: list[AccessRecord]) -> str:
    """Write the rows as NDJSON to `path` durably (temp file, fsync, rename, fsync the
    directory); return the file's SHA-256."""
    digest = hashlib.sha256()
    temporary = path.with_suffix(".partial")
    with temporary.open("wb") as out:
        for row in rows:
            line = json.dumps(to_auditevent(row), separators=(",", ":")).encode() + b"\n"
            digest.update(line)
            out.write(line)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return digest.hexdigest()


def _archive_one(first: int, upto: int, now: datetime) -> int:
    """Archive rows first..upto as one segment; the number of rows deleted (0 if another
    run got there first)."""
    rows = list(AccessRecord.objects.filter(seq__gte=first, seq__lte=upto).order_by("seq"))
    if not rows and _archived_upto() >= first:
        return 0  # another run archived them meanwhile
    if not rows or rows[0].seq != first or rows[-1].seq != upto or len(rows) != upto - first + 1:
        raise RuntimeError(f"audit rows {first}..{upto} are not contiguous; run audit_verify")
    directory = Path(settings.AUDIT_ARCHIVE_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"audit-{first:012d}-{upto:012d}.ndjson"
    file_sha256 = _write(directory / name, rows)
    with transaction.atomic():
        lock_head()  # one retention run at a time, and no append half-way through
        if _archived_upto() != first - 1:
            return 0
        AuditSegment.objects.create(
            first_seq=first,
            upto_seq=upto,
            end_hash=rows[-1].hash,
            file_name=name,
            file_sha256=file_sha256,
            created=now,
        )
        deleted, _ = AccessRecord.objects.filter(seq__gte=first, seq__lte=upto).delete()
    log.info("audit segment archived", extra={"first_seq": first, "upto_seq": upto})
    return deleted


def archive_and_delete(now: datetime | None = None) -> dict[str, int]:
    """Archive and delete every row past the retention period, in segments of at most
    SEGMENT_ROWS. Returns how many segments and rows, and up to which seq."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    due = _due_upto(cutoff)
    segments = rows = 0
    while (first := _archived_upto() + 1) <= due:
        upto = min(due, first + SEGMENT_ROWS - 1)
        deleted = _archive_one(first, upto, now)
        if not deleted:
            break
        segments, rows = segments + 1, rows + deleted
    return {"segments": segments, "rows": rows, "archived_upto": _archived_upto()}
