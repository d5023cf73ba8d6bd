"""Opened documents' content in the encrypted PHI cache (smartapp/summary/cache.py)."""

from __future__ import annotations

import uuid

from django.core.cache import cache

from smartapp.summary.cache import MAX_CACHED_DOCUMENTS, get_document, put_document


def test_content_is_sealed_and_a_full_scope_caches_no_more() -> None:
    scope = uuid.uuid4().hex
    put_document(scope, "DocumentReference/n1#0", "text/plain", b"Discharge diagnosis")
    assert get_document(scope, "DocumentReference/n1#0") == ("text/plain", b"Discharge diagnosis")
    assert get_document(scope, "DocumentReference/n1#1") is None
    for number in range(2, MAX_CACHED_DOCUMENTS + 5):
        put_document(scope, f"DocumentReference/n{number}#0", None, b"x")
    assert get_document(scope, f"DocumentReference/n{MAX_CACHED_DOCUMENTS}#0") is not None
    assert get_document(scope, f"DocumentReference/n{MAX_CACHED_DOCUMENTS + 1}#0") is None
    index = cache.get(f"phi:v2:{scope}:doc-index")
    assert len(index) == MAX_CACHED_DOCUMENTS
    assert all("n1" not in key for key in index)  # keys hold a digest, never the id
