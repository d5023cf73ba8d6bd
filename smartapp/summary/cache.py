"""The encrypted per-section cache of the summary.

Sections are cached per organisation, patient, user and granted scopes, for the time-to-live
their spec gives (the setting SUMMARY_CACHE_TTL_S overrides it). Cached values are PHI:
AES-GCM encrypted, bound to their key, and dropped at sign-out and when the grant ends
(`forget`, called by the vault).
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.core.cache import cache

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


def get(scope: str, name: str) -> Section | None:
    """The cached section, or None when there is none (or it cannot be read: refetch)."""
    sealed = cache.get(_cache_key(scope, name))
    if sealed is None:
        return None
    try:
        return section_from_json(
            json.loads(secret_box().decrypt(sealed, bound_to=_cache_key(scope, name)))
        )
    except (DecryptionError, ValueError, KeyError, TypeError):
        return None  # old format or key: refetch


def put(scope: str, section: Section) -> None:
    ttl = getattr(settings, "SUMMARY_CACHE_TTL_S", sections.default_ttl_s()).get(section.name, 60)
    body = json.dumps(section_to_json(section))
    key = _cache_key(scope, section.name)
    cache.set(key, secret_box().encrypt(body, bound_to=key), ttl)


def forget(launch: Launch) -> None:
    """Drop the launch's cached sections, those of the previous contract version too."""
    scope = cache_scope(launch)
    cache.delete_many(
        [
            _cache_key(scope, name, version)
            for name in sections.section_names()
            for version in (SCHEMA_VERSION, SCHEMA_VERSION - 1)
        ]
    )
