"""SMART scopes: one grammar for the app (what to ask for, what was granted) and the sandbox EHR.

SMART App Launch 2.x "Scopes and Launch Context":
- v1 clinical scopes: `<level>/<Type|*>.<read|write|*>`; `read` grants read and search,
  `write` create, update and delete (no read), `*` all of them.
- v2 clinical scopes: `<level>/<Type|*>.<cruds>`, a non-empty subset of the letters
  c(reate) r(ead) u(pdate) d(elete) s(earch) written in that order (`.sr` is not a scope),
  optionally followed by `?param=value[&...]` restricting which resources the scope covers
  (for example `patient/Observation.rs?category=laboratory`).
- level `patient` covers the launch patient's compartment; `user` and `system` any resource
  the user (or system) may see.
- context scopes (`openid`, `fhirUser`, `profile`, `launch`, `launch/patient`,
  `launch/encounter`, `offline_access`, `online_access`) are about the launch, not resources.

The app: a server that advertises `permission-v2` gets v2 syntax (`patient/Observation.rs`);
any other gets v1 (`patient/Observation.read`), since SMART 1.0-era servers reject what they
do not understand. The granted scope string can be narrower than the request (the user
unticked some): `GrantedScopes` answers "may the app read this type?", so queries for
ungranted types are never sent. Only `r` or `s` is read access: a `.write` or `.cud` scope
grants none.

The sandbox: its authorization server refuses scopes it does not understand (`is_known_scope`;
a v1-only server refuses v2 syntax), and its FHIR API allows what `Access` says.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl

Level = Literal["patient", "user", "system"]

SUMMARY_TYPES = (
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "Medication",  # _include=MedicationRequest:medication, and reads by reference
    "AllergyIntolerance",
    "Immunization",
    "Observation",
    "Encounter",
    "DocumentReference",  # clinical notes
    "DiagnosticReport",  # reports with their presentedForm
    "Binary",  # a note's content when the EHR keeps it apart (attachment.url)
)

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

_LEVEL_AND_TYPE = r"(patient|user|system)/([A-Z][A-Za-z]+|\*)"
_V1 = re.compile(_LEVEL_AND_TYPE + r"\.(read|write|\*)")
# Each restriction is `name=value`, both non-empty: a blank value would widen the scope.
_RESTRICTION = r"[^=&?\s]+=[^&\s]+"
_V2 = re.compile(_LEVEL_AND_TYPE + rf"\.(c?r?u?d?s?)(?:\?({_RESTRICTION}(?:&{_RESTRICTION})*))?")
_V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
READ_PERMISSIONS = frozenset("rs")


@dataclass(frozen=True)
class ResourceScope:
    level: Level
    resource_type: str  # a FHIR type or "*"
    permissions: frozenset[str]  # letters of "cruds"
    restrictions: tuple[tuple[str, str], ...] = ()
    version: Literal[1, 2] = 2

    def covers(self, resource_type: str, permission: str) -> bool:
        return self.resource_type in (resource_type, "*") and permission in self.permissions

    @property
    def reads(self) -> bool:
        """Whether it grants read or search (v1 `read` or `*`; v2 `r` or `s`)."""
        return bool(self.permissions & READ_PERMISSIONS)


@functools.lru_cache(maxsize=1024)
def parse_resource_scope(scope: str) -> ResourceScope | None:
    """A clinical scope, or None when `scope` is not one (context scopes, typos). Memoised:
    every page asks about the same few granted words, and the answer is immutable."""
    if match := _V1.fullmatch(scope):
        level, rtype, action = match.groups()
        return ResourceScope(level, rtype, frozenset(_V1_PERMISSIONS[action]), version=1)  # type: ignore[arg-type]
    if (match := _V2.fullmatch(scope)) and match[3]:
        level, rtype, letters, query = match.groups()
        restrictions = tuple(parse_qsl(query, strict_parsing=True)) if query else ()
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


class LaunchKind(StrEnum):
    EHR = "ehr"
    PATIENT = "patient"  # standalone, patient-facing
    PROVIDER = "provider"  # standalone, clinician or QA, no EHR context


def _resources(level: str) -> list[str]:
    return [f"{level}/{rtype}.rs" for rtype in SUMMARY_TYPES]


DEFAULT_SCOPES = {
    LaunchKind.EHR: " ".join(
        ["launch", "openid", "fhirUser", "online_access", *_resources("patient")]
    ),
    LaunchKind.PATIENT: " ".join(
        ["launch/patient", "openid", "fhirUser", "offline_access", *_resources("patient")]
    ),
    LaunchKind.PROVIDER: " ".join(["openid", "fhirUser", "offline_access", *_resources("user")]),
}


def _v1_word(scope: ResourceScope) -> str:
    letters = scope.permissions
    action = "read" if letters <= READ_PERMISSIONS else "*" if "r" in letters else "write"
    return f"{scope.level}/{scope.resource_type}.{action}"


def to_v1(scope: str) -> str:
    """`patient/Observation.rs` -> `patient/Observation.read`; context scopes unchanged.

    v1 has no query restrictions, so a restricted v2 scope widens to its type in v1: callers
    that rely on `?category=` must not send it to a v1 server. Words that are not v2 clinical
    scopes (v1 scopes, context scopes, anything else) pass through as they are.
    """
    words = []
    for word in scope.split():
        parsed = parse_resource_scope(word)
        words.append(_v1_word(parsed) if parsed is not None and parsed.version == 2 else word)
    return " ".join(dict.fromkeys(words))


def for_server(scope: str, *, supports_v2: bool) -> str:
    return scope if supports_v2 else to_v1(scope)


@dataclass(frozen=True)
class GrantedScopes:
    """The granted scope string, parsed once."""

    raw: str
    words: frozenset[str]

    @classmethod
    def parse(cls, scope: str) -> GrantedScopes:
        return cls(scope, frozenset(scope.split()))

    @property
    def resource_scopes(self) -> tuple[ResourceScope, ...]:
        """The clinical scopes among the words (context scopes and unknown words left out)."""
        parsed = (parse_resource_scope(word) for word in sorted(self.words))
        return tuple(scope for scope in parsed if scope is not None)

    def _reads(self, level: str, resource_type: str) -> bool:
        return any(
            scope.level == level and scope.resource_type in (resource_type, "*") and scope.reads
            for scope in self.resource_scopes
        )

    def can_read(self, resource_type: str) -> bool:
        return any(self._reads(level, resource_type) for level in ("patient", "user", "system"))

    @property
    def user_level_patients(self) -> bool:
        """Whether the app may search patients beyond a launch context (provider launch)."""
        return self._reads("user", "Patient") or self._reads("system", "Patient")

    @property
    def has_openid(self) -> bool:
        return "openid" in self.words
