"""`manage.py smart_check` against the real sandbox EHR over HTTP, one simulated server each."""

from __future__ import annotations

import base64
import io
import json
from typing import Any
from xml.etree import ElementTree

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.simulation import SimulationError, parse_options
from smartapp.conformance.checks import run_checks
from tests.fixtures.app import SECRET


def smart_check(*args: str, fmt: str = "json") -> tuple[str, int]:
    out = io.StringIO()
    try:
        call_command("smart_check", *args, "--format", fmt, stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc.returncode
    return out.getvalue(), 0


def run(*args: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]], int]:
    text, code = smart_check(*args)
    report = json.loads(text)
    return report, {f["check_id"]: f for f in report["findings"]}, code


def statuses(findings: dict[str, dict[str, Any]], wanted: str) -> set[str]:
    return {check for check, f in findings.items() if f["status"] == wanted}


ALL_PASS_BUT_TLS = {"tls"}  # the sandbox is loopback http: no TLS to check


def test_the_default_sandbox_passes_every_check(sandbox, connect):
    connection = connect("client_secret_basic")
    report, findings, code = run("--iss", connection.iss)
    assert code == 0
    assert report["connection"] == connection.slug
    assert report["failed"] is False
    assert statuses(findings, "warn") == set()
    assert statuses(findings, "fail") == set()
    assert {check.split(".")[0] for check in statuses(findings, "skip")} == ALL_PASS_BUT_TLS
    assert findings["token.error-response"]["message"].startswith("client credentials accepted")
    assert findings["capability.client-type"]["message"] == ("client-confidential-symmetric listed")
    for probed in ("discovery.smart-configuration", "jwks.keys", "token.error-response"):
        assert findings[probed]["duration_ms"] > 0
    assert report["counts"]["pass"] == len(findings) - 1


def test_without_a_connection_the_connection_checks_skip(sandbox):
    report, findings, code = run("--iss", sandbox.base())
    assert code == 0
    assert report["connection"] is None
    capability_checks = {check for check in findings if check.startswith("capability.")}
    assert len(capability_checks) == 8
    assert capability_checks | {"token.auth-method"} <= statuses(findings, "skip")
    # Unauthenticated, any JSON OAuth error is the right answer to a made-up code.
    assert findings["token.error-response"]["status"] == "pass"
    assert "JSON OAuth error" in findings["token.error-response"]["message"]


def test_the_connection_is_found_by_its_iss_or_named(sandbox, connect):
    connection = connect("private_key_jwt", slug="asym")
    for args in (("--iss", connection.iss), ("--connection", "asym")):
        report, findings, code = run(*args)
        assert code == 0, findings
        assert report["connection"] == "asym"
        assert findings["capability.client-type"]["message"] == (
            "client-confidential-asymmetric listed"
        )
        assert findings["token.error-response"]["status"] == "pass"
    with pytest.raises(CommandError, match="registered for"):
        call_command("smart_check", "--connection", "asym", "--iss", sandbox.base(smart="v1"))
    with pytest.raises(CommandError, match="no connection"):
        call_command("smart_check", "--connection", "nobody")


def test_a_smart_v1_server_warns_and_reads_the_capability_statement(sandbox, connect):
    connection = connect("client_secret_basic", smart="v1")
    _report, findings, code = run("--iss", connection.iss)
    well_known = findings["discovery.smart-configuration"]
    assert well_known["status"] == "warn"
    assert "SMART 1.0-era server" in well_known["message"]
    assert "404" in well_known["message"]
    assert findings["capability-statement.oauth-uris"]["status"] == "pass"
    assert findings["discovery.endpoints-secure"]["status"] == "pass"  # from oauth-uris
    for unread in ("discovery.required-fields", "discovery.pkce", "capability.launch-ehr"):
        assert findings[unread]["status"] == "skip", unread
    assert findings["rfc9207.iss-parameter"]["status"] == "warn"
    assert findings["token.auth-method"]["status"] == "warn"
    assert findings["jwks.keys"]["status"] == "pass"  # from openid-configuration
    assert findings["token.error-response"]["status"] == "pass"
    assert statuses(findings, "fail") == set()
    assert code == 0


def test_a_server_without_iss_in_responses_is_an_rfc_9207_warn(sandbox):
    _report, findings, code = run("--iss", sandbox.base(iss_in_response=False))
    rfc9207 = findings["rfc9207.iss-parameter"]
    assert rfc9207["status"] == "warn"
    assert rfc9207["reference"].startswith("RFC 9207")
    assert "false" in rfc9207["message"].lower()
    assert rfc9207["fix"]
    assert statuses(findings, "warn") == {"rfc9207.iss-parameter"}
    assert code == 0


def test_refused_client_credentials_fail_the_check(sandbox, connect):
    connection = connect("client_secret_basic", token_error="invalid_client")
    report, findings, code = run("--iss", connection.iss)
    probe = findings["token.error-response"]
    assert probe["status"] == "fail"
    assert probe["message"].startswith("the registered client credentials were refused")
    assert "HTTP 401" in probe["message"]
    assert probe["reference"] == "RFC 6749 5.2"
    assert statuses(findings, "fail") == {"token.error-response"}
    assert report["failed"] is True
    assert code == 1


def test_a_token_endpoint_answering_500_fails(sandbox, connect):
    connection = connect("client_secret_post", token_error="server_error")
    _report, findings, code = run("--iss", connection.iss)
    probe = findings["token.error-response"]
    assert probe["status"] == "fail"
    assert "answered 500" in probe["message"]
    assert code == 1


@pytest.mark.parametrize(("mode", "seen"), [("down", "answered 503"), ("empty", "keys empty")])
def test_a_jwks_that_is_down_or_empty_fails(sandbox, mode, seen):
    _report, findings, code = run("--iss", sandbox.base(jwks=mode))
    keys = findings["jwks.keys"]
    assert keys["status"] == "fail"
    assert seen in keys["message"]
    assert keys["fix"]
    assert statuses(findings, "fail") == {"jwks.keys"}
    assert code == 1


def test_the_jwks_option_is_parsed_strictly():
    assert parse_options({"jwks": "down"}).jwks == "down"
    with pytest.raises(SimulationError, match="jwks"):
        parse_options({"jwks": "gone"})


@pytest.mark.django_db
def test_a_server_that_does_not_answer_is_a_fail_not_a_traceback():
    _report, findings, code = run("--iss", "http://127.0.0.1:9/fhir")
    assert code == 1
    well_known = findings["discovery.smart-configuration"]
    assert well_known["status"] == "fail"
    assert "no answer" in well_known["message"]
    assert "ConnectError" in well_known["message"]
    assert findings["token.error-response"]["status"] == "skip"


def test_a_slow_token_endpoint_is_a_timing_warn(sandbox):
    _report, findings, code = run("--iss", sandbox.base(token_delay_ms=2100))
    timing = findings["timing.response-times"]
    assert timing["status"] == "warn"
    assert "token" in timing["message"]
    assert findings["token.error-response"]["duration_ms"] > 2000
    assert code == 0


def test_junit_output_is_well_formed_with_the_right_counts(sandbox, connect):
    connection = connect("client_secret_basic", jwks="down", iss_in_response=False)
    text, code = smart_check("--iss", connection.iss, fmt="junit")
    assert code == 1
    suite = ElementTree.fromstring(text)  # noqa: S314 - our own output
    assert suite.tag == "testsuite"
    cases = suite.findall("testcase")
    failed = [case.get("name") for case in cases if case.find("failure") is not None]
    skipped = [case.get("name") for case in cases if case.find("skipped") is not None]
    assert suite.get("tests") == str(len(cases)) == "23"
    assert suite.get("failures") == str(len(failed)) == "1"
    assert suite.get("skipped") == str(len(skipped)) == "1"
    assert suite.get("errors") == "0"
    assert failed == ["jwks.keys"]
    by_name = {case.get("name"): case for case in cases}
    warned = by_name["rfc9207.iss-parameter"]
    assert warned.find("failure") is None
    assert warned.findtext("system-out", "").startswith("WARN:")
    assert "RFC 6749 5.2" in by_name["token.error-response"].findtext("system-out", "")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties == {"iss": connection.iss, "connection": connection.slug}


@pytest.mark.parametrize("token_error", [None, "invalid_client"])
def test_no_output_carries_the_client_secret(sandbox, connect, token_error):
    options = {"token_error": token_error} if token_error else {}
    connection = connect("client_secret_basic", **options)
    basic = base64.b64encode(f"{connection.client_id}:{SECRET}".encode()).decode()
    for fmt in ("table", "json", "junit"):
        text, _ = smart_check("--iss", connection.iss, fmt=fmt)
        assert text
        assert SECRET not in text
        assert basic not in text
        assert "access_token" not in text


def test_the_table_says_what_failed_and_how_to_fix_it(sandbox, connect):
    connection = connect("client_secret_basic", token_error="invalid_client")
    text, code = smart_check("--iss", connection.iss, fmt="table")
    assert code == 1
    lines = text.splitlines()
    failing = next(i for i, line in enumerate(lines) if line.startswith("FAIL"))
    assert "token.error-response" in lines[failing]
    assert "fix: check the connection's client_id" in lines[failing + 1]
    assert "ref: RFC 6749 5.2" in lines[failing + 2]
    assert lines[-1].startswith("FAILED: ")


def test_credentials_go_only_to_the_connections_own_server(sandbox, connect):
    connection = connect("client_secret_basic")
    with pytest.raises(ValueError, match="another iss"):
        run_checks(sandbox.base(smart="v1"), connection)
    assert sandbox.stats()["token_requests"] == {}
