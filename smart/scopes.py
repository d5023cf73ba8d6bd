"""SMART scopes from the client's side: what to ask for, and what was granted.

SMART App Launch 2.x "Scopes and Launch Context". A server that advertises `permission-v2`
gets v2 syntax (`patient/Observation.rs`); any other gets v1 (`patient/Observation.read`),
since SMART 1.0-era servers reject what they do not understand. The granted scope string can
be narrower than the request (the user unticked some): `GrantedScopes` answers "may the app
read this type?", so queries for ungranted types are never sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

SUMMARY_TYPES = (
    "Patient",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "AllergyIntolerance",
    "Immunization",
    "Observation",
    "Encounter",
)
_CLINICAL = re.compile(r"(patient|user|system)/([A-Z][A-Za-z]+|\*)\.([a-z*]+)(\?\S*)?")


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


def to_v1(scope: str) -> str:
    """`patient/Observation.rs` -> `patient/Observation.read`; context scopes unchanged.

    v1 has no query restrictions, so a restricted v2 scope widens to its type in v1: callers
    that rely on `?category=` must not send it to a v1 server.
    """
    words = []
    for word in scope.split():
        match = _CLINICAL.fullmatch(word)
        if match and set(match[3]) <= set("cruds"):
            letters = set(match[3])
            action = "read" if letters <= {"r", "s"} else "*" if "r" in letters else "write"
            words.append(f"{match[1]}/{match[2]}.{action}")
        else:
            words.append(word)
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

    def _reads(self, level: str, resource_type: str) -> bool:
        for word in self.words:
            match = _CLINICAL.fullmatch(word)
            if not match or match[1] != level or match[2] not in (resource_type, "*"):
                continue
            action = match[3]
            if action in ("read", "*") or {"r", "s"} & set(action):
                return True
        return False

    def can_read(self, resource_type: str) -> bool:
        return any(self._reads(level, resource_type) for level in ("patient", "user", "system"))

    @property
    def user_level_patients(self) -> bool:
        """Whether the app may search patients beyond a launch context (provider launch)."""
        return self._reads("user", "Patient") or self._reads("system", "Patient")

    @property
    def has_openid(self) -> bool:
        return "openid" in self.words
