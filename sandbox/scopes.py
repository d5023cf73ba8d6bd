"""SMART scopes as the sandbox's authorization server and FHIR API enforce them.

SMART App Launch 2.x "Scopes and Launch Context":
- v1 clinical scopes: `<level>/<Type|*>.<read|write|*>` (read grants read and search).
- v2 clinical scopes: `<level>/<Type|*>.<cruds>` with the letters in that order, optionally
  followed by `?param=value[&...]` restricting which resources the scope covers (for example
  `patient/Observation.rs?category=laboratory`).
- level `patient` covers the launch patient's compartment; `user` and `system` any resource
  the user (or system) may see.

A v1-only server does not understand v2 syntax: with `smart: v1` such scopes are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl

Level = Literal["patient", "user", "system"]

# Scopes that are not about FHIR resources.
CONTEXT_SCOPES = frozenset(
    {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    }
)

_V1 = re.compile(r"(patient|user|system)/([A-Z][A-Za-z]+|\*)\.(read|write|\*)")
_V2 = re.compile(r"(patient|user|system)/([A-Z][A-Za-z]+|\*)\.(c?r?u?d?s?)(\?.+)?")
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}


@dataclass(frozen=True)
class ResourceScope:
    level: Level
    resource_type: str  # a FHIR type or "*"
    permissions: frozenset[str]  # letters of "cruds"
    restrictions: tuple[tuple[str, str], ...] = ()
    version: Literal[1, 2] = 2

    def covers(self, resource_type: str, permission: str) -> bool:
        return self.resource_type in (resource_type, "*") and permission in self.permissions


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """A clinical scope, or None when `scope` is not one (context scopes, typos)."""
    if match := _V1.fullmatch(scope):
        level, rtype, action = match.groups()
        return ResourceScope(level, rtype, frozenset(_V1_PERMISSIONS[action]), version=1)  # type: ignore[arg-type]
    if (match := _V2.fullmatch(scope)) and match[3]:
        level, rtype, letters, query = match.groups()
        restrictions = tuple(parse_qsl(query[1:], strict_parsing=True)) if query else ()
        return ResourceScope(level, rtype, frozenset(letters), restrictions, version=2)  # type: ignore[arg-type]
    return None


def is_known_scope(scope: str, *, smart_version: Literal["v1", "v2"]) -> bool:
    """Whether a server speaking `smart_version` accepts `scope` in an authorization request."""
    if scope in CONTEXT_SCOPES:
        return True
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return False
    return parsed.version == 1 or smart_version == "v2"


@dataclass(frozen=True)
class Access:
    """What one access token may do, parsed once from its granted scope string."""

    scopes: tuple[ResourceScope, ...]

    @classmethod
    def from_scope_string(cls, scope: str) -> Access:
        parsed = (parse_resource_scope(item) for item in scope.split())
        return cls(tuple(item for item in parsed if item is not None))

    def rules(self, resource_type: str, permission: str) -> tuple[ResourceScope, ...]:
        """The scopes that could allow `permission` ('r' read, 's' search) on the type."""
        return tuple(scope for scope in self.scopes if scope.covers(resource_type, permission))
