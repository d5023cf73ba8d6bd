"""smart.conformance_rules: what a connection needs, JWKS, RFC 9207, the token probe, TLS
and timing, judged from hand-made facts (no network, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwk

from smart.conformance import (
    ConnectionNeeds,
    HttpFacts,
    Observations,
    Status,
    TlsFacts,
    TokenProbe,
)
from smart.conformance_rules import (
    CAPABILITY_CHECKS,
    check_auth_method,
    check_capabilities,
    check_iss_parameter,
    check_jwks,
    check_optional_endpoint,
    check_response_times,
    check_tls,
    check_token_probe,
    evaluate,
    usable_keys,
    wanted_capabilities,
)
from smart.scopes import DEFAULT_SCOPES

NOW = datetime(2026, 11, 1, tzinfo=UTC)
EVERYTHING = frozenset(
    {
        "launch-ehr",
        "launch-standalone",
        "client-confidential-symmetric",
        "context-ehr-patient",
        "context-standalone-patient",
        "permission-v2",
        "permission-offline",
        "sso-openid-connect",
    }
)


def needs(method: str = "client_secret_basic", **scopes: str) -> ConnectionNeeds:
    configured = {kind.value: scope for kind, scope in DEFAULT_SCOPES.items()}
    configured.update(scopes)
    return ConnectionNeeds("ehr", method, configured)


def doc(**changes: Any) -> dict[str, Any]:
    return {"capabilities": sorted(EVERYTHING), **changes}


def by_id(findings: tuple[Any, ...]) -> dict[str, Status]:
    return {f.check_id.removeprefix("capability."): f.status for f in findings}


def answered(body: Any, status: int = 200) -> HttpFacts:
    return HttpFacts("https://ehr.example/x", status, "application/json", body, duration_ms=5.0)


# --- capabilities ----------------------------------------------------------------------------


def test_the_default_connection_needs_every_checked_capability():
    wanted = wanted_capabilities(needs(), EVERYTHING)
    assert set(wanted) == set(CAPABILITY_CHECKS)
    assert wanted["permission-scopes"] == "permission-v2"
    assert set(by_id(check_capabilities(doc(), needs())).values()) == {Status.PASS}


def test_client_type_follows_the_auth_method():
    assert wanted_capabilities(needs("private_key_jwt"), EVERYTHING)["client-type"] == (
        "client-confidential-asymmetric"
    )
    assert wanted_capabilities(needs("none"), EVERYTHING)["client-type"] == "client-public"
    result = by_id(check_capabilities(doc(), needs("private_key_jwt")))
    assert result["client-type"] is Status.FAIL


def test_a_missing_needed_capability_fails_and_an_unneeded_one_skips():
    offered = sorted(EVERYTHING - {"permission-offline", "sso-openid-connect"})
    result = by_id(check_capabilities({"capabilities": offered}, needs()))
    assert result["permission-offline"] is Status.FAIL  # standalone launches ask offline_access
    assert result["sso-openid-connect"] is Status.FAIL  # every launch asks openid
    no_refresh = needs(patient="launch/patient patient/Patient.rs", provider="")
    result = by_id(check_capabilities({"capabilities": offered}, no_refresh))
    assert result["permission-offline"] is Status.SKIP  # the EHR launch asks online_access
    assert result["sso-openid-connect"] is Status.FAIL  # the EHR launch still asks openid
    only_standalone = needs(ehr="", patient="launch/patient patient/Patient.rs", provider="")
    result = by_id(check_capabilities({"capabilities": offered}, only_standalone))
    assert result["launch-ehr"] is Status.SKIP
    assert result["context-ehr-patient"] is Status.SKIP
    assert result["permission-offline"] is Status.SKIP
    assert result["sso-openid-connect"] is Status.SKIP
    assert result["context-standalone-patient"] is Status.PASS


def test_a_server_without_permission_v2_is_sent_v1_scopes_and_must_list_permission_v1():
    v1_only = sorted((EVERYTHING - {"permission-v2"}) | {"permission-v1"})
    assert wanted_capabilities(needs(), frozenset(v1_only))["permission-scopes"] == (
        "permission-v1"
    )
    assert by_id(check_capabilities({"capabilities": v1_only}, needs()))["permission-scopes"] is (
        Status.PASS
    )
    neither = sorted(EVERYTHING - {"permission-v2"})
    result = by_id(check_capabilities({"capabilities": neither}, needs()))
    assert result["permission-scopes"] is Status.WARN  # SMART 1.0 servers predate the word


def test_the_smart_v1_profile_asks_v1_even_of_a_v2_server():
    v1_profile = ConnectionNeeds(
        "ehr", "client_secret_basic", {"ehr": "launch patient/*.rs"}, "smart-v1"
    )
    assert wanted_capabilities(v1_profile, EVERYTHING)["permission-scopes"] == "permission-v1"


def test_capabilities_skip_without_a_connection_or_a_document():
    assert set(by_id(check_capabilities(doc(), None)).values()) == {Status.SKIP}
    assert set(by_id(check_capabilities(None, needs())).values()) == {Status.SKIP}
    assert len(check_capabilities(None, None)) == len(CAPABILITY_CHECKS)


# --- token endpoint auth method, RFC 9207, optional endpoints --------------------------------


@pytest.mark.parametrize(
    ("listed", "method", "status"),
    [
        (["client_secret_basic"], "client_secret_basic", Status.PASS),
        (["private_key_jwt"], "client_secret_basic", Status.FAIL),
        (None, "client_secret_basic", Status.WARN),
        (["client_secret_basic"], "none", Status.SKIP),
    ],
)
def test_auth_method(listed, method, status):
    document = {} if listed is None else {"token_endpoint_auth_methods_supported": listed}
    assert check_auth_method(document, needs(method)).status is status
    assert check_auth_method(document, None).status is Status.SKIP


@pytest.mark.parametrize(("value", "status"), [(True, Status.PASS), (False, Status.WARN)])
def test_rfc_9207_iss_parameter(value, status):
    found = check_iss_parameter({"authorization_response_iss_parameter_supported": value})
    assert found.status is status
    assert check_iss_parameter({}).status is Status.WARN
    assert check_iss_parameter(None).status is Status.WARN


def test_revocation_endpoint_absent_warns_insecure_fails():
    assert check_optional_endpoint("revocation", "RFC 7009", None).status is Status.WARN
    https = check_optional_endpoint("revocation", "RFC 7009", "https://ehr.example/revoke")
    assert https.status is Status.PASS
    plain = check_optional_endpoint("revocation", "RFC 7009", "http://ehr.example/revoke")
    assert plain.status is Status.FAIL


# --- JWKS ------------------------------------------------------------------------------------


def public_key(kid: str = "k1") -> dict[str, Any]:
    key = jwk.ECKey.generate_key("P-256", private=True)
    return {**key.as_dict(private=False), "kid": kid, "use": "sig"}


def test_jwks_with_a_public_signing_key_passes():
    found = check_jwks(doc(), answered({"keys": [public_key()]}), needs())
    assert found.status is Status.PASS
    assert "k1" in found.message
    assert found.duration_ms == 5.0


@pytest.mark.parametrize(
    "body",
    [
        {"keys": []},
        {"keys": [{"kty": "RSA", "kid": "broken"}]},
        {"keys": [{**public_key(), "use": "enc"}]},
        {"nokeys": True},
    ],
)
def test_jwks_without_a_usable_key_fails(body):
    assert check_jwks(doc(), answered(body), needs()).status is Status.FAIL


def test_jwks_publishing_private_material_fails():
    private = {**jwk.ECKey.generate_key("P-256", private=True).as_dict(private=True), "kid": "p"}
    found = check_jwks(doc(), answered({"keys": [public_key(), private]}), needs())
    assert found.status is Status.FAIL
    assert "private" in found.message
    assert usable_keys({"keys": [private]}) == ([], ["p: not a public key"])


def test_jwks_down_or_missing():
    down = HttpFacts("https://ehr.example/jwks", error="ReadTimeout: timed out")
    assert check_jwks(doc(), down, needs()).status is Status.FAIL
    assert check_jwks(doc(), answered({"error": "x"}, 503), needs()).status is Status.FAIL
    assert check_jwks(doc(), None, needs()).status is Status.FAIL  # openid needs one
    no_oidc = {"capabilities": ["launch-ehr"]}
    assert check_jwks(no_oidc, None, None).status is Status.SKIP


# --- the token probe -------------------------------------------------------------------------


def probe(body: Any, status: int = 400, authenticated: bool = True, **kw: Any) -> TokenProbe:
    return TokenProbe(answered(body, status), authenticated, **kw)


def test_token_probe_outcomes():
    assert check_token_probe(probe({"error": "invalid_grant"})).status is Status.PASS
    refused = check_token_probe(probe({"error": "invalid_client"}, 401))
    assert refused.status is Status.FAIL
    assert refused.message.startswith("the registered client credentials were refused")
    assert check_token_probe(probe({"error": "invalid_request"})).status is Status.WARN
    unauthenticated = probe({"error": "invalid_client"}, 401, authenticated=False)
    assert check_token_probe(unauthenticated).status is Status.PASS
    assert check_token_probe(None).status is Status.SKIP


@pytest.mark.parametrize(
    "seen",
    [
        answered({"error": "server_error"}, 500),
        HttpFacts("u", 400, "text/html", None, parse_error="JSONDecodeError"),
        HttpFacts("u", error="ConnectError: refused"),
        answered({"message": "no error code"}, 400),
    ],
)
def test_token_probe_failures(seen):
    assert check_token_probe(TokenProbe(seen, authenticated=True)).status is Status.FAIL


def test_a_token_for_a_made_up_code_fails():
    found = check_token_probe(probe({}, 200, issued=True))
    assert found.status is Status.FAIL
    assert "issued" in found.message


# --- TLS and timing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "status"),
    [
        (TlsFacts("https://ehr.example:443", True, NOW + timedelta(days=90)), Status.PASS),
        (TlsFacts("https://ehr.example:443", True, NOW + timedelta(days=10)), Status.WARN),
        (TlsFacts("https://ehr.example:443", True, NOW - timedelta(days=1)), Status.FAIL),
        (TlsFacts("https://ehr.example:443", error="self-signed certificate"), Status.FAIL),
        (TlsFacts("http://127.0.0.1:9000"), Status.SKIP),
        (TlsFacts("http://localhost:9000"), Status.SKIP),
        (TlsFacts("http://ehr.example:80"), Status.FAIL),
    ],
)
def test_tls(facts, status):
    found = check_tls(facts, NOW)
    assert found.status is status
    assert found.check_id == f"tls.{facts.origin.split('://')[1]}"


def test_tls_message_says_the_days_left():
    found = check_tls(TlsFacts("https://ehr.example:443", True, NOW + timedelta(days=10)), NOW)
    assert "10 days" in found.message


def test_response_times():
    fast = {"jwks": answered({}), "token": None}
    assert check_response_times(fast).status is Status.PASS
    slow = {"jwks": HttpFacts("u", 200, duration_ms=2500.0), "token": answered({})}
    found = check_response_times(slow)
    assert found.status is Status.WARN
    assert "jwks" in found.message
    assert check_response_times({"token": None}).status is Status.SKIP


# --- all together ----------------------------------------------------------------------------


def test_evaluate_gives_the_same_ids_in_the_same_order_whatever_was_seen():
    nothing = HttpFacts("https://ehr.example/x", error="ConnectError: refused")
    blind = evaluate(Observations("https://ehr.example/fhir", nothing, nothing), NOW)
    full = evaluate(
        Observations(
            "https://ehr.example/fhir",
            answered(doc()),
            nothing,
            jwks=answered({"keys": [public_key()]}),
            token=probe({"error": "invalid_grant"}),
            needs=needs(),
        ),
        NOW,
    )
    assert [f.check_id for f in blind] == [f.check_id for f in full]
    assert all("\n" not in f.message for f in (*blind, *full))
