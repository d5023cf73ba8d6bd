"""smartapp.audit.retention: whole prefixes archived to fsynced NDJSON, then deleted; the
chain goes on from the segment's end hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smartapp.audit import chain
from smartapp.audit.records import AccessRecord, AuditSegment
from smartapp.audit.retention import archive_and_delete
from smartapp.tasks import audit_retention
from tests.smartapp.audit.conftest import append_at

pytestmark = pytest.mark.django_db
NOW = datetime(2030, 6, 1, tzinfo=UTC)
OLD, YOUNG = NOW - timedelta(days=40), NOW - timedelta(days=5)


@pytest.fixture
def archive(settings: Any, tmp_path: Path) -> Path:
    settings.AUDIT_RETENTION_DAYS = 30
    settings.AUDIT_ARCHIVE_DIR = tmp_path / "archive"  # made on first use
    return tmp_path / "archive"


def test_old_rows_are_archived_then_deleted(archive: Path) -> None:
    append_at(OLD, OLD, OLD, YOUNG)
    ends_at = AccessRecord.objects.get(seq=3).hash
    assert archive_and_delete(now=NOW) == {"segments": 1, "rows": 3, "archived_upto": 3}
    segment = AuditSegment.objects.get()
    assert (segment.first_seq, segment.upto_seq, segment.end_hash) == (1, 3, ends_at)
    path = archive / segment.file_name
    assert segment.file_name == "audit-000000000001-000000000003.ndjson"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == segment.file_sha256
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [event["id"].split("-")[0] for event in events] == ["1", "2", "3"]
    assert list(AccessRecord.objects.values_list("seq", flat=True)) == [4]
    assert chain.verify().ok


def test_an_old_row_after_a_young_one_waits_for_it(archive: Path) -> None:
    # A long page opens before a short one and closes after it: never leave a hole.
    append_at(OLD, YOUNG, OLD)
    assert archive_and_delete(now=NOW)["archived_upto"] == 1
    assert list(AccessRecord.objects.order_by("seq").values_list("seq", flat=True)) == [2, 3]


def test_the_chain_continues_from_the_segment_after_everything_is_archived(
    archive: Path,
) -> None:
    append_at(OLD, OLD)
    archive_and_delete(now=NOW)
    assert not AccessRecord.objects.exists()
    append_at(YOUNG)
    row = AccessRecord.objects.get()
    assert (row.seq, row.prev_hash) == (3, AuditSegment.objects.get().end_hash)
    assert chain.verify().ok


def test_a_second_run_with_nothing_due_does_nothing(archive: Path) -> None:
    append_at(OLD, YOUNG)
    archive_and_delete(now=NOW)
    assert archive_and_delete(now=NOW) == {"segments": 0, "rows": 0, "archived_upto": 1}
    assert len(list(archive.iterdir())) == 1


def test_large_backlogs_are_cut_into_segments(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smartapp.audit import retention

    monkeypatch.setattr(retention, "SEGMENT_ROWS", 2)
    append_at(OLD, OLD, OLD, OLD, OLD)
    assert archive_and_delete(now=NOW) == {"segments": 3, "rows": 5, "archived_upto": 5}
    segments = AuditSegment.objects.order_by("first_seq").values_list("first_seq", "upto_seq")
    assert list(segments) == [(1, 2), (3, 4), (5, 5)]


def test_the_celery_task_runs_retention(archive: Path) -> None:
    append_at(datetime.now(UTC) - timedelta(days=400))
    assert audit_retention.apply().get() == {"segments": 1, "rows": 1, "archived_upto": 1}
