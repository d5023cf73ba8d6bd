"""Cursor pagination: an opaque, signed position in one query's results.

A cursor is the offset of the next page, signed (django.core.signing, its own salt) together
with a digest of the query it belongs to (the path and the filters), so it cannot be forged,
edited, or carried over to another query or another launch. Within a query the order is stable (the
section's own order, or the store's keys), so pages neither repeat nor skip while the data
stands still; when it changes between calls, a page may begin a little earlier or later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TypeVar

from django.core import signing

from api.problems import ApiProblem

SALT = "api.v1.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
T = TypeVar("T")


def _query_key(path: str, filters: Mapping[str, str | None]) -> str:
    """A digest of the query, not the query: a cursor is signed, not encrypted, and must not
    carry a launch handle or a search term (a patient's name) to whoever reads it."""
    chosen = json.dumps(sorted((k, v) for k, v in filters.items() if v))
    return hashlib.sha256(f"{path}\n{chosen}".encode()).hexdigest()[:32]


def encode(offset: int, path: str, filters: Mapping[str, str | None]) -> str:
    return signing.dumps({"o": offset, "q": _query_key(path, filters)}, salt=SALT)


def decode(cursor: str | None, path: str, filters: Mapping[str, str | None]) -> int:
    if not cursor:
        return 0
    try:
        value = signing.loads(cursor, salt=SALT)
    except signing.BadSignature:
        value = None
    if (
        not isinstance(value, dict)
        or value.get("q") != _query_key(path, filters)
        or not isinstance(value.get("o"), int)
        or value["o"] < 0
    ):
        raise ApiProblem(400, "invalid_cursor", "Invalid cursor", "Start again without `cursor`.")
    return int(value["o"])


def page(
    items: Sequence[T],
    cursor: str | None,
    limit: int,
    path: str,
    filters: Mapping[str, str | None],
) -> tuple[list[T], str | None]:
    """One page of `items` and the cursor of the next (None on the last page)."""
    start = decode(cursor, path, filters)
    end = start + limit
    following = encode(end, path, filters) if end < len(items) else None
    return list(items[start:end]), following
