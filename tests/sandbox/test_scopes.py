"""sandbox.scopes: SMART v1 and v2 clinical scopes as the server enforces them."""

from __future__ import annotations

import pytest

from sandbox.scopes import Access, ResourceScope, is_known_scope, parse_resource_scope


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
