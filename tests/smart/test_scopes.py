"""smart.scopes: v1 translation for older servers; reading what was granted."""

from __future__ import annotations

import pytest

from smart.scopes import DEFAULT_SCOPES, GrantedScopes, LaunchKind, for_server, to_v1


@pytest.mark.parametrize(
    ("v2", "v1"),
    [
        ("patient/Observation.rs", "patient/Observation.read"),
        ("user/*.rs", "user/*.read"),
        ("patient/Observation.r", "patient/Observation.read"),
        ("patient/Observation.cruds", "patient/Observation.*"),
        ("patient/Observation.cud", "patient/Observation.write"),
        ("patient/Observation.rs?category=laboratory", "patient/Observation.read"),
        ("launch openid fhirUser offline_access", "launch openid fhirUser offline_access"),
        ("patient/Observation.read", "patient/Observation.read"),
    ],
)
def test_to_v1(v2: str, v1: str) -> None:
    assert to_v1(v2) == v1


def test_for_server_keeps_v2_for_v2_servers() -> None:
    scope = DEFAULT_SCOPES[LaunchKind.EHR]
    assert for_server(scope, supports_v2=True) == scope
    assert ".rs" not in for_server(scope, supports_v2=False)


def test_defaults_ask_for_the_minimum_per_kind() -> None:
    assert "launch" in DEFAULT_SCOPES[LaunchKind.EHR].split()
    assert "launch/patient" in DEFAULT_SCOPES[LaunchKind.PATIENT].split()
    assert not any(s.startswith("user/") for s in DEFAULT_SCOPES[LaunchKind.PATIENT].split())
    assert all(not s.startswith("patient/") for s in DEFAULT_SCOPES[LaunchKind.PROVIDER].split())
    for scope in DEFAULT_SCOPES.values():
        assert "*" not in scope  # named types only


def test_granted_scopes() -> None:
    granted = GrantedScopes.parse(
        "openid launch/patient patient/Observation.rs patient/Condition.read"
    )
    assert granted.can_read("Observation")
    assert granted.can_read("Condition")
    assert not granted.can_read("Immunization")
    assert not granted.user_level_patients
    assert granted.has_openid
    assert GrantedScopes.parse("user/*.rs").user_level_patients
    assert GrantedScopes.parse("patient/*.read").can_read("Encounter")
    assert not GrantedScopes.parse("patient/Observation.c").can_read("Observation")
