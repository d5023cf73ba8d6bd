"""The token endpoint's answer, checked once and held as a typed value.

RFC 6749 5.1 and SMART App Launch 2.x: `access_token`, `token_type` (Bearer, compared
case-insensitively) and `scope` are required; `expires_in` is expected; the launch context
(`patient`, `encounter`, `fhirContext`, `need_patient_banner`, `smart_style_url`, `intent`,
`tenant`), `refresh_token` and `id_token` are optional. Unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smart.errors import TokenResponseInvalid

DEFAULT_EXPIRES_IN = 300  # when a server omits expires_in, assume a short life and refresh


@dataclass(frozen=True, repr=False)
class TokenResponse:
    access_token: str
    scope: str
    expires_in: int
    refresh_token: str | None = None
    id_token: str | None = None
    patient: str | None = None
    encounter: str | None = None
    need_patient_banner: bool = True
    smart_style_url: str | None = None
    fhir_context: tuple[Mapping[str, Any], ...] = field(default=())
    intent: str | None = None
    tenant: str | None = None

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"TokenResponse(scope={self.scope!r}, patient={self.patient!r}, ...)"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TokenResponse:
        def text(name: str, required: bool = False) -> str | None:
            value = body.get(name)
            if value is None or value == "":
                if required:
                    raise TokenResponseInvalid(f"token response has no {name}")
                return None
            if not isinstance(value, str):
                raise TokenResponseInvalid(f"token response {name} is not a string")
            return value

        token_type = text("token_type", required=True)
        if str(token_type).lower() != "bearer":
            raise TokenResponseInvalid("token_type is not Bearer")
        expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
        if isinstance(expires_in, str) and expires_in.isdigit():
            expires_in = int(expires_in)
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            raise TokenResponseInvalid("expires_in is not a positive number")
        context = body.get("fhirContext") or []
        if not isinstance(context, list) or not all(isinstance(item, dict) for item in context):
            context = []
        banner = body.get("need_patient_banner", True)
        return cls(
            access_token=str(text("access_token", required=True)),
            scope=str(text("scope", required=True)),
            expires_in=expires_in,
            refresh_token=text("refresh_token"),
            id_token=text("id_token"),
            patient=text("patient"),
            encounter=text("encounter"),
            need_patient_banner=banner if isinstance(banner, bool) else True,
            smart_style_url=text("smart_style_url"),
            fhir_context=tuple(context),
            intent=text("intent"),
            tenant=text("tenant"),
        )
