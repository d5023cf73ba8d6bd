"""SMART discovery documents: where an EHR's endpoints are, and what it can do (pure).

SMART App Launch 2.x "conformance": the `.well-known/smart-configuration` document, or, for
SMART 1.0-era servers, the CapabilityStatement's `oauth-uris` extension. Parsed once into a
frozen `SmartConfiguration` and checked: absolute https endpoints (loopback http allowed),
S256 not refused. `smartapp.discovery` fetches and caches; this module only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from smart.errors import DiscoveryFailed
from smart.url_policy import is_secure_url

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass(frozen=True)
class SmartConfiguration:
    issuer: str  # the FHIR base the app was launched from (the `iss`)
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    jwks_uri: str | None = None
    oidc_issuer: str | None = None
    capabilities: frozenset[str] = frozenset()
    code_challenge_methods: frozenset[str] = frozenset()
    auth_methods: frozenset[str] = frozenset()
    iss_parameter_supported: bool = False
    source: str = "smart-configuration"

    @property
    def supports_v2_scopes(self) -> bool:
        return "permission-v2" in self.capabilities

    @classmethod
    def from_smart_configuration(cls, iss: str, body: Mapping[str, Any]) -> SmartConfiguration:
        def url(name: str, required: bool = False) -> str | None:
            value = body.get(name)
            if value is None and not required:
                return None
            return _absolute(name, value)

        methods = _strings(body.get("code_challenge_methods_supported"))
        if methods and "S256" not in methods:
            raise DiscoveryFailed(f"{iss} does not support PKCE S256")
        return cls(
            issuer=iss,
            authorization_endpoint=str(url("authorization_endpoint", required=True)),
            token_endpoint=str(url("token_endpoint", required=True)),
            revocation_endpoint=url("revocation_endpoint"),
            introspection_endpoint=url("introspection_endpoint"),
            jwks_uri=url("jwks_uri"),
            oidc_issuer=body.get("issuer") if isinstance(body.get("issuer"), str) else None,
            capabilities=_strings(body.get("capabilities")),
            code_challenge_methods=methods,
            auth_methods=_strings(body.get("token_endpoint_auth_methods_supported")),
            iss_parameter_supported=body.get("authorization_response_iss_parameter_supported")
            is True,
        )

    @classmethod
    def from_capability_statement(cls, iss: str, body: Mapping[str, Any]) -> SmartConfiguration:
        for rest in body.get("rest") or []:
            for extension in (rest.get("security") or {}).get("extension") or []:
                if extension.get("url") != OAUTH_URIS:
                    continue
                uris = {
                    item.get("url"): item.get("valueUri")
                    for item in extension.get("extension") or []
                }
                return cls(
                    issuer=iss,
                    authorization_endpoint=_absolute("authorize", uris.get("authorize")),
                    token_endpoint=_absolute("token", uris.get("token")),
                    revocation_endpoint=_absolute("revoke", uris["revoke"])
                    if uris.get("revoke")
                    else None,
                    introspection_endpoint=_absolute("introspect", uris["introspect"])
                    if uris.get("introspect")
                    else None,
                    source="capability-statement",
                )
        raise DiscoveryFailed(f"{iss}/metadata has no oauth-uris extension")


def _strings(value: Any) -> frozenset[str]:
    return (
        frozenset(item for item in value if isinstance(item, str))
        if isinstance(value, list)
        else frozenset()
    )


def _absolute(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DiscoveryFailed(f"discovery: {name} is missing")
    if not is_secure_url(value):
        raise DiscoveryFailed(f"discovery: {name} must be an absolute https URL")
    return value


def to_json(config: SmartConfiguration) -> dict[str, Any]:
    data = asdict(config)
    for name in ("capabilities", "code_challenge_methods", "auth_methods"):
        data[name] = sorted(data[name])
    return data


def from_json(data: dict[str, Any]) -> SmartConfiguration:
    for name in ("capabilities", "code_challenge_methods", "auth_methods"):
        data[name] = frozenset(data[name])
    return SmartConfiguration(**data)
