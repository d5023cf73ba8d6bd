"""What the launch debugger says about a launch, computed from what was recorded (pure).

- `token_facts` and `id_token_facts`: what a token response and a verified id_token may be
  shown as: lifetimes, presence, issuer, subject, `fhirUser`, expiry; never a token;
- `scope_diff`: the scopes asked for against those granted (SMART App Launch 2.x "scopes":
  the server may grant fewer, or others, and says which in `scope`);
- `config_diff`: what changed in an EHR's discovery document since the launch before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smart.token_response import TokenResponse


def token_facts(tokens: TokenResponse) -> dict[str, Any]:
    """A token response as the debugger may show it: no token, only what came."""
    return {
        "expires_in": tokens.expires_in,
        "refresh_token": "issued" if tokens.refresh_token else "not issued",
        "id_token": "issued" if tokens.id_token else "not issued",
        "patient": "present" if tokens.patient else "absent",
        "scopes_granted": len(tokens.scope.split()),
    }


def id_token_facts(claims: Mapping[str, Any]) -> dict[str, Any]:
    """The claims of a verified id_token the debugger shows (OIDC Core 2; SMART `fhirUser`)."""
    expiry = claims.get("exp")
    return {
        "issuer": str(claims.get("iss", ""))[:500],
        "subject": str(claims.get("sub", ""))[:200],
        "fhirUser": str(claims.get("fhirUser", ""))[:500],
        "expires_at": datetime.fromtimestamp(expiry, UTC).isoformat()
        if isinstance(expiry, int | float) and 0 < expiry < 10**11
        else None,
    }


@dataclass(frozen=True)
class ScopeDiff:
    granted_as_asked: tuple[str, ...]
    not_granted: tuple[str, ...]  # asked for, not in the granted `scope`
    not_asked: tuple[str, ...]  # granted without being asked for

    @property
    def narrowed(self) -> bool:
        return bool(self.not_granted or self.not_asked)


def scope_diff(requested: str, granted: str) -> ScopeDiff:
    asked, given = requested.split(), granted.split()
    return ScopeDiff(
        tuple(s for s in asked if s in given),
        tuple(s for s in asked if s not in given),
        tuple(s for s in given if s not in asked),
    )


@dataclass(frozen=True)
class ConfigChange:
    field: str
    before: Any
    after: Any


def config_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[ConfigChange, ...]:
    """Fields of a discovery document (`smart.discovery.to_json`) that differ, by name."""
    names = sorted(set(before) | set(after))
    return tuple(
        ConfigChange(name, before.get(name), after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    )
