"""The hash chain of the PHI access trail: its canonical form, appending, verifying.

Canonical form (what an auditor recomputes, in any language):

    fields = {
        "seq": <integer>,
        "at": <UTC time, "YYYY-MM-DDTHH:MM:SS.ffffffZ", always six fraction digits>,
        "actor": <string>, "connection": <string>,
        "launch_id": <UUID, lower-case hex with hyphens>,
        "patient_id": <string>, "what": <string>,
        "resource_types": [<strings, sorted>], "sections": [<strings, in the order shown>],
        "outcome": <string>, "request_id": <string>, "client_address": <string>,
    }
    canonical = JSON of `fields` with keys sorted, separators "," and ":" (no whitespace),
                non-ASCII characters as themselves, encoded UTF-8
                (Python: json.dumps(fields, sort_keys=True, separators=(",", ":"),
                 ensure_ascii=False).encode())
    hash = lower-case hex SHA-256 of (prev_hash as 64 ASCII hex characters + canonical)

The first row's `prev_hash` is 64 zeros; once rows are archived and deleted, the chain goes
on from the last segment's `end_hash`. A changed field changes the row's hash; a changed hash
breaks the next row's `prev_hash`; a deleted row leaves a gap in `seq`. What the chain cannot
show is the loss of the newest rows; the database triggers and the app role's grants prevent
that (docs/audit.md).

Writers serialise on `AuditHead` (UPDATE first, inside the transaction), so concurrent
appends from threads or processes each chain onto the row committed before them. This relies
on READ COMMITTED (Django's default on PostgreSQL): after the lock wait the next statement
sees the row the previous writer committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.db import connection, transaction

from smartapp.audit.records import ZERO_HASH, AccessRecord, AuditHead, AuditSegment


@dataclass(frozen=True)
class Entry:
    """One access, complete, before it has a place in the chain."""

    at: datetime
    actor: str
    connection: str
    launch_id: UUID
    patient_id: str
    what: str
    resource_types: tuple[str, ...]
    sections: tuple[str, ...]
    outcome: str
    request_id: str
    client_address: str


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fields_of(seq: int, entry: Entry | AccessRecord) -> dict[str, Any]:
    """The hashed fields of a row (the module docstring's `fields`)."""
    return {
        "seq": seq,
        "at": _instant(entry.at),
        "actor": entry.actor,
        "connection": entry.connection,
        "launch_id": str(entry.launch_id),
        "patient_id": entry.patient_id,
        "what": entry.what,
        "resource_types": sorted(entry.resource_types),
        "sections": list(entry.sections),
        "outcome": entry.outcome,
        "request_id": entry.request_id,
        "client_address": entry.client_address,
    }


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: str, fields: dict[str, Any]) -> str:
    """hash = SHA-256(prev_hash + canonical(fields)), lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(fields)).hexdigest()


def lock_head() -> None:
    """Take the append lock: the head row's lock (PostgreSQL), the write lock (SQLite).

    The row is made on first use (and again if a test flush removed it); two first writers
    race on its primary key, the loser's insert does nothing and its UPDATE then waits."""
    if _bump_head() == 0:
        AuditHead.objects.bulk_create([AuditHead(pk=1, appends=0)], ignore_conflicts=True)
        _bump_head()


def _bump_head() -> int:
    """`UPDATE head SET appends = appends + 1`, as plain SQL: every page's record passes here,
    and the ORM's compiling of it cost more than the statement (issue 18's profile)."""
    table = connection.ops.quote_name(AuditHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET appends = appends + 1 WHERE id = 1")  # noqa: S608
        return int(cursor.rowcount)


def tip() -> tuple[int, str]:
    """The newest link of the chain: (seq, hash) of the last row, or of the last archived
    segment when every row is archived, or (0, zeros) for an empty trail."""
    rows, segments = (
        connection.ops.quote_name(model._meta.db_table) for model in (AccessRecord, AuditSegment)
    )
    # One statement, plain SQL (see _bump_head): the last row and the last segment.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM (SELECT seq, hash FROM {rows} ORDER BY seq DESC LIMIT 1) AS r"  # noqa: S608
            f" UNION ALL SELECT * FROM (SELECT upto_seq, end_hash FROM {segments}"
            " ORDER BY upto_seq DESC LIMIT 1) AS s"
        )
        candidates = [(int(seq), str(digest)) for seq, digest in cursor.fetchall()]
    return max(candidates, default=(0, ZERO_HASH))


def append(entry: Entry) -> AccessRecord:
    """Write `entry` as the next row of the chain."""
    return append_many([entry])[0]


def append_many(entries: Sequence[Entry]) -> list[AccessRecord]:
    """Write `entries` as the next rows of the chain, in order, in one transaction: one lock
    and one commit for the lot (the group commit of `smartapp.audit.writer`)."""
    records = []
    with transaction.atomic():
        lock_head()
        seq, prev_hash = tip()
        for entry in entries:
            seq += 1
            fields = fields_of(seq, entry)
            record = AccessRecord(
                seq=seq,
                at=entry.at,
                actor=entry.actor,
                connection=entry.connection,
                launch_id=entry.launch_id,
                patient_id=entry.patient_id,
                what=entry.what,
                resource_types=fields["resource_types"],
                sections=fields["sections"],
                outcome=entry.outcome,
                request_id=entry.request_id,
                client_address=entry.client_address,
                prev_hash=prev_hash,
                hash=link(prev_hash, fields),
            )
            prev_hash = record.hash
            records.append(record)
        _insert(records)
    return records


def _insert(records: list[AccessRecord]) -> None:
    """One multi-row INSERT, in plain SQL (see _bump_head); each value prepared by its own
    field, as the ORM would (JSON, UUIDs and dates for this database)."""
    fields = [f for f in AccessRecord._meta.concrete_fields if f is not AccessRecord._meta.pk]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    into = (
        f"INSERT INTO {quote(AccessRecord._meta.db_table)}"  # noqa: S608 - quoted model names
        f" ({', '.join(quote(f.column) for f in fields)}) VALUES "
    )
    size = connection.ops.bulk_batch_size(fields, records) or len(records)  # the parameter cap
    with connection.cursor() as cursor:
        for start in range(0, len(records), size):
            chunk = records[start : start + size]
            cursor.execute(
                into + ", ".join([row] * len(chunk)),
                [
                    f.get_db_prep_save(getattr(record, f.attname), connection)
                    for record in chunk
                    for f in fields
                ],
            )


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: `checked` rows were walked; `bad_seq` is the first broken one."""

    checked: int
    start_seq: int
    bad_seq: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.bad_seq is None


def _segments_start() -> tuple[int, str, Verdict | None]:
    """Where the live chain starts, after checking the segments follow on from each other."""
    upto, end_hash = 0, ZERO_HASH
    for first, last, segment_end in AuditSegment.objects.order_by("first_seq").values_list(
        "first_seq", "upto_seq", "end_hash"
    ):
        if first != upto + 1 or last < first:
            return upto, end_hash, Verdict(0, upto, first, "archived segments leave a gap")
        upto, end_hash = last, segment_end
    return upto, end_hash, None


def verify() -> Verdict:
    """Walk the live rows from the last segment's end hash (or zeros), recomputing each hash
    and checking that `seq` is contiguous and each `prev_hash` names the row before."""
    start_seq, prev_hash, broken = _segments_start()
    if broken is not None:
        return broken
    expected, checked = start_seq + 1, 0
    rows = AccessRecord.objects.filter(seq__gt=start_seq).order_by("seq")
    for row in rows.iterator(chunk_size=2000):
        if row.seq != expected:
            return Verdict(checked, start_seq, expected, f"row {expected} is missing")
        if row.prev_hash != prev_hash:
            return Verdict(checked, start_seq, row.seq, "prev_hash does not name the row before")
        if link(prev_hash, fields_of(row.seq, row)) != row.hash:
            return Verdict(checked, start_seq, row.seq, "hash does not match the row's contents")
        prev_hash, expected, checked = row.hash, expected + 1, checked + 1
    if AccessRecord.objects.filter(seq__lte=start_seq).exists():
        return Verdict(checked, start_seq, start_seq, "archived rows are still in the table")
    return Verdict(checked, start_seq)
