"""The settings this package reads, each with its default (docs/api-clients.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_RATE_LIMIT_PER_MINUTE = 120
DEFAULT_TOKEN_TTL_S = 900


def _positive_int(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"{name} must be a positive integer, not {value!r}")
    return value


def rate_limit_per_minute() -> int:
    """`API_RATE_LIMIT_PER_MINUTE`: calls per minute for a client with no limit of its own."""
    return _positive_int("API_RATE_LIMIT_PER_MINUTE", DEFAULT_RATE_LIMIT_PER_MINUTE)


def token_ttl_s() -> int:
    """`API_TOKEN_TTL_S`: seconds an access token lives (no refresh tokens: ask again)."""
    return _positive_int("API_TOKEN_TTL_S", DEFAULT_TOKEN_TTL_S)
