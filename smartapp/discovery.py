"""Fetching and caching SMART discovery for a registered connection.

`{iss}/.well-known/smart-configuration` first; if that is not there, `{iss}/metadata` (SMART
1.0-era servers). The parsing is `smart.discovery`; the connection's EHR profile may adjust
the result. Cached per issuer for an hour, forgotten when a cached endpoint fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from django.core.cache import cache

from smart.discovery import SmartConfiguration, from_json, to_json
from smart.errors import DiscoveryFailed
from smart.profiles import profile_for
from smartapp import outbound
from smartapp.models import EhrConnection
from smartapp.observability import metrics, tenant

log = logging.getLogger(__name__)

CACHE_TTL_S = 3600


def _cache_key(iss: str) -> str:
    return f"smart-config:{iss}"


def forget(iss: str) -> None:
    """Drop the cached configuration (after a cached endpoint failed)."""
    cache.delete(_cache_key(iss))


def discover(connection: EhrConnection) -> SmartConfiguration:
    """The configuration of a registered EHR, from cache or the network, profile applied."""
    with tenant.working_for(connection.slug):
        return profile_for(connection.profile).adjust_discovery(discover_iss(connection.iss))


def discover_iss(iss: str) -> SmartConfiguration:
    """The configuration as the issuer publishes it (callers have checked `iss` is ours)."""
    cached = cache.get(_cache_key(iss))
    if cached is not None:
        return from_json(cached)
    try:
        config = _fetch(iss)
    except DiscoveryFailed:
        metrics.DISCOVERY_FETCHES.labels(tenant.current(), "failed").inc()
        raise
    metrics.DISCOVERY_FETCHES.labels(tenant.current(), "ok").inc()
    cache.set(_cache_key(iss), to_json(config), CACHE_TTL_S)
    return config


def _fetch(iss: str) -> SmartConfiguration:
    client = outbound.client(outbound.Purpose.DISCOVERY)
    try:
        response = client.get(
            f"{iss}/.well-known/smart-configuration", headers={"Accept": "application/json"}
        )
        if response.status_code == 200:
            return SmartConfiguration.from_smart_configuration(iss, _json_object(response))
        log.info(
            "no smart-configuration; trying the CapabilityStatement",
            extra={"iss": iss, "status": response.status_code},
        )
        response = client.get(f"{iss}/metadata", headers={"Accept": "application/fhir+json"})
        if response.status_code != 200:
            raise DiscoveryFailed(f"{iss}/metadata answered {response.status_code}")
        return SmartConfiguration.from_capability_statement(iss, _json_object(response))
    except outbound.HTTPError as exc:
        raise DiscoveryFailed(f"{iss}: {type(exc).__name__}") from exc


def _json_object(response: outbound.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DiscoveryFailed(f"{response.url} is not JSON") from exc
    if not isinstance(body, dict):
        raise DiscoveryFailed(f"{response.url} is not a JSON object")
    return body
