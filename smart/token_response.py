"""The token endpoint's answer, checked once and held as a typed value.

RFC 6749 5.1 and SMART App Launch 2.x: `access_token`, `token_type` (Bearer, compared
case-insensitively) and `scope` are required; `expires_in` is expected; the launch context
(`patient`, `encounter`, `fhirContext`, `need_patient_banner`, `smart_style_url`, `intent`,
`tenant`, and `locale`, which some EHRs send as a launch context parameter), `refresh_token`
and `id_token` are optional. Unknown fields are ignored.

The answer comes from another organisation's server, so every value is bounded here, before
it reaches a database column, a URL or a log line (issue 12):

- no control characters (NUL, CR, LF, DEL...) and nothing that is not UTF-8 in any string:
  PostgreSQL refuses NUL in text, and a CR/LF/NUL in a URL path is an invalid request line;
- `patient` and `encounter` are FHIR ids (`[A-Za-z0-9-.]{1,64}`): they go into URL paths;
- `locale` a BCP-47-like language tag (`es`, `es-MX`, `zh-Hant-TW`, at most 35 characters);
  anything else is ignored, not refused: the language only changes the page's wording;
- `intent` and `tenant` at most 200 characters (the launch record's columns), `scope` and the
  tokens within generous caps;
- `expires_in` a positive whole number of seconds, **clamped** to one day. Clamping rather
  than refusing: the number only tells us when to refresh, and believing a shorter life than
  the EHR claims is always safe (we refresh, or end the session, early), whereas a number
  the database or a datetime cannot hold (3e9, 1e12) used to be a 500.

A refused answer still carries the tokens it was issued with (`TokenResponseInvalid.issued`),
so the caller can give them back to the EHR (RFC 7009) instead of leaving them live.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smart.errors import TokenResponseInvalid
from smart.fhir_ids import is_fhir_id

DEFAULT_EXPIRES_IN = 300  # when a server omits expires_in, assume a short life and refresh
MAX_EXPIRES_IN = 24 * 60 * 60  # longer claims are clamped to this (see the module docstring)
MAX_CONTEXT_CHARS = 200  # intent, tenant: the width of the launch record's columns
MAX_SCOPE_CHARS = 16 * 1024
MAX_TOKEN_CHARS = 64 * 1024  # access, refresh and id tokens (JWTs can be large, not this large)
MAX_URL_CHARS = 2048
MAX_CONTEXT_ITEMS = 100  # fhirContext entries
MAX_LOCALE_CHARS = 35  # the launch record's column (RFC 5646 4.4.1's advice)
# A language (2-3 letters, or 4-8 registered) and optional subtags (script, region, variants).
LOCALE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True, repr=False)
class IssuedTokens:
    """The tokens an answer carried, whether or not the rest of it was usable."""

    access_token: str | None = None
    refresh_token: str | None = None

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"IssuedTokens(access={self.access_token is not None}, ...)"

    def __bool__(self) -> bool:
        return bool(self.access_token or self.refresh_token)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> IssuedTokens:
        def token(name: str) -> str | None:
            value = body.get(name)
            return value if isinstance(value, str) and value else None

        return cls(token("access_token"), token("refresh_token"))


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
    locale: str | None = None  # a language tag, checked by LOCALE; supported or not

    def __repr__(self) -> str:  # never print a token, even in a traceback
        return f"TokenResponse(scope={self.scope!r}, patient={self.patient!r}, ...)"

    @property
    def issued(self) -> IssuedTokens:
        return IssuedTokens(self.access_token, self.refresh_token)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TokenResponse:
        try:
            return cls._parse(body)
        except TokenResponseInvalid as error:
            error.issued = IssuedTokens.from_json(body)
            raise

    @classmethod
    def _parse(cls, body: Mapping[str, Any]) -> TokenResponse:
        token_type = _text(body, "token_type", 64, required=True)
        if str(token_type).lower() != "bearer":
            raise TokenResponseInvalid("token_type is not Bearer")
        banner = body.get("need_patient_banner", True)
        return cls(
            access_token=str(_text(body, "access_token", MAX_TOKEN_CHARS, required=True)),
            scope=str(_text(body, "scope", MAX_SCOPE_CHARS, required=True)),
            expires_in=_expires_in(body.get("expires_in", DEFAULT_EXPIRES_IN)),
            refresh_token=_text(body, "refresh_token", MAX_TOKEN_CHARS),
            id_token=_text(body, "id_token", MAX_TOKEN_CHARS),
            patient=_fhir_id(body, "patient"),
            encounter=_fhir_id(body, "encounter"),
            need_patient_banner=banner if isinstance(banner, bool) else True,
            smart_style_url=_text(body, "smart_style_url", MAX_URL_CHARS),
            fhir_context=_fhir_context(body.get("fhirContext")),
            intent=_text(body, "intent", MAX_CONTEXT_CHARS),
            tenant=_text(body, "tenant", MAX_CONTEXT_CHARS),
            locale=_locale(body.get("locale")),
        )


def _is_clean(value: str) -> bool:
    """No C0 control character or DEL, and encodable as UTF-8 (no lone surrogate)."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(body: Mapping[str, Any], name: str, max_chars: int, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise TokenResponseInvalid(f"token response has no {name}")
        return None
    if not isinstance(value, str):
        raise TokenResponseInvalid(f"token response {name} is not a string")
    if len(value) > max_chars:
        raise TokenResponseInvalid(f"token response {name} is longer than {max_chars}")
    if not _is_clean(value):
        raise TokenResponseInvalid(f"token response {name} holds control characters")
    return value


def _locale(value: Any) -> str | None:
    """A language tag, or None for anything that is not one (ignored, never refused)."""
    if not isinstance(value, str) or len(value) > MAX_LOCALE_CHARS:
        return None
    return value if LOCALE.fullmatch(value) else None


def _fhir_id(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not is_fhir_id(value):
        raise TokenResponseInvalid(f"token response {name} is not a FHIR id")
    return str(value)


def _expires_in(value: Any) -> int:
    """A positive whole number of seconds, at most MAX_EXPIRES_IN (longer claims clamped)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value) if len(value) <= 12 else MAX_EXPIRES_IN
    if isinstance(value, float) and math.isfinite(value):
        value = math.floor(value)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise TokenResponseInvalid("expires_in is not a positive number of seconds")
    return min(value, MAX_EXPIRES_IN)


def _fhir_context(value: Any) -> tuple[Mapping[str, Any], ...]:
    """SMART 2.x `fhirContext`: a list of objects; anything else is ignored, as before, but a
    list carrying control characters or more than MAX_CONTEXT_ITEMS entries is refused."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return ()
    if len(value) > MAX_CONTEXT_ITEMS or not all(_all_clean(item) for item in value):
        raise TokenResponseInvalid("token response fhirContext is not usable")
    return tuple(value)


def _all_clean(value: Any, depth: int = 0) -> bool:
    if depth > 8:
        return False
    if isinstance(value, str):
        return _is_clean(value)
    if isinstance(value, dict):
        return all(_all_clean(k, depth + 1) and _all_clean(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_clean(item, depth + 1) for item in value)
    return not isinstance(value, float) or math.isfinite(value)
