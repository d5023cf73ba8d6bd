"""The server-side checks of `smart_check`, and `evaluate`, which runs them all (pure).

The discovery-document checks and the types live in `smart.conformance`; these judge what
our connection needs (SMART App Launch 2.2 §Capabilities), the JWKS (RFC 7517), RFC 9207,
the token endpoint's answer to a bad grant (RFC 6749 5.2), TLS and response times. No I/O
and no framework here either (time is an input), so tests call them with hand-made facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from joserfc import jwk
from joserfc.errors import JoseError

from smart.conformance import (
    CAPABILITIES,
    CONFORMANCE,
    Check,
    ConnectionNeeds,
    Finding,
    HttpFacts,
    Observations,
    Status,
    TlsFacts,
    TokenProbe,
    capabilities,
    check_endpoints_secure,
    check_issuer,
    check_oauth_uris,
    check_openid_configuration,
    check_pkce,
    check_required_fields,
    check_well_known,
    endpoint,
    oauth_uris,
)
from smart.discovery import SmartConfiguration
from smart.profiles import profile_for
from smart.scopes import parse_resource_scope
from smart.url_policy import is_loopback, is_secure_url

SLOW_MS = 2000.0  # a probe slower than this is a warn: a launch waits on these calls
EXPIRY_WARN_DAYS = 30
CLIENT_TYPES = {
    "client_secret_basic": "client-confidential-symmetric",
    "client_secret_post": "client-confidential-symmetric",
    "private_key_jwt": "client-confidential-asymmetric",
    "none": "client-public",
}
CAPABILITY_CHECKS = (
    "launch-ehr",
    "launch-standalone",
    "client-type",
    "context-ehr-patient",
    "context-standalone-patient",
    "permission-scopes",
    "permission-offline",
    "sso-openid-connect",
)


def requested_scopes(needs: ConnectionNeeds, offered: frozenset[str]) -> dict[str, set[str]]:
    """Per launch kind, the scope words the app will send this server (its profile decides
    v1 or v2 syntax from `permission-v2`, as the launch does)."""
    profile = profile_for(needs.profile)
    config = profile.adjust_discovery(SmartConfiguration("", "", "", capabilities=offered))
    return {
        kind: set(profile.request_scope(scope, config).split())
        for kind, scope in needs.scopes.items()
        if scope.split()
    }


def wanted_capabilities(needs: ConnectionNeeds, offered: frozenset[str]) -> dict[str, str]:
    """check id (of CAPABILITY_CHECKS) -> the capability our connection needs there."""
    words = requested_scopes(needs, offered)
    every = set().union(*words.values())
    versions = {p.version for w in every if (p := parse_resource_scope(w)) is not None}
    wanted = {
        "launch-ehr": "launch-ehr" if "ehr" in words else None,
        "launch-standalone": "launch-standalone" if {"patient", "provider"} & set(words) else None,
        "client-type": CLIENT_TYPES.get(needs.auth_method),
        "context-ehr-patient": "context-ehr-patient" if "launch" in words.get("ehr", ()) else None,
        "context-standalone-patient": "context-standalone-patient"
        if "launch/patient" in words.get("patient", ())
        else None,
        "permission-scopes": "permission-v2"
        if 2 in versions
        else "permission-v1"
        if 1 in versions
        else None,
        "permission-offline": "permission-offline" if "offline_access" in every else None,
        "sso-openid-connect": "sso-openid-connect" if "openid" in every else None,
    }
    return {check: capability for check, capability in wanted.items() if capability}


def _capability_check(name: str) -> Check:
    return Check(
        f"capability.{name}",
        f"capability {name}",
        CAPABILITIES,
        "list the capability in smart-configuration, or change the connection's scopes or "
        "client authentication (ehr_register) to what the server offers",
    )


def check_capabilities(
    doc: Mapping[str, Any] | None, needs: ConnectionNeeds | None
) -> tuple[Finding, ...]:
    if needs is None or doc is None:
        why = "no connection known (--connection)" if needs is None else "no capabilities list"
        return tuple(_capability_check(n).result(Status.SKIP, why) for n in CAPABILITY_CHECKS)
    offered = capabilities(doc)
    wanted = wanted_capabilities(needs, offered)
    findings = []
    for name in CAPABILITY_CHECKS:
        check, capability = _capability_check(name), wanted.get(name)
        if capability is None:
            findings.append(check.result(Status.SKIP, f"not needed by {needs.slug}"))
        elif capability in offered:
            findings.append(check.result(Status.PASS, f"{capability} listed"))
        elif capability == "permission-v1" and "permission-v2" not in offered:
            message = f"{capability} not listed (neither is permission-v2): v1 syntax assumed"
            findings.append(check.result(Status.WARN, message))
        else:
            findings.append(check.result(Status.FAIL, f"{capability} not listed, but needed"))
    return tuple(findings)


AUTH_METHOD = Check(
    "token.auth-method",
    "token endpoint auth method",
    f"{CONFORMANCE} (token_endpoint_auth_methods_supported); RFC 8414 2",
    "list the connection's method in token_endpoint_auth_methods_supported, or register "
    "the connection with a method the server lists",
)


def check_auth_method(doc: Mapping[str, Any] | None, needs: ConnectionNeeds | None) -> Finding:
    if needs is None:
        return AUTH_METHOD.result(Status.SKIP, "no connection known (--connection)")
    method = needs.auth_method
    if method == "none":
        return AUTH_METHOD.result(Status.SKIP, "public client: no client authentication")
    listed = (doc or {}).get("token_endpoint_auth_methods_supported")
    if not isinstance(listed, list):
        return AUTH_METHOD.result(Status.WARN, f"methods not published; {method} assumed")
    if method not in listed:
        return AUTH_METHOD.result(Status.FAIL, f"{method} not among {listed}")
    return AUTH_METHOD.result(Status.PASS, f"{method} listed")


JWKS = Check(
    "jwks.keys",
    "JWKS usable",
    "RFC 7517 §5; OpenID Connect Core 10.1; SMART App Launch 2.2 §Conformance (jwks_uri)",
    "serve jwks_uri as a JSON JWK Set with the public signing keys",
)
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


def usable_keys(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(kids of usable public signing keys, problems with the rest)."""
    usable, problems = [], []
    keys = body.get("keys")
    for index, key in enumerate(keys if isinstance(keys, list) else []):
        name = str(key.get("kid") or f"#{index}") if isinstance(key, dict) else f"#{index}"
        if not isinstance(key, dict) or _PRIVATE_MEMBERS & set(key):
            problems.append(f"{name}: not a public key")
        elif key.get("use") not in (None, "sig"):
            problems.append(f"{name}: use {key.get('use')!r}")
        else:
            try:
                jwk.import_key(key)
            except (JoseError, ValueError, TypeError, KeyError):
                problems.append(f"{name}: does not import")
            else:
                usable.append(name)
    return usable, problems


def check_jwks(
    doc: Mapping[str, Any] | None, seen: HttpFacts | None, needs: ConnectionNeeds | None
) -> Finding:
    if seen is None:
        openid = "sso-openid-connect" in capabilities(doc)
        asks = needs is not None and any("openid" in s.split() for s in needs.scopes.values())
        status = Status.FAIL if openid or asks else Status.SKIP
        return JWKS.result(status, "no jwks_uri published (id_tokens cannot be verified)")
    ms, body = seen.duration_ms, seen.json_object
    if body is None:
        return JWKS.result(Status.FAIL, f"{seen.seen()}: no JWK Set", ms=ms)
    usable, problems = usable_keys(body)
    if any("not a public key" in problem for problem in problems):
        return JWKS.result(
            Status.FAIL, f"private or symmetric key material published: {problems}", ms=ms
        )
    if not usable:
        return JWKS.result(
            Status.FAIL, f"no usable public keys ({problems or 'keys empty'})", ms=ms
        )
    extra = f"; ignored {problems}" if problems else ""
    return JWKS.result(Status.PASS, f"{len(usable)} usable public key(s) {usable}{extra}", ms=ms)


ISS_PARAMETER = Check(
    "rfc9207.iss-parameter",
    "iss in authorization responses",
    "RFC 9207 §2, §3; RFC 9700 4.4 (mix-up)",
    "send iss on authorization responses and set "
    "authorization_response_iss_parameter_supported: true",
)


def check_iss_parameter(doc: Mapping[str, Any] | None) -> Finding:
    value = (doc or {}).get("authorization_response_iss_parameter_supported")
    if value is True:
        return ISS_PARAMETER.result(Status.PASS, "authorization_response_iss_parameter_supported")
    said = "absent" if value is None else repr(value)
    return ISS_PARAMETER.result(
        Status.WARN, f"authorization_response_iss_parameter_supported {said}"
    )


def check_optional_endpoint(name: str, reference: str, url: str | None) -> Finding:
    check = Check(
        f"discovery.{name}",
        f"{name} endpoint",
        f"{reference}; {CONFORMANCE} (RECOMMENDED)",
        f"publish {name}_endpoint",
    )
    if url is None:
        return check.result(Status.WARN, f"no {name}_endpoint advertised")
    if not is_secure_url(url):
        return check.result(Status.FAIL, f"{url} is not absolute https", "publish it over https")
    return check.result(Status.PASS, url)


TOKEN_PROBE = Check(
    "token.error-response",
    "token endpoint errors (made-up code)",
    "RFC 6749 5.2",
    "answer a bad grant with HTTP 400 (401 for invalid_client) and a JSON error body",
)


def check_token_probe(probe: TokenProbe | None) -> Finding:
    if probe is None:
        return TOKEN_PROBE.result(Status.SKIP, "no token endpoint known to probe")
    seen, ms = probe.http, probe.http.duration_ms
    error = seen.body.get("error") if isinstance(seen.body, dict) else None
    if seen.error or (seen.status or 0) >= 500 or not isinstance(seen.body, dict):
        return TOKEN_PROBE.result(Status.FAIL, f"{seen.seen()}; error {error!r}", ms=ms)
    if probe.issued:
        return TOKEN_PROBE.result(
            Status.FAIL,
            "a token was issued for a made-up code",
            "refuse unknown codes with invalid_grant (RFC 6749 4.1.3)",
            ms,
        )
    if not isinstance(error, str):
        return TOKEN_PROBE.result(Status.FAIL, f"{seen.seen()} without an error code", ms=ms)
    if not probe.authenticated:
        return TOKEN_PROBE.result(
            Status.PASS, f"JSON OAuth error {error} (HTTP {seen.status})", ms=ms
        )
    if error == "invalid_grant":
        return TOKEN_PROBE.result(
            Status.PASS, f"client credentials accepted (invalid_grant, HTTP {seen.status})", ms=ms
        )
    if error == "invalid_client":
        return TOKEN_PROBE.result(
            Status.FAIL,
            f"the registered client credentials were refused (invalid_client, HTTP {seen.status})",
            "check the connection's client_id and secret or key (ehr_register) against the "
            "EHR's registration",
            ms,
        )
    return TOKEN_PROBE.result(
        Status.WARN,
        f"answered {error} (HTTP {seen.status}); invalid_grant expected",
        "check the client's registration (redirect URI, grant types)",
        ms,
    )


TLS = "RFC 6749 1.6, 3.1; RFC 9325"


def check_tls(facts: TlsFacts, now: datetime) -> Finding:
    """The certificate as the default context verifies it, and its days to expiry."""
    check = Check(
        f"tls.{facts.origin.split('://', 1)[-1]}",
        f"TLS {facts.origin}",
        TLS,
        "serve a certificate that verifies (chain and host name) and renew it in time",
    )
    scheme, _, rest = facts.origin.partition("://")
    if scheme == "http":
        if is_loopback(rest.rsplit(":", 1)[0].strip("[]")):
            return check.result(Status.SKIP, "loopback http: no TLS to check")
        return check.result(Status.FAIL, "plain http to a non-loopback host")
    if not facts.verified or facts.not_after is None:
        return check.result(Status.FAIL, f"certificate unverifiable: {facts.error or 'unknown'}")
    days = (facts.not_after - now).total_seconds() / 86400
    if days < 0:
        return check.result(Status.FAIL, f"certificate expired {facts.not_after:%Y-%m-%d}")
    if days < EXPIRY_WARN_DAYS:
        return check.result(
            Status.WARN, f"certificate expires in {days:.0f} days ({facts.not_after:%Y-%m-%d})"
        )
    return check.result(Status.PASS, f"valid, {days:.0f} days to expiry")


TIMES = Check(
    "timing.response-times",
    "response times",
    "practice (a launch waits on discovery, JWKS and the token endpoint)",
    f"bring each endpoint under {SLOW_MS / 1000:.0f} s (caching, capacity, network path)",
)


def check_response_times(probes: Mapping[str, HttpFacts | None]) -> Finding:
    timed = {name: seen.duration_ms for name, seen in probes.items() if seen is not None}
    if not timed:
        return TIMES.result(Status.SKIP, "nothing was probed")
    slow = {name: ms for name, ms in timed.items() if ms > SLOW_MS}
    shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in timed.items())
    if slow:
        return TIMES.result(Status.WARN, f"over {SLOW_MS:.0f} ms: {', '.join(slow)} ({shown})")
    return TIMES.result(Status.PASS, shown, ms=max(timed.values()))


def evaluate(seen: Observations, now: datetime) -> tuple[Finding, ...]:
    """Every finding about one server, in a fixed order (the same ids on every run)."""
    doc = seen.smart_configuration.json_object
    uris = oauth_uris(seen.capability_statement.json_object)
    token = seen.token.http if seen.token else None
    probes = {
        "smart-configuration": seen.smart_configuration,
        "metadata": seen.capability_statement,
        "openid-configuration": seen.openid_configuration,
        "jwks": seen.jwks,
        "token": token,
    }
    return (
        check_well_known(seen.smart_configuration, seen.capability_statement),
        check_required_fields(doc),
        check_pkce(doc),
        check_endpoints_secure(doc, uris),
        check_issuer(doc),
        check_openid_configuration(doc, seen.openid_configuration),
        check_oauth_uris(doc, seen.capability_statement),
        *check_capabilities(doc, seen.needs),
        check_auth_method(doc, seen.needs),
        check_jwks(doc, seen.jwks, seen.needs),
        check_iss_parameter(doc),
        check_optional_endpoint(
            "revocation", "RFC 7009", endpoint("revocation_endpoint", doc, uris)
        ),
        check_optional_endpoint(
            "introspection", "RFC 7662", endpoint("introspection_endpoint", doc, uris)
        ),
        check_token_probe(seen.token),
        *(check_tls(facts, now) for facts in seen.tls),
        check_response_times(probes),
    )
