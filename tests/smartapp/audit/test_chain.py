"""smartapp.audit.chain and the triggers of migration 0007: the canonical form, the chain's
links, verification that names the first bad row, and the append-only rules per database."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from smartapp.audit import chain
from smartapp.audit.records import ZERO_HASH, AccessRecord, AuditSegment
from tests.smartapp.audit.conftest import append_at, entry, triggers_off

AT = datetime(2025, 3, 4, 5, 6, 7, 89, tzinfo=UTC)


def test_canonical_form_is_the_documented_one() -> None:
    # The module docstring's recipe, written out by hand: sorted keys, no spaces, UTF-8.
    expected = (
        '{"actor":"Practitioner/é","at":"2025-03-04T05:06:07.000089Z","client_address":'
        '"10.0.0.7","connection":"general","launch_id":"12345678-1234-5678-1234-567812345678",'
        '"outcome":"success","patient_id":"pat-1","request_id":"req-00000001",'
        '"resource_types":["Condition","Observation"],"sections":["vitals","problems"],'
        '"seq":1,"what":"summary"}'
    ).encode()
    fields = chain.fields_of(
        1,
        entry(
            at=AT,
            actor="Practitioner/é",
            resource_types=("Observation", "Condition"),
            sections=("vitals", "problems"),
        ),
    )
    assert chain.canonical(fields) == expected
    by_hand = hashlib.sha256(ZERO_HASH.encode() + expected).hexdigest()
    assert chain.link(ZERO_HASH, fields) == by_hand


@pytest.mark.django_db
def test_rows_chain_from_zeros_with_contiguous_seqs() -> None:
    append_at(AT, AT, AT)
    rows = list(AccessRecord.objects.order_by("seq"))
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == ZERO_HASH
    assert [row.prev_hash for row in rows[1:]] == [row.hash for row in rows[:-1]]
    for row in rows:  # what was stored hashes to what was written (the round trip is exact)
        assert chain.link(row.prev_hash, chain.fields_of(row.seq, row)) == row.hash
    assert chain.verify().ok


@pytest.mark.django_db
def test_verify_command_reports_ok_with_the_count() -> None:
    append_at(AT, AT)
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "OK: 2 audit rows verified" in out.getvalue()


@pytest.mark.django_db
def test_an_edited_row_is_named_by_seq() -> None:
    append_at(AT, AT, AT)
    with triggers_off():  # what only a table owner can do
        AccessRecord.objects.filter(seq=2).update(patient_id="someone-else")
    verdict = chain.verify()
    assert (verdict.bad_seq, verdict.checked) == (2, 1)
    with pytest.raises(CommandError, match="broken at seq 2"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_a_rewritten_hash_breaks_the_next_link() -> None:
    append_at(AT, AT, AT)
    row = AccessRecord.objects.get(seq=2)
    fields = {**chain.fields_of(2, row), "outcome": "failed:x"}
    with triggers_off():
        AccessRecord.objects.filter(seq=2).update(
            outcome="failed:x", hash=chain.link(row.prev_hash, fields)
        )
    assert chain.verify().bad_seq == 3


@pytest.mark.django_db
def test_a_deleted_row_leaves_a_gap_that_is_named() -> None:
    append_at(AT, AT, AT)
    with triggers_off():
        AccessRecord.objects.filter(seq=2).delete()
    verdict = chain.verify()
    assert verdict.bad_seq == 2
    assert "missing" in verdict.reason


@pytest.mark.django_db
def test_update_is_refused_by_the_database() -> None:
    append_at(AT)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessRecord.objects.filter(seq=1).update(outcome="success")


@pytest.mark.django_db
def test_delete_of_an_unarchived_row_is_refused() -> None:
    append_at(AT)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessRecord.objects.filter(seq=1).delete()


@pytest.mark.django_db
def test_segments_must_continue_the_chain_and_never_change() -> None:
    append_at(AT, AT)
    first = AccessRecord.objects.get(seq=1)
    fake = {"file_name": "f", "file_sha256": "0" * 64, "created": AT}
    with pytest.raises(DatabaseError), transaction.atomic():  # an end hash that is not row 1's
        AuditSegment.objects.create(first_seq=1, upto_seq=1, end_hash="f" * 64, **fake)
    with pytest.raises(DatabaseError), transaction.atomic():  # a segment that skips a row
        AuditSegment.objects.create(first_seq=2, upto_seq=2, end_hash=first.hash, **fake)
    segment = AuditSegment.objects.create(first_seq=1, upto_seq=1, end_hash=first.hash, **fake)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSegment.objects.filter(pk=segment.pk).update(upto_seq=2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditSegment.objects.filter(pk=segment.pk).delete()
    # Row 1 is now covered, row 2 is not.
    assert AccessRecord.objects.filter(seq=1).delete()[0] == 1
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessRecord.objects.filter(seq=2).delete()


@pytest.mark.postgres
@pytest.mark.django_db
def test_truncate_is_refused_on_postgresql() -> None:
    for table in ("smartapp_accessrecord", "smartapp_auditsegment"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {table}")


@pytest.mark.postgres
def test_concurrent_appends_chain_one_after_another(committed_audit: None) -> None:
    threads, per_thread = 8, 12
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                chain.append(entry())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert errors == []
    seqs = list(AccessRecord.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, threads * per_thread + 1))
    verdict = chain.verify()
    assert verdict.ok, verdict
    assert verdict.checked == threads * per_thread
