"""smart.profiles: the generic profile changes nothing; smart-v1 bends only its four hooks."""

from __future__ import annotations

from smart.discovery import SmartConfiguration
from smart.profiles import SmartV1, profile_for, profiles

V2_SERVER = SmartConfiguration(
    issuer="https://ehr.example.org/fhir",
    authorization_endpoint="https://ehr.example.org/authorize",
    token_endpoint="https://ehr.example.org/token",
    capabilities=frozenset({"permission-v2", "launch-ehr"}),
)
V1_SERVER = SmartConfiguration(
    issuer=V2_SERVER.issuer,
    authorization_endpoint=V2_SERVER.authorization_endpoint,
    token_endpoint=V2_SERVER.token_endpoint,
)
SCOPE = "launch openid patient/Observation.rs patient/Patient.rs"


def test_the_registry_and_its_fallback():
    assert {"generic", "smart-v1"} <= set(profiles())
    assert profile_for("no-such-profile").name == "generic"


def test_generic_follows_what_discovery_says():
    generic = profile_for("generic")
    assert generic.request_scope(SCOPE, V2_SERVER) == SCOPE
    assert generic.request_scope(SCOPE, V1_SERVER) == (
        "launch openid patient/Observation.read patient/Patient.read"
    )
    body = {"access_token": "a", "token_type": "Bearer"}
    assert generic.normalise_token_response(body, "x") == body  # scope stays missing
    assert generic.adjust_discovery(V2_SERVER) is V2_SERVER
    assert generic.search_params("Observation", {"_sort": "-date"}) == {"_sort": "-date"}


def test_smart_v1_speaks_v1_even_where_discovery_claims_v2():
    v1 = profile_for("smart-v1")
    assert isinstance(v1, SmartV1)
    assert v1.request_scope(SCOPE, V2_SERVER).split()[2:] == [
        "patient/Observation.read",
        "patient/Patient.read",
    ]
    assert not v1.adjust_discovery(V2_SERVER).supports_v2_scopes


def test_smart_v1_fills_an_omitted_scope_and_unwraps_a_patient_reference():
    v1 = profile_for("smart-v1")
    fixed = v1.normalise_token_response({"patient": "Patient/123"}, requested_scope="a b")
    assert fixed == {"patient": "123", "scope": "a b"}
    kept = v1.normalise_token_response({"scope": "narrower", "patient": "123"}, "a b")
    assert kept == {"scope": "narrower", "patient": "123"}  # a given scope is never widened
