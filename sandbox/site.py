"""Which simulated EHR a request is talking to: its origin, option blob and URLs.

Every sandbox URL exists twice: plain (`/fhir`, `/auth/...`), a well-behaved EHR, and under
`/sim/<blob>/` with the options in the blob. The FHIR base is the `iss`; the authorization
endpoints live beside it, so the options reach every step of a launch.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from sandbox.simulation import SimOptions, decode


@dataclass(frozen=True)
class SandboxSite:
    origin: str  # scheme://host:port as the client reached us
    blob: str | None
    options: SimOptions

    @classmethod
    def from_request(cls, request: HttpRequest, sim: str | None = None) -> SandboxSite:
        """Raises SimulationError for a blob that does not parse."""
        options = decode(sim) if sim else SimOptions()
        return cls(f"{request.scheme}://{request.get_host()}", sim, options)

    @property
    def prefix(self) -> str:
        return f"{self.origin}/sim/{self.blob}" if self.blob else self.origin

    @property
    def key(self) -> str:
        """Identifies this simulated EHR in counters (the blob, or 'default')."""
        return self.blob or "default"

    @property
    def fhir_base(self) -> str:
        return f"{self.prefix}/fhir"

    def auth_url(self, name: str) -> str:
        return f"{self.prefix}/auth/{name}"

    @property
    def token_url(self) -> str:
        return self.auth_url("token")
