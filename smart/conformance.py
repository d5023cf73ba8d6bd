"""A SMART server's conformance, judged from what probes saw (pure: no I/O, time an input).

`manage.py smart_check` (docs/smart-check.md) gathers facts about one EHR (`HttpFacts` per
document or endpoint, `TokenProbe`, `TlsFacts`) into `Observations`; `evaluate` turns them
into `Finding`s, each with its spec reference and a one-line fix. Sources: SMART App Launch
2.2 "Conformance" (the `.well-known/smart-configuration` metadata and capabilities), SMART
1.0's CapabilityStatement `oauth-uris`, OpenID Connect Discovery 1.0 4.3, RFC 6749 5.2,
RFC 7517, RFC 7636, RFC 8414, RFC 9207, RFC 7009 and RFC 7662.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from smart.discovery import OAUTH_URIS
from smart.url_policy import is_secure_url

CONFORMANCE = "SMART App Launch 2.2 §Conformance"
CAPABILITIES = "SMART App Launch 2.2 §Capabilities"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"  # not applicable (no connection known, nothing to check)


@dataclass(frozen=True)
class Finding:
    check_id: str
    title: str
    status: Status
    reference: str
    message: str  # one line: what was seen
    fix: str = ""  # one line: what to change (empty when nothing is to be done)
    duration_ms: float | None = None

    def __post_init__(self) -> None:
        # Messages quote what the EHR published: no control character (a terminal escape,
        # or a byte XML 1.0 cannot carry in the JUnit report) gets through.
        for name in ("check_id", "title", "message", "fix"):
            object.__setattr__(self, name, printable(getattr(self, name)))


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


@dataclass(frozen=True)
class Report:
    iss: str
    findings: tuple[Finding, ...]
    connection: str | None = None

    @property
    def failed(self) -> bool:
        return any(finding.status is Status.FAIL for finding in self.findings)

    @property
    def counts(self) -> dict[Status, int]:
        return {status: sum(f.status is status for f in self.findings) for status in Status}

    def with_findings(self, extra: Iterable[Finding]) -> Report:
        """The report with more findings after these (e.g. from a live launch)."""
        return replace(self, findings=self.findings + tuple(extra))


@dataclass(frozen=True)
class HttpFacts:
    """What one request saw; `error` when no HTTP answer came (timeout, refused, policy)."""

    url: str
    status: int | None = None
    content_type: str = ""
    body: Any = None  # the parsed JSON; None when the answer was not JSON
    parse_error: str | None = None
    error: str | None = None
    duration_ms: float = 0.0

    @property
    def json_object(self) -> Mapping[str, Any] | None:
        return self.body if self.status == 200 and isinstance(self.body, dict) else None

    def seen(self) -> str:
        if self.error:
            return f"no answer from {self.url} ({self.error})"
        kind = "JSON" if self.parse_error is None else "not JSON"
        return f"{self.url} answered {self.status} ({self.content_type or 'no type'}, {kind})"


@dataclass(frozen=True)
class TokenProbe:
    """A code grant with a made-up code; `http.body` keeps only `error` (never a token)."""

    http: HttpFacts
    authenticated: bool  # sent with the connection's real client authentication
    issued: bool = False  # the endpoint answered with an access token all the same


@dataclass(frozen=True)
class TlsFacts:
    origin: str  # scheme://host:port
    verified: bool = False  # the default context's verification (chain and host name)
    not_after: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class ConnectionNeeds:
    """What our registered connection will ask of the server."""

    slug: str
    auth_method: str
    scopes: Mapping[str, str]  # launch kind (ehr, patient, provider) -> configured scopes
    profile: str = "generic"


@dataclass(frozen=True)
class Observations:
    iss: str
    smart_configuration: HttpFacts
    capability_statement: HttpFacts
    openid_configuration: HttpFacts | None = None
    jwks: HttpFacts | None = None
    token: TokenProbe | None = None
    tls: tuple[TlsFacts, ...] = ()
    needs: ConnectionNeeds | None = None


@dataclass(frozen=True)
class Check:
    """One check's fixed words; `result` makes its finding."""

    check_id: str
    title: str
    reference: str
    fix: str

    def result(
        self, status: Status, message: str, fix: str | None = None, ms: float | None = None
    ) -> Finding:
        wanted = fix if fix is not None else self.fix
        return Finding(
            self.check_id,
            self.title,
            status,
            self.reference,
            " ".join(message.split())[:300],
            wanted if status in (Status.WARN, Status.FAIL) else "",
            ms,
        )


def oauth_uris(capability_statement: Mapping[str, Any] | None) -> dict[str, str]:
    """SMART 1.0: the CapabilityStatement's `rest.security` `oauth-uris` extension."""
    for rest in (capability_statement or {}).get("rest") or []:
        extensions = ((rest or {}).get("security") or {}).get("extension") or []
        for extension in extensions:
            if isinstance(extension, dict) and extension.get("url") == OAUTH_URIS:
                return {
                    str(item.get("url")): item["valueUri"]
                    for item in extension.get("extension") or []
                    if isinstance(item, dict) and isinstance(item.get("valueUri"), str)
                }
    return {}


_URI_NAMES = {
    "authorization_endpoint": "authorize",
    "token_endpoint": "token",
    "revocation_endpoint": "revoke",
    "introspection_endpoint": "introspect",
}


def endpoint(name: str, doc: Mapping[str, Any] | None, uris: Mapping[str, str]) -> str | None:
    """`name` from smart-configuration, else from the CapabilityStatement's oauth-uris."""
    value = doc.get(name) if doc is not None else uris.get(_URI_NAMES.get(name, ""))
    return value if isinstance(value, str) and value else None


def capabilities(doc: Mapping[str, Any] | None) -> frozenset[str]:
    value = (doc or {}).get("capabilities")
    return (
        frozenset(v for v in value if isinstance(v, str))
        if isinstance(value, list)
        else frozenset()
    )


def openid_configuration_url(iss: str, doc: Mapping[str, Any] | None) -> str:
    """OpenID Connect Discovery 1.0 4: `{issuer}/.well-known/openid-configuration`."""
    issuer = (doc or {}).get("issuer")
    base = issuer if isinstance(issuer, str) and issuer else iss
    return f"{base.rstrip('/')}/.well-known/openid-configuration"


def jwks_url(doc: Mapping[str, Any] | None, openid: Mapping[str, Any] | None) -> str | None:
    for source in (doc, openid):
        value = (source or {}).get("jwks_uri")
        if isinstance(value, str) and value:
            return value
    return None


# --- discovery documents ---------------------------------------------------------------------

WELL_KNOWN = Check(
    "discovery.smart-configuration",
    "smart-configuration published",
    f"{CONFORMANCE} (well-known)",
    "serve {iss}/.well-known/smart-configuration as a JSON object with application/json",
)
REQUIRED = Check(
    "discovery.required-fields",
    "smart-configuration required fields",
    f"{CONFORMANCE} (Metadata)",
    "add the REQUIRED fields: authorization_endpoint, token_endpoint, capabilities, "
    "code_challenge_methods_supported, grant_types_supported",
)
PKCE = Check(
    "discovery.pkce",
    "PKCE S256 only",
    f"{CONFORMANCE} (Metadata); RFC 7636 4.2",
    'list code_challenge_methods_supported: ["S256"] (S256 SHALL, plain SHALL NOT)',
)


def check_well_known(smart_config: HttpFacts, capability_statement: HttpFacts) -> Finding:
    ms = smart_config.duration_ms
    if smart_config.status == 200 and isinstance(smart_config.body, dict):
        media = smart_config.content_type.split(";")[0].strip().lower()
        if media != "application/json":
            return WELL_KNOWN.result(
                Status.WARN,
                f"served as {smart_config.content_type or 'no Content-Type'}",
                "answer with Content-Type: application/json (servers SHALL)",
                ms,
            )
        return WELL_KNOWN.result(
            Status.PASS, f"200 application/json, {len(smart_config.body)} fields", ms=ms
        )
    if smart_config.status == 200:
        return WELL_KNOWN.result(Status.FAIL, f"{smart_config.seen()}: not a JSON object", ms=ms)
    if oauth_uris(capability_statement.json_object):
        return WELL_KNOWN.result(
            Status.WARN,
            f"{smart_config.seen()}; the CapabilityStatement's oauth-uris work: "
            "a SMART 1.0-era server",
            ms=ms,
        )
    return WELL_KNOWN.result(
        Status.FAIL,
        f"{smart_config.seen()}, and /metadata has no oauth-uris: no SMART discovery",
        ms=ms,
    )


def check_required_fields(doc: Mapping[str, Any] | None) -> Finding:
    if doc is None:
        return REQUIRED.result(Status.SKIP, "no smart-configuration to read")
    kinds = {
        "authorization_endpoint": str,
        "token_endpoint": str,
        "capabilities": list,
        "code_challenge_methods_supported": list,
        "grant_types_supported": list,
    }
    wrong = [name for name, kind in kinds.items() if not isinstance(doc.get(name), kind)]
    if wrong:
        return REQUIRED.result(Status.FAIL, f"missing or of the wrong type: {', '.join(wrong)}")
    if "authorization_code" not in doc["grant_types_supported"]:
        return REQUIRED.result(
            Status.FAIL,
            "grant_types_supported lacks authorization_code",
            "list authorization_code in grant_types_supported (App Launch uses it)",
        )
    return REQUIRED.result(Status.PASS, f"all present; grants {doc['grant_types_supported']}")


def check_pkce(doc: Mapping[str, Any] | None) -> Finding:
    if doc is None:
        return PKCE.result(Status.SKIP, "no smart-configuration to read")
    methods = doc.get("code_challenge_methods_supported")
    methods = methods if isinstance(methods, list) else []
    if "S256" not in methods:
        return PKCE.result(Status.FAIL, f"S256 not listed (listed: {methods})")
    if "plain" in methods:
        return PKCE.result(Status.FAIL, "plain is listed: a code_challenge could be the verifier")
    return PKCE.result(Status.PASS, f"listed: {methods}")


ENDPOINTS = Check(
    "discovery.endpoints-secure",
    "endpoints are absolute https",
    "RFC 6749 3.1, 3.2; RFC 8252 7.3 (loopback http)",
    "publish absolute https URLs (http only for loopback test servers)",
)
_URL_FIELDS = (*_URI_NAMES, "jwks_uri", "registration_endpoint", "management_endpoint")


def check_endpoints_secure(doc: Mapping[str, Any] | None, uris: Mapping[str, str]) -> Finding:
    named = {name: doc.get(name) for name in _URL_FIELDS} if doc is not None else dict(uris)
    present = {name: value for name, value in named.items() if value is not None}
    if not present:
        return ENDPOINTS.result(Status.SKIP, "no endpoints published")
    bad = [
        f"{name}={value!r}"
        for name, value in present.items()
        if not (isinstance(value, str) and is_secure_url(value))
    ]
    if bad:
        return ENDPOINTS.result(Status.FAIL, f"not absolute https: {', '.join(bad)}")
    return ENDPOINTS.result(Status.PASS, f"{len(present)} endpoints: {', '.join(present)}")


ISSUER = Check(
    "discovery.issuer",
    "issuer for sso-openid-connect",
    f"{CONFORMANCE} (Metadata: issuer CONDITIONAL)",
    "publish issuer (the OpenID Connect issuer URL) when capabilities list sso-openid-connect",
)
OPENID = Check(
    "oidc.openid-configuration",
    "openid-configuration matches issuer",
    "OpenID Connect Discovery 1.0 §4.3; OpenID Connect Core 3.1.3.7",
    "serve {issuer}/.well-known/openid-configuration with the identical issuer and a jwks_uri",
)


def check_issuer(doc: Mapping[str, Any] | None) -> Finding:
    if doc is None:
        return ISSUER.result(Status.SKIP, "no smart-configuration to read")
    issuer, sso = doc.get("issuer"), "sso-openid-connect" in capabilities(doc)
    if issuer is None:
        if sso:
            return ISSUER.result(Status.FAIL, "sso-openid-connect listed but no issuer")
        return ISSUER.result(Status.SKIP, "no issuer and no sso-openid-connect")
    if not isinstance(issuer, str) or not is_secure_url(issuer):
        return ISSUER.result(Status.FAIL, f"issuer {issuer!r} is not an absolute https URL")
    return ISSUER.result(Status.PASS, f"issuer {issuer}")


def check_openid_configuration(doc: Mapping[str, Any] | None, seen: HttpFacts | None) -> Finding:
    issuer = (doc or {}).get("issuer")
    if not isinstance(issuer, str) or seen is None:
        return OPENID.result(Status.SKIP, "no issuer published to check")
    ms, body = seen.duration_ms, seen.json_object
    if body is None:
        return OPENID.result(Status.FAIL, f"{seen.seen()}: no JSON object", ms=ms)
    if body.get("issuer") != issuer:
        return OPENID.result(
            Status.FAIL, f"issuer {body.get('issuer')!r} there, {issuer!r} here", ms=ms
        )
    if not isinstance(body.get("jwks_uri"), str):
        return OPENID.result(Status.FAIL, "no jwks_uri: id_tokens cannot be verified", ms=ms)
    return OPENID.result(Status.PASS, f"same issuer; jwks_uri {body['jwks_uri']}", ms=ms)


OAUTH_URIS_CHECK = Check(
    "capability-statement.oauth-uris",
    "CapabilityStatement oauth-uris",
    "SMART App Launch 1.0 §Conformance (CapabilityStatement; deprecated in 2.x)",
    "add the oauth-uris extension (authorize, token) to rest.security of {iss}/metadata",
)


def check_oauth_uris(doc: Mapping[str, Any] | None, seen: HttpFacts) -> Finding:
    uris, ms = oauth_uris(seen.json_object), seen.duration_ms
    if not uris:
        status = Status.WARN if doc is not None else Status.FAIL
        what = seen.seen() if seen.json_object is None else "no oauth-uris extension"
        return OAUTH_URIS_CHECK.result(status, f"{what}; SMART 1.0 clients read it", ms=ms)
    missing = [name for name in ("authorize", "token") if name not in uris]
    if missing:
        return OAUTH_URIS_CHECK.result(Status.FAIL, f"oauth-uris lacks {missing}", ms=ms)
    if doc is None:
        return OAUTH_URIS_CHECK.result(Status.PASS, "authorize and token published", ms=ms)
    differ = [
        name
        for name, uri in (("authorization_endpoint", "authorize"), ("token_endpoint", "token"))
        if doc.get(name) != uris[uri]
    ]
    if differ:
        return OAUTH_URIS_CHECK.result(
            Status.FAIL,
            f"oauth-uris and smart-configuration disagree on {', '.join(differ)}",
            "publish the same authorize and token URLs in both documents",
            ms,
        )
    return OAUTH_URIS_CHECK.result(Status.PASS, "present; agrees with smart-configuration", ms=ms)
