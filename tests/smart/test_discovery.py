"""smart.discovery: parsing both discovery documents; refusing unusable ones."""

from __future__ import annotations

import pytest

from smart.discovery import OAUTH_URIS, SmartConfiguration
from smart.discovery import from_json as _from_cache
from smart.discovery import to_json as _to_cache
from smart.errors import DiscoveryFailed

ISS = "https://ehr.example.org/fhir"
WELL_KNOWN = {
    "issuer": ISS,
    "authorization_endpoint": "https://ehr.example.org/auth/authorize",
    "token_endpoint": "https://ehr.example.org/auth/token",
    "revocation_endpoint": "https://ehr.example.org/auth/revoke",
    "jwks_uri": "https://ehr.example.org/jwks",
    "capabilities": ["launch-ehr", "permission-v2", 7],
    "code_challenge_methods_supported": ["S256"],
    "authorization_response_iss_parameter_supported": True,
}


def test_smart_configuration() -> None:
    config = SmartConfiguration.from_smart_configuration(ISS, WELL_KNOWN)
    assert config.token_endpoint.endswith("/token")
    assert config.supports_v2_scopes
    assert config.iss_parameter_supported
    assert config.capabilities == {"launch-ehr", "permission-v2"}
    assert _from_cache(_to_cache(config)) == config


@pytest.mark.parametrize(
    "change",
    [
        {"token_endpoint": None},
        {"authorization_endpoint": "/relative/authorize"},
        {"token_endpoint": "http://ehr.example.org/token"},  # plain http off loopback
        {"code_challenge_methods_supported": ["plain"]},
    ],
)
def test_unusable_smart_configuration(change: dict) -> None:
    body = {k: v for k, v in {**WELL_KNOWN, **change}.items() if v is not None}
    with pytest.raises(DiscoveryFailed):
        SmartConfiguration.from_smart_configuration(ISS, body)


def test_loopback_http_is_allowed() -> None:
    body = {**WELL_KNOWN, "token_endpoint": "http://127.0.0.1:9000/auth/token"}
    assert SmartConfiguration.from_smart_configuration(ISS, body).token_endpoint.startswith(
        "http://"
    )


def test_capability_statement_oauth_uris() -> None:
    body = {
        "resourceType": "CapabilityStatement",
        "rest": [
            {
                "security": {
                    "extension": [
                        {
                            "url": OAUTH_URIS,
                            "extension": [
                                {"url": "authorize", "valueUri": "https://ehr.example.org/a"},
                                {"url": "token", "valueUri": "https://ehr.example.org/t"},
                            ],
                        }
                    ]
                }
            }
        ],
    }
    config = SmartConfiguration.from_capability_statement(ISS, body)
    assert (config.authorization_endpoint, config.token_endpoint) == (
        "https://ehr.example.org/a",
        "https://ehr.example.org/t",
    )
    assert not config.supports_v2_scopes
    assert config.source == "capability-statement"


def test_capability_statement_without_oauth_uris() -> None:
    with pytest.raises(DiscoveryFailed):
        SmartConfiguration.from_capability_statement(ISS, {"resourceType": "CapabilityStatement"})
