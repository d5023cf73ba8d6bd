"""EHR profiles: where a vendor's or a server generation's quirks live.

Each connection names a profile (`generic` unless told otherwise). A profile may adjust, at
four fixed points and nowhere else, what the engine does for that EHR:

- `adjust_discovery(config)`: the parsed discovery document (a capability a server does not
  really have, an endpoint it names wrongly);
- `request_scope(scope, config)`: the scope string sent in the authorization request;
- `normalise_token_response(body, requested_scope)`: the token endpoint's JSON before it is
  checked (as Authlib's `access_token_response` compliance hook does);
- `search_params(resource_type, params)`: FHIR search parameters a server does not support.

Adding one = a subclass with `@register` and a name; `ehr_register --profile NAME` and the
admin pick it up. docs/architecture.md has the recipe. The engine never asks "which vendor?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from smart.discovery import SmartConfiguration
from smart.scopes import for_server, to_v1


class EhrProfile:
    name: ClassVar[str] = "generic"
    label: ClassVar[str] = "Generic SMART App Launch 2.x / 1.x server"

    def adjust_discovery(self, config: SmartConfiguration) -> SmartConfiguration:
        return config

    def request_scope(self, scope: str, config: SmartConfiguration) -> str:
        """v2 syntax to servers that advertise `permission-v2`, v1 to the rest."""
        return for_server(scope, supports_v2=config.supports_v2_scopes)

    def normalise_token_response(
        self, body: Mapping[str, Any], requested_scope: str
    ) -> dict[str, Any]:
        return dict(body)

    def search_params(self, resource_type: str, params: Mapping[str, str]) -> dict[str, str]:
        return dict(params)


_PROFILES: dict[str, EhrProfile] = {}


def register(cls: type[EhrProfile]) -> type[EhrProfile]:
    _PROFILES[cls.name] = cls()
    return cls


def profile_for(name: str) -> EhrProfile:
    """The named profile; an unknown name (a profile removed since) falls back to generic."""
    return _PROFILES.get(name) or _PROFILES["generic"]


def profiles() -> dict[str, EhrProfile]:
    return dict(_PROFILES)


register(EhrProfile)


@register
class SmartV1(EhrProfile):
    """A SMART 1.0-era server (common behind older EHR integrations):

    - it speaks only v1 scope syntax, even where its discovery lists `permission-v2`;
    - its token response may leave out `scope` when the grant equals the request, as
      RFC 6749 5.1 allows (SMART 2.x makes it required), and may give the launch patient as a
      reference (`Patient/123`) rather than an id.
    """

    name = "smart-v1"
    label = "SMART 1.0-era server (v1 scopes; terse token responses)"

    def adjust_discovery(self, config: SmartConfiguration) -> SmartConfiguration:
        return replace(config, capabilities=config.capabilities - {"permission-v2"})

    def request_scope(self, scope: str, config: SmartConfiguration) -> str:
        return to_v1(scope)

    def normalise_token_response(
        self, body: Mapping[str, Any], requested_scope: str
    ) -> dict[str, Any]:
        fixed = dict(body)
        if not fixed.get("scope"):
            fixed["scope"] = requested_scope  # RFC 6749 5.1: omitted means as requested
        patient = fixed.get("patient")
        if isinstance(patient, str) and patient.startswith("Patient/"):
            fixed["patient"] = patient.removeprefix("Patient/")
        return fixed
