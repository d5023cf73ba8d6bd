"""The scopes a service client may hold on the use-case API (docs/api-clients.md).

One grammar, written once: a scope string is space-separated tokens (RFC 6749 3.3), each one
of `API_SCOPES`. Unknown tokens are refused, never dropped, so a typo at issue time or in a
token request is an error the caller sees.
"""

from __future__ import annotations

from collections.abc import Iterable

API_SCOPES: dict[str, str] = {
    "summary.read": "the whole patient summary",
    "results.read": "a patient's latest results",
    "medications.read": "a patient's medications",
    "patients.read": "the patient list of a tenant",
}
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ); ours are far shorter.
MAX_SCOPE_CHARS = 512


def parse_scopes(text: str) -> frozenset[str]:
    """The scopes named by a space-separated string; ValueError on any unknown one."""
    if len(text) > MAX_SCOPE_CHARS:
        raise ValueError("scope string too long")
    return check_scopes(text.split())


def check_scopes(items: Iterable[str]) -> frozenset[str]:
    """The scopes as a set; ValueError naming the first unknown one."""
    found = frozenset(items)
    unknown = sorted(found - API_SCOPES.keys())
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r} (known: {', '.join(API_SCOPES)})")
    return found


def scope_text(scopes: Iterable[str]) -> str:
    """The canonical string form: sorted, space-separated."""
    return " ".join(sorted(set(scopes)))
