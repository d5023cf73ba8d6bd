"""Group commit (smartapp/audit/writer.py): many pages' records in few transactions, each
page still waiting for its own, the chain whole afterwards."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from smartapp.audit import chain, writer
from smartapp.audit.records import AccessRecord
from tests.smartapp.audit.conftest import entry


@pytest.mark.usefixtures("committed_audit")
def test_concurrent_pages_are_written_in_batches_and_the_chain_holds(monkeypatch) -> None:
    batches: list[int] = []
    append_many = chain.append_many

    def counted(entries):
        batches.append(len(entries))
        return append_many(entries)

    monkeypatch.setattr(chain, "append_many", counted)
    written: list[bool] = []

    def page(number: int) -> None:
        try:
            for _ in range(10):
                written.append(writer.write(entry(request_id=f"req-{number:08d}")))
        finally:
            connection.close()

    threads = [threading.Thread(target=page, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert written == [True] * 160  # each page saw its own record committed
    assert AccessRecord.objects.count() == 160
    assert sum(batches) == 160
    assert len(batches) < 160, "some records shared a transaction"
    assert chain.verify().ok


@pytest.mark.usefixtures("committed_audit")
def test_a_failed_batch_is_reported_to_its_pages_not_raised(monkeypatch) -> None:
    def broken(entries):
        raise RuntimeError("database gone")

    monkeypatch.setattr(chain, "append_many", broken)
    assert writer.write(entry()) is False
    assert AccessRecord.objects.count() == 0
