"""smart.conformance: the discovery-document checks and the report, from hand-made facts."""

from __future__ import annotations

from typing import Any

import pytest

from smart.conformance import (
    Finding,
    HttpFacts,
    Report,
    Status,
    check_endpoints_secure,
    check_issuer,
    check_oauth_uris,
    check_openid_configuration,
    check_pkce,
    check_required_fields,
    check_well_known,
    endpoint,
    jwks_url,
    oauth_uris,
    openid_configuration_url,
)
from smart.discovery import OAUTH_URIS

ISS = "https://ehr.example/fhir"


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "issuer": ISS,
        "jwks_uri": "https://ehr.example/jwks",
        "authorization_endpoint": "https://ehr.example/authorize",
        "token_endpoint": "https://ehr.example/token",
        "capabilities": ["launch-ehr", "sso-openid-connect"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }
    doc.update(changes)
    return {name: value for name, value in doc.items() if value is not None}


def answered(body: Any, status: int = 200, content_type: str = "application/json") -> HttpFacts:
    return HttpFacts("https://ehr.example/x", status, content_type, body, duration_ms=12.0)


def capability_statement(**uris: str) -> dict[str, Any]:
    extension = [{"url": name, "valueUri": value} for name, value in uris.items()]
    return {
        "resourceType": "CapabilityStatement",
        "rest": [{"security": {"extension": [{"url": OAUTH_URIS, "extension": extension}]}}],
    }


V1_METADATA = capability_statement(
    authorize="https://ehr.example/authorize", token="https://ehr.example/token"
)
NOT_FOUND = answered({"resourceType": "OperationOutcome"}, 404, "application/fhir+json")
NO_ANSWER = HttpFacts("https://ehr.example/x", error="ConnectTimeout: timed out")


# --- the report ------------------------------------------------------------------------------


def finding(status: Status, check_id: str = "x") -> Finding:
    return Finding(check_id, "X", status, "RFC 0", "seen")


def test_a_report_fails_when_any_finding_fails_and_counts_every_status():
    report = Report(ISS, (finding(Status.PASS), finding(Status.WARN), finding(Status.SKIP)))
    assert not report.failed
    assert report.counts == {Status.PASS: 1, Status.WARN: 1, Status.FAIL: 0, Status.SKIP: 1}
    more = report.with_findings([finding(Status.FAIL, "y")])
    assert more.failed
    assert more.counts[Status.FAIL] == 1
    assert [f.check_id for f in more.findings] == ["x", "x", "x", "y"]
    assert not report.failed  # frozen: the original is untouched


# --- smart-configuration ---------------------------------------------------------------------


def test_well_known_passes_for_a_json_object_served_as_application_json():
    result = check_well_known(answered(document(), content_type="application/json"), NOT_FOUND)
    assert result.status is Status.PASS
    assert result.duration_ms == 12.0
    assert result.fix == ""


def test_well_known_served_with_another_type_is_a_warn():
    result = check_well_known(answered(document(), content_type="text/plain"), NOT_FOUND)
    assert result.status is Status.WARN
    assert "text/plain" in result.message


def test_well_known_that_is_not_a_json_object_fails():
    facts = HttpFacts("u", 200, "application/json", None, parse_error="JSONDecodeError")
    assert check_well_known(facts, NOT_FOUND).status is Status.FAIL
    assert check_well_known(answered(["a list"]), NOT_FOUND).status is Status.FAIL


def test_missing_well_known_with_working_oauth_uris_is_a_smart_1_era_warn():
    result = check_well_known(NOT_FOUND, answered(V1_METADATA))
    assert result.status is Status.WARN
    assert "SMART 1.0-era" in result.message


@pytest.mark.parametrize("metadata", [NOT_FOUND, answered({"resourceType": "Bundle"}), NO_ANSWER])
def test_missing_well_known_without_oauth_uris_fails(metadata):
    assert check_well_known(NOT_FOUND, metadata).status is Status.FAIL


def test_a_timeout_is_a_fail_that_says_so():
    result = check_well_known(NO_ANSWER, NO_ANSWER)
    assert result.status is Status.FAIL
    assert "ConnectTimeout" in result.message
    assert "\n" not in result.message


def test_required_fields_present_pass():
    assert check_required_fields(document()).status is Status.PASS


@pytest.mark.parametrize(
    "field",
    [
        "authorization_endpoint",
        "token_endpoint",
        "capabilities",
        "code_challenge_methods_supported",
        "grant_types_supported",
    ],
)
def test_each_required_field_missing_fails(field):
    result = check_required_fields(document(**{field: None}))
    assert result.status is Status.FAIL
    assert field in result.message


def test_grant_types_without_authorization_code_fail():
    result = check_required_fields(document(grant_types_supported=["client_credentials"]))
    assert result.status is Status.FAIL


def test_required_fields_skip_without_a_document():
    assert check_required_fields(None).status is Status.SKIP


@pytest.mark.parametrize(
    ("methods", "status"),
    [
        (["S256"], Status.PASS),
        (["S256", "plain"], Status.FAIL),  # the server SHALL NOT support plain
        (["plain"], Status.FAIL),
        ([], Status.FAIL),
        (None, Status.FAIL),
    ],
)
def test_pkce_s256_required_and_plain_refused(methods, status):
    assert check_pkce(document(code_challenge_methods_supported=methods)).status is status


def test_endpoints_must_be_absolute_https_except_loopback():
    assert check_endpoints_secure(document(), {}).status is Status.PASS
    loopback = document(token_endpoint="http://127.0.0.1:9000/auth/token")
    assert check_endpoints_secure(loopback, {}).status is Status.PASS
    plain = check_endpoints_secure(document(token_endpoint="http://ehr.example/token"), {})
    assert plain.status is Status.FAIL
    assert "token_endpoint" in plain.message
    relative = check_endpoints_secure(document(jwks_uri="/jwks"), {})
    assert relative.status is Status.FAIL
    assert "jwks_uri" in relative.message


def test_endpoints_of_a_v1_server_come_from_oauth_uris():
    uris = {"authorize": "https://ehr.example/a", "token": "http://ehr.example/t"}
    assert check_endpoints_secure(None, uris).status is Status.FAIL
    assert endpoint("token_endpoint", None, uris) == "http://ehr.example/t"
    assert endpoint("revocation_endpoint", None, uris) is None
    assert check_endpoints_secure(None, {}).status is Status.SKIP


def test_issuer_is_required_with_sso_openid_connect():
    assert check_issuer(document()).status is Status.PASS
    assert check_issuer(document(issuer=None)).status is Status.FAIL
    assert check_issuer(document(issuer=None, capabilities=["launch-ehr"])).status is Status.SKIP
    assert check_issuer(document(issuer="not a url")).status is Status.FAIL


def test_openid_configuration_must_carry_the_same_issuer_and_a_jwks_uri():
    same = answered({"issuer": ISS, "jwks_uri": "https://ehr.example/jwks"})
    assert check_openid_configuration(document(), same).status is Status.PASS
    other = answered({"issuer": ISS + "/", "jwks_uri": "https://ehr.example/jwks"})
    assert check_openid_configuration(document(), other).status is Status.FAIL
    keyless = answered({"issuer": ISS})
    assert check_openid_configuration(document(), keyless).status is Status.FAIL
    assert check_openid_configuration(document(), NOT_FOUND).status is Status.FAIL
    assert check_openid_configuration(document(issuer=None), None).status is Status.SKIP


def test_openid_configuration_url_and_jwks_fallback():
    assert openid_configuration_url(ISS, None) == f"{ISS}/.well-known/openid-configuration"
    assert openid_configuration_url(ISS, {"issuer": "https://id.example/"}) == (
        "https://id.example/.well-known/openid-configuration"
    )
    assert jwks_url(document(), None) == "https://ehr.example/jwks"
    assert jwks_url(None, {"jwks_uri": "https://id.example/keys"}) == "https://id.example/keys"
    assert jwks_url(document(jwks_uri=None), {}) is None


def test_oauth_uris_consistent_with_well_known_pass():
    result = check_oauth_uris(document(), answered(V1_METADATA))
    assert result.status is Status.PASS


def test_oauth_uris_that_disagree_fail():
    moved = capability_statement(
        authorize="https://ehr.example/authorize", token="https://ehr.example/other-token"
    )
    result = check_oauth_uris(document(), answered(moved))
    assert result.status is Status.FAIL
    assert "token_endpoint" in result.message


def test_oauth_uris_absent_is_a_warn_beside_well_known_and_a_fail_alone():
    assert check_oauth_uris(document(), NOT_FOUND).status is Status.WARN
    assert check_oauth_uris(None, NOT_FOUND).status is Status.FAIL
    assert check_oauth_uris(None, answered(V1_METADATA)).status is Status.PASS
    tokenless = capability_statement(authorize="https://ehr.example/authorize")
    assert check_oauth_uris(None, answered(tokenless)).status is Status.FAIL


def test_oauth_uris_parse_ignores_junk():
    junk = {"rest": [None, {"security": {"extension": ["x", {"url": OAUTH_URIS}]}}]}
    assert oauth_uris(junk) == {}
    assert oauth_uris(None) == {}
    assert oauth_uris(V1_METADATA)["token"] == "https://ehr.example/token"
