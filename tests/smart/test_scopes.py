"""smart.scopes: one SMART scope grammar for the app and the sandbox EHR.

SMART App Launch 2.x "Scopes and Launch Context": v1 `<level>/<Type|*>.<read|write|*>`, v2
`<level>/<Type|*>.<cruds>` (letters in that order) with optional `?param=value` restrictions.
"""

from __future__ import annotations

import pytest

from smart.scopes import (
    CONTEXT_SCOPES,
    DEFAULT_SCOPES,
    Access,
    GrantedScopes,
    LaunchKind,
    ResourceScope,
    for_server,
    is_known_scope,
    parse_resource_scope,
    to_v1,
)

# --- the grammar (as the sandbox enforces it) ----------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (
            "patient/Observation.read",
            ResourceScope("patient", "Observation", frozenset("rs"), (), 1),
        ),
        ("user/*.read", ResourceScope("user", "*", frozenset("rs"), (), 1)),
        ("patient/*.*", ResourceScope("patient", "*", frozenset("cruds"), (), 1)),
        ("patient/Observation.rs", ResourceScope("patient", "Observation", frozenset("rs"), (), 2)),
        ("user/*.cruds", ResourceScope("user", "*", frozenset("cruds"), (), 2)),
        (
            "patient/Observation.rs?category=laboratory",
            ResourceScope(
                "patient", "Observation", frozenset("rs"), (("category", "laboratory"),), 2
            ),
        ),
    ],
)
def test_parse(scope: str, expected: ResourceScope) -> None:
    assert parse_resource_scope(scope) == expected


@pytest.mark.parametrize(
    "scope",
    ["openid", "patient/Observation.sr", "patient/Observation.", "doctor/*.read", "patient/x.rs"],
)
def test_not_clinical_scopes(scope: str) -> None:
    assert parse_resource_scope(scope) is None


def test_v1_servers_refuse_v2_syntax() -> None:
    assert is_known_scope("patient/Observation.read", smart_version="v1")
    assert not is_known_scope("patient/Observation.rs", smart_version="v1")
    assert is_known_scope("patient/Observation.rs", smart_version="v2")
    assert is_known_scope("patient/Observation.read", smart_version="v2")
    assert is_known_scope("launch/patient", smart_version="v1")


def test_access_rules() -> None:
    access = Access.from_scope_string(
        "openid patient/Observation.rs?category=laboratory user/Patient.r"
    )
    assert [rule.resource_type for rule in access.rules("Observation", "s")] == ["Observation"]
    assert access.rules("Condition", "s") == ()
    assert access.rules("Patient", "s") == ()  # `.r` allows read, not search
    assert len(access.rules("Patient", "r")) == 1


# --- the spec's own examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # "patient/Observation.rs?category=laboratory": read and search lab Observations only
        (
            "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
            ResourceScope(
                "patient",
                "Observation",
                frozenset("rs"),
                (
                    (
                        "category",
                        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
                    ),
                ),
                2,
            ),
        ),
        # "user/*.cruds": everything the user may see, all operations
        ("user/*.cruds", ResourceScope("user", "*", frozenset("cruds"), (), 2)),
        # "patient/*.read" (v1): read and search anything in the patient's compartment
        ("patient/*.read", ResourceScope("patient", "*", frozenset("rs"), (), 1)),
        # "patient/Observation.cud" and v1 ".write": change, never read
        (
            "patient/Observation.cud",
            ResourceScope("patient", "Observation", frozenset("cud"), (), 2),
        ),
        (
            "patient/Observation.write",
            ResourceScope("patient", "Observation", frozenset("cud"), (), 1),
        ),
        ("system/Patient.rs", ResourceScope("system", "Patient", frozenset("rs"), (), 2)),
        (
            "patient/Observation.rs?category=vital-signs&status=final",
            ResourceScope(
                "patient",
                "Observation",
                frozenset("rs"),
                (("category", "vital-signs"), ("status", "final")),
                2,
            ),
        ),
    ],
)
def test_spec_examples(scope: str, expected: ResourceScope) -> None:
    assert parse_resource_scope(scope) == expected


@pytest.mark.parametrize(
    "scope",
    [
        "patient/Observation.sr",  # v2 letters out of order
        "patient/Observation.rcs",
        "patient/Observation.dc",
        "patient/Observation.rr",
        "patient/Observation.x",
        "patient/Observation.reads",
        "patient/Observation.read?category=laboratory",  # v1 has no restrictions
        "patient/Observation.rs?",  # an empty restriction
        "patient/Observation.rs?category",  # a restriction without a value
        "patient/Observation.rs?category=",  # a blank value would widen the scope
        "patient/Observation.rs?=laboratory",
        "patient/Observation.rs?category=laboratory&",
        "Patient/Observation.rs",
        "patient/observation.rs",
        "patient/Observation",
        "patient/*",
        "launch/patient",
        "",
    ],
)
def test_not_scopes_in_either_version(scope: str) -> None:
    assert parse_resource_scope(scope) is None
    assert not GrantedScopes.parse(scope).can_read("Observation")


def test_context_scopes() -> None:
    assert {
        "openid",
        "fhirUser",
        "profile",
        "launch",
        "launch/patient",
        "launch/encounter",
        "offline_access",
        "online_access",
    } == CONTEXT_SCOPES
    for scope in CONTEXT_SCOPES:
        assert parse_resource_scope(scope) is None
        assert is_known_scope(scope, smart_version="v1")
        assert is_known_scope(scope, smart_version="v2")
    assert not is_known_scope("launch/practitioner", smart_version="v2")
    assert not is_known_scope("patient/Observation.sr", smart_version="v2")


def test_rs_and_read_grant_the_same() -> None:
    v1 = parse_resource_scope("patient/Observation.read")
    v2 = parse_resource_scope("patient/Observation.rs")
    assert v1 is not None
    assert v2 is not None
    assert v1.permissions == v2.permissions == frozenset("rs")
    assert (v1.version, v2.version) == (1, 2)
    for scope in ("patient/Observation.read", "patient/Observation.rs"):
        access = Access.from_scope_string(scope)
        assert access.rules("Observation", "r")
        assert access.rules("Observation", "s")
        assert not access.rules("Observation", "c")
        assert GrantedScopes.parse(scope).can_read("Observation")


def test_write_only_scopes_grant_no_read() -> None:
    for scope in (
        "patient/Observation.write",
        "patient/*.write",
        "user/Patient.write",
        "patient/Observation.cud",
        "patient/Observation.c",
        "user/*.u",
    ):
        granted = GrantedScopes.parse(scope)
        assert not granted.can_read("Observation"), scope
        assert not granted.user_level_patients, scope
        assert Access.from_scope_string(scope).rules("Observation", "r") == ()
        assert Access.from_scope_string(scope).rules("Observation", "s") == ()
    assert GrantedScopes.parse("patient/Observation.*").can_read("Observation")
    assert GrantedScopes.parse("patient/Observation.cruds").can_read("Observation")


def test_restricted_scopes() -> None:
    access = Access.from_scope_string("patient/Observation.rs?category=laboratory")
    (rule,) = access.rules("Observation", "s")
    assert rule.restrictions == (("category", "laboratory"),)
    # The app may query the type; the server filters to what the restriction covers.
    assert GrantedScopes.parse("patient/Observation.rs?category=laboratory").can_read("Observation")
    assert to_v1("patient/Observation.rs?category=laboratory") == "patient/Observation.read"


def test_wildcard_type_levels() -> None:
    granted = GrantedScopes.parse("user/*.cruds")
    assert granted.can_read("Observation")
    assert granted.user_level_patients
    assert GrantedScopes.parse("system/Patient.s").user_level_patients
    assert not GrantedScopes.parse("patient/*.read").user_level_patients
    assert not GrantedScopes.parse("user/Observation.rs").user_level_patients


# --- the app's side: what to ask for, what was granted ------------------------------------


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


def test_to_v1_more() -> None:
    assert to_v1("patient/Observation.cr") == "patient/Observation.*"
    assert to_v1("user/*.s") == "user/*.read"
    assert to_v1("patient/*.write patient/Condition.c") == "patient/*.write patient/Condition.write"
    # Two v2 scopes that mean the same in v1 are asked for once.
    assert to_v1("patient/Observation.rs patient/Observation.r") == "patient/Observation.read"
    # Not a scope in either version: passed through for the server to refuse.
    assert to_v1("patient/Observation.sr") == "patient/Observation.sr"


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


def test_defaults_are_scopes_every_server_knows() -> None:
    for scope in DEFAULT_SCOPES.values():
        for word in scope.split():
            assert is_known_scope(word, smart_version="v2"), word
        for word in to_v1(scope).split():
            assert is_known_scope(word, smart_version="v1"), word


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
