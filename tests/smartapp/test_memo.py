"""smartapp.memo: bounded, least recently used out first, and gone after its time-to-live."""

from __future__ import annotations

import pytest

from smartapp import memo as memo_module
from smartapp.memo import Memo


def test_it_keeps_at_most_its_size_dropping_the_least_recently_used() -> None:
    memo: Memo[str] = Memo(size=2, ttl_s=60)
    memo.put("a", "1")
    memo.put("b", "2")
    assert memo.get("a") == "1"  # "a" is now the most recently used
    memo.put("c", "3")
    assert memo.get("b") is None
    assert (memo.get("a"), memo.get("c"), len(memo)) == ("1", "3", 2)


def test_an_entry_is_gone_after_its_time_to_live(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("smartapp.memo.time.monotonic", lambda: now[0])
    memo: Memo[str] = Memo(size=10, ttl_s=120)
    memo.put("a", "1")
    now[0] += 119
    assert memo.get("a") == "1"
    now[0] += 2
    assert memo.get("a") is None
    assert len(memo) == 0


def test_clear_all_empties_every_memo() -> None:
    memo: Memo[str] = Memo(size=10, ttl_s=60)
    memo.put("k", "v")
    memo_module.clear_all()
    assert len(memo) == 0
