"""The sandbox's discovery documents: SMART configuration (SMART App Launch 2.x
"conformance"), OpenID Connect discovery and the FHIR CapabilityStatement.

- `{base}/.well-known/smart-configuration`; absent on a `smart: v1` base, which publishes
  only the CapabilityStatement with the `oauth-uris` extension, as SMART 1.0 servers did.
- SMART Backend Services: `client_credentials` in `grant_types_supported`, with the
  "client-confidential-asymmetric" capability and RS384/ES384 assertions it relies on.
- `{base}/metadata`: every type in `sandbox.fhir_search.RESOURCE_TYPES` with read and
  search-type, except the read-only ones (`Binary`), which have read only.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from sandbox import bulk_jobs, stats
from sandbox.fhir_api import fhir_response, outcome
from sandbox.fhir_search import READ_ONLY_TYPES, RESOURCE_TYPES
from sandbox.site import SandboxSite
from sandbox.view_helpers import with_site

SMART_CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
]
SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "user/*.rs",
    "patient/*.read",
    "user/*.read",
    "system/*.rs",
    "system/*.read",
]


@require_GET
@with_site
def smart_configuration(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    stats.record(stats.DISCOVERY_REQUESTS, "smart-configuration")
    if site.options.smart == "v1":
        return outcome(404, "not-found", "this server predates SMART 2: read /metadata")
    return JsonResponse(
        {
            "issuer": site.fhir_base,
            "jwks_uri": site.auth_url("jwks"),
            "authorization_endpoint": site.auth_url("authorize"),
            "token_endpoint": site.token_url,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "revocation_endpoint": site.auth_url("revoke"),
            "introspection_endpoint": site.auth_url("introspect"),
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types_supported": ["code"],
            "scopes_supported": SCOPES_SUPPORTED,
            "code_challenge_methods_supported": ["S256"],
            "capabilities": SMART_CAPABILITIES,
            "authorization_response_iss_parameter_supported": site.options.iss_in_response,
        }
    )


@require_GET
@with_site
def openid_configuration(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    """OpenID Connect Discovery 1.0, for clients verifying id_tokens (also on v1 bases)."""
    stats.record(stats.DISCOVERY_REQUESTS, "openid-configuration")
    return JsonResponse(
        {
            "issuer": site.fhir_base,
            "jwks_uri": site.auth_url("jwks"),
            "authorization_endpoint": site.auth_url("authorize"),
            "token_endpoint": site.token_url,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
    )


@require_GET
@with_site
def capability_statement(request: HttpRequest, site: SandboxSite) -> HttpResponse:
    stats.record(stats.DISCOVERY_REQUESTS, "metadata")
    oauth_uris = [
        {"url": "authorize", "valueUri": site.auth_url("authorize")},
        {"url": "token", "valueUri": site.token_url},
        {"url": "revoke", "valueUri": site.auth_url("revoke")},
        {"url": "introspect", "valueUri": site.auth_url("introspect")},
    ]
    return fhir_response(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-01",
            "kind": "instance",
            "software": {"name": "smartapp sandbox EHR"},
            "implementation": {
                "description": "Sandbox EHR (development and QA only)",
                "url": site.fhir_base,
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "extension": [
                            {
                                "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                                "extension": oauth_uris,
                            }
                        ],
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ],
                    },
                    "resource": _resources(),
                    **({"operation": _EXPORT} if bulk_jobs.export_supported(site) else {}),
                }
            ],
        }
    )


# Bulk Data `$export` at system level (the Patient- and Group-level ones are on those types).
_EXPORT = [
    {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}
]


def _resources() -> list[dict[str, Any]]:
    """Each type with its interactions: read, and search-type unless it is read only."""
    return [
        {
            "type": rtype,
            "interaction": [
                {"code": "read"},
                *([] if rtype in READ_ONLY_TYPES else [{"code": "search-type"}]),
            ],
        }
        for rtype in RESOURCE_TYPES
    ]
