"""Named row locks: each says which row it locks, and locks only that row.

As Saleor's `lock_objects.py` does: `select_for_update(of=("self",))`, so a query that joins
the connection (`select_related`) still locks only the launch or grant row, never the shared
`EhrConnection` that every launch of an organisation points at. Use them inside
`transaction.atomic()`, re-read what you locked, then decide (lock, then recheck).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from smartapp.extraction.records import ExtractionJob
from smartapp.models import EhrConnection, Launch, TokenGrant


def launch_qs_for_update(pk: Any) -> QuerySet[Launch]:
    """One launch, its connection joined but not locked."""
    return Launch.objects.select_for_update(of=("self",)).select_related("connection").filter(pk=pk)


def launch_by_state_qs_for_update(state_hash: str) -> QuerySet[Launch]:
    """The launch an authorization `state` names (by its SHA-256), for the callback."""
    return (
        Launch.objects.select_for_update(of=("self",))
        .select_related("connection")
        .filter(state_hash=state_hash)
    )


def grant_qs_for_update(pk: Any) -> QuerySet[TokenGrant]:
    """One token grant (the PostgreSQL flavour of the refresh lock)."""
    return TokenGrant.objects.select_for_update(of=("self",)).filter(pk=pk)


def connection_qs_for_update(pk: Any) -> QuerySet[EhrConnection]:
    """One connection: the PostgreSQL flavour of its backend-token lock (one token request
    in flight per connection)."""
    return EhrConnection.objects.select_for_update(of=("self",)).filter(pk=pk)


def job_qs_for_update(pk: Any) -> QuerySet[ExtractionJob]:
    """One extraction job, its connection joined but not locked."""
    return (
        ExtractionJob.objects.select_for_update(of=("self",))
        .select_related("connection")
        .filter(pk=pk)
    )
