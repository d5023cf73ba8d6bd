"""The encrypted PHI cache: the summary's sections and the content of opened documents.

Sections are cached per organisation, patient, user and granted scopes, for the time-to-live
their spec gives (the setting SUMMARY_CACHE_TTL_S overrides it). Cached values are PHI:
AES-GCM encrypted, bound to their key, and dropped at sign-out and when the grant ends
(`forget`, called by the vault).

A document's content is cached the same way (`put_document`, under the same scope, for
DOCUMENT_CACHE_TTL_S), so the page that shows it and the browser's request for a PDF or an
image it embeds ask the EHR once. Its keys hold a digest of the document's reference, never
the id; each scope keeps an index of them so that `forget` can drop them all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from smartapp.memo import Memo
from smartapp.models import Launch
from smartapp.secretbox import DecryptionError, secret_box
from smartapp.summary import sections
from smartapp.summary.contract import (
    SCHEMA_VERSION,
    Section,
    section_from_json,
    section_to_json,
)


def cache_scope(launch: Launch) -> str:
    """Organisation, patient, user and granted scopes: who may see a cached section."""
    material = "|".join(
        [launch.connection.slug, launch.patient_id, launch.fhir_user, launch.granted_scope]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _cache_key(scope: str, name: str, version: int = SCHEMA_VERSION) -> str:
    """Versioned: a section cached under an older contract is never read as a newer one.
    (Version 1 keys carried no version.)"""
    return f"phi:{scope}:{name}" if version == 1 else f"phi:v{version}:{scope}:{name}"


# Decoded sections by (key, digest of the ciphertext): the same stored value decodes to the
# same Section, so a warm page decrypts and parses each section once per process while it
# lasts (smartapp/memo.py). A changed, expired or forgotten entry has no ciphertext to match.
_decoded: Memo[Section] = Memo(size=2048, ttl_s=120)


def _open(key: str, sealed: Any) -> Section | None:
    if not isinstance(sealed, str):
        return None
    memo_key = (key, hashlib.sha256(sealed.encode()).digest())
    found = _decoded.get(memo_key)
    if found is not None:
        return found
    try:
        section = section_from_json(json.loads(secret_box().decrypt(sealed, bound_to=key)))
    except (DecryptionError, ValueError, KeyError, TypeError):
        return None  # old format or key: refetch
    return _decoded.put(memo_key, section)


def get(scope: str, name: str) -> Section | None:
    """The cached section, or None when there is none (or it cannot be read: refetch)."""
    key = _cache_key(scope, name)
    return _open(key, cache.get(key))


def get_many(scope: str, names: Iterable[str]) -> dict[str, Section]:
    """The cached sections of `names` that can be read, in one round trip to the cache."""
    keys = {_cache_key(scope, name): name for name in names}
    found = cache.get_many(list(keys))
    opened = {keys[key]: _open(key, sealed) for key, sealed in found.items()}
    return {name: section for name, section in opened.items() if section is not None}


def put(scope: str, section: Section) -> None:
    ttl = getattr(settings, "SUMMARY_CACHE_TTL_S", sections.default_ttl_s()).get(section.name, 60)
    body = json.dumps(section_to_json(section))
    key = _cache_key(scope, section.name)
    cache.set(key, secret_box().encrypt(body, bound_to=key), ttl)


def forget(launch: Launch) -> None:
    """Drop the launch's cached sections (those of the previous contract version too) and
    the content of every document it opened."""
    scope = cache_scope(launch)
    index = _index_key(scope)
    cache.delete_many(
        [
            _cache_key(scope, name, version)
            for name in sections.section_names()
            for version in (SCHEMA_VERSION, SCHEMA_VERSION - 1)
        ]
        + list(cache.get(index) or [])
        + [index]
    )
    if hasattr(cache, "delete_pattern"):  # Redis: also any key the index lost to a race
        cache.delete_pattern(f"{_document_prefix(scope)}*")


# --- document content ---------------------------------------------------------------------


def _document_prefix(scope: str) -> str:
    return f"phi:v{SCHEMA_VERSION}:{scope}:doc:"


def _document_key(scope: str, reference: str) -> str:
    return _document_prefix(scope) + hashlib.sha256(reference.encode()).hexdigest()[:32]


def _index_key(scope: str) -> str:
    return f"phi:v{SCHEMA_VERSION}:{scope}:doc-index"


def get_document(scope: str, reference: str) -> tuple[str | None, bytes] | None:
    """The cached content type and bytes of the document `reference` names, or None."""
    key = _document_key(scope, reference)
    sealed = cache.get(key)
    if sealed is None:
        return None
    try:
        value: dict[str, Any] = json.loads(secret_box().decrypt(sealed, bound_to=key))
        return value["content_type"], base64.b64decode(value["body"])
    except (DecryptionError, ValueError, KeyError, TypeError):
        return None


MAX_CACHED_DOCUMENTS = 200  # per scope: beyond it, content is fetched each time


def put_document(scope: str, reference: str, content_type: str | None, body: bytes) -> None:
    """Cache a document's content (encrypted, bound to its key) once its key is in the
    scope's index, which `forget` drops (read, add, write: a key lost to a concurrent write
    is still dropped by the pattern delete on Redis, and expires with its time-to-live
    elsewhere). A full index caches nothing more, so no entry outlives sign-out unlisted."""
    ttl = int(getattr(settings, "DOCUMENT_CACHE_TTL_S", 300))
    key = _document_key(scope, reference)
    index = _index_key(scope)
    known = list(cache.get(index) or [])
    if key not in known:
        if len(known) >= MAX_CACHED_DOCUMENTS:
            return
        cache.set(index, [*known, key], ttl)
    value = {"content_type": content_type, "body": base64.b64encode(body).decode()}
    cache.set(key, secret_box().encrypt(json.dumps(value), bound_to=key), ttl)
