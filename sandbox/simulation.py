"""Simulation options carried in a FHIR base URL: `/sim/<base64url JSON>/fhir`.

Like the SMART Health IT launcher, one sandbox serves many "EHRs": each option blob makes a
different base URL (a different `iss`) that behaves as told: preselected context, no pages,
narrowed grants, short-lived tokens, rotating or static refresh tokens, SMART v1 only, slow
or failing FHIR calls, authorization and token errors, a JWKS that is down or empty, and a
Bulk Data `$export` that is missing, throttled, slow, flaky, expired or hands out broken files
(the `export*` options; `sandbox.bulk_export`). `docs/sandbox.md` documents each.

Parsing is pure and strict: an unknown option or a wrong type is a 400, not a silent no-op,
so a QA engineer's typo shows up at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

RefreshMode = Literal["rotate", "static", "none", "reuse_revokes_family"]
FailMode = Literal[429, 500, 502, 503, 504, "timeout", "malformed"]
IdTokenFault = Literal["bad_signature", "wrong_aud", "wrong_nonce", "wrong_iss", "expired"]
_ID_TOKEN_FAULTS = ("bad_signature", "wrong_aud", "wrong_nonce", "wrong_iss", "expired")

_REFRESH_MODES = ("rotate", "static", "none", "reuse_revokes_family")
_FAIL_STATUSES = (429, 500, 502, 503, 504)
_FAIL_WORDS = ("timeout", "malformed")
_GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_LATENCY_MS = 30_000
MAX_HANG_S = 120


class SimulationError(ValueError):
    """The option blob is not valid; the message says which option and why."""


@dataclass(frozen=True)
class FaultRule:
    """What a FHIR call for one resource type does instead of answering normally."""

    mode: FailMode
    rate: float = 1.0
    retry_after: int | None = None  # seconds, for 429 and 503
    hang_s: float = 60.0  # for "timeout": how long the server sits on the request


@dataclass(frozen=True)
class TokenErrorRule:
    """The token endpoint answers `error` for `grant_type` (every grant when None) once
    `after` requests of that kind have succeeded for the base."""

    error: str
    grant_type: str | None = None
    after: int = 0


@dataclass(frozen=True)
class TokenResponseRule:
    """Successful authorization_code responses lose `omit` fields and take `set` values."""

    omit: tuple[str, ...] = ()
    set: Mapping[str, Any] = field(default_factory=dict)


NextLinkMode = Literal["foreign", "other_path"]


@dataclass(frozen=True)
class HostileRule:
    """An EHR that attacks or confuses its client (SMART App Launch: the app must treat
    what the EHR sends as input to check). Each key is one misbehaviour of searches:

    - `next_link`: the `next` link of a paged search points at another origin ("foreign")
      or at another path on the same origin ("other_path");
    - `other_patient_entries`: a patient-compartment search also carries another patient's
      resources;
    - `pad_bytes`: each search Bundle is padded to at least this many bytes;
    - `nan_values`: quantities carry NaN and Infinity (Python's json writes them);
    - `junk_structure`: `link[]` and `entry[].search` hold non-objects.
    """

    next_link: NextLinkMode | None = None
    other_patient_entries: bool = False
    pad_bytes: int = 0
    nan_values: bool = False
    junk_structure: bool = False


MAX_PAD_BYTES = 200_000_000
MAX_TOKEN_DELAY_MS = 120_000


@dataclass(frozen=True)
class SimOptions:
    patient: str | None = None
    user: str | None = None
    encounter: str | None = None
    skip_login: bool = False
    skip_consent: bool = False
    grant: tuple[str, ...] | None = None
    token_ttl: int = 3600
    refresh: RefreshMode = "rotate"
    smart: Literal["v1", "v2"] = "v2"
    iss_in_response: bool = True
    latency_ms: int = 0
    fail: Mapping[str, FaultRule] = field(default_factory=dict)
    auth_error: str | None = None
    token_error: TokenErrorRule | None = None
    token_response: TokenResponseRule | None = None
    id_token: IdTokenFault | None = None
    hostile: HostileRule = field(default_factory=HostileRule)
    token_delay_ms: int = 0
    include: Literal["honour", "ignore"] = "honour"  # "ignore": `_include` is not supported
    jwks: Literal["ok", "down", "empty"] = "ok"  # "down": 503; "empty": `{"keys": []}`
    # `GET Binary/{id}`: "json" obeys Accept (FHIR JSON or the raw bytes); "raw" always
    # answers the raw bytes, as servers that ignore Accept for Binary do.
    binary: Literal["json", "raw"] = "json"
    # Bulk Data `$export` (sandbox.bulk_export, sandbox.bulk_files):
    export: Literal["supported", "unsupported"] = "supported"  # "unsupported": kick-off 404
    export_kickoff_429: int = 0  # the first N kick-offs on this site answer 429
    export_status_5xx: int = 0  # the first N status polls of each job answer 500
    export_expired: bool = False  # every status poll answers 404 "expired"
    export_polls: int = 1  # status polls answered 202 before the manifest
    export_retry_after: int = 1  # seconds, the Retry-After of each 202
    export_file_lines: int = 1000  # resources per output file at most
    export_file_cut: int = 0  # the first N downloads of each file stop half way
    export_malformed_line: bool = False  # line 2 of each type's first file is cut JSON
    export_drip_ms: int = 0  # pause between 64 KiB chunks of a file
    export_file_origin: str | None = None  # manifest file URLs on this origin instead
    export_requires_token: bool = True  # False: files served without a token


def _expect(name: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise SimulationError(f"{name}: expected a number")
    if not isinstance(value, kind):
        raise SimulationError(f"{name}: expected {getattr(kind, '__name__', 'a value')}")
    return value


def _error_code(name: str, value: Any) -> str:
    code = _expect(name, value, str)
    if not code or not all(c.isalnum() or c == "_" for c in code):
        raise SimulationError(f"{name}: expected an OAuth error code such as invalid_grant")
    return str(code)


def _fault(resource_type: str, raw: Any) -> FaultRule:
    name = f"fail.{resource_type}"
    if isinstance(raw, int | str) and not isinstance(raw, bool):
        raw = {"mode": raw}
    _expect(name, raw, dict)
    unknown = set(raw) - {"mode", "rate", "retry_after", "hang_s"}
    if unknown:
        raise SimulationError(f"{name}: unknown keys {sorted(unknown)}")
    mode = raw.get("mode")
    if mode not in _FAIL_STATUSES and mode not in _FAIL_WORDS:
        raise SimulationError(f"{name}.mode: one of {[*_FAIL_STATUSES, *_FAIL_WORDS]}")
    rate = float(_expect(f"{name}.rate", raw.get("rate", 1.0), (int, float)))
    if not 0.0 <= rate <= 1.0:
        raise SimulationError(f"{name}.rate: between 0 and 1")
    retry_after = raw.get("retry_after")
    if retry_after is not None and _expect(f"{name}.retry_after", retry_after, int) < 0:
        raise SimulationError(f"{name}.retry_after: not negative")
    hang_s = float(_expect(f"{name}.hang_s", raw.get("hang_s", 60), (int, float)))
    if not 0 < hang_s <= MAX_HANG_S:
        raise SimulationError(f"{name}.hang_s: between 0 and {MAX_HANG_S}")
    return FaultRule(mode=mode, rate=rate, retry_after=retry_after, hang_s=hang_s)


def _token_error(raw: Any) -> TokenErrorRule:
    if isinstance(raw, str):
        return TokenErrorRule(error=_error_code("token_error", raw))
    _expect("token_error", raw, dict)
    unknown = set(raw) - {"error", "grant_type", "after"}
    if unknown:
        raise SimulationError(f"token_error: unknown keys {sorted(unknown)}")
    grant_type = raw.get("grant_type")
    if grant_type is not None and grant_type not in _GRANT_TYPES:
        raise SimulationError(f"token_error.grant_type: one of {list(_GRANT_TYPES)}")
    after = _expect("token_error.after", raw.get("after", 0), int)
    if after < 0:
        raise SimulationError("token_error.after: not negative")
    return TokenErrorRule(
        error=_error_code("token_error.error", raw.get("error")),
        grant_type=grant_type,
        after=after,
    )


def _bounded(name: str, value: Any, low: int, high: int) -> int:
    number = int(_expect(name, value, int))
    if not low <= number <= high:
        raise SimulationError(f"{name}: between {low} and {high}")
    return number


def _hostile(raw: Any) -> HostileRule:
    _expect("hostile", raw, dict)
    unknown = set(raw) - set(HostileRule.__dataclass_fields__)
    if unknown:
        raise SimulationError(f"hostile: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {}
    if "next_link" in raw:
        if raw["next_link"] not in ("foreign", "other_path"):
            raise SimulationError("hostile.next_link: foreign or other_path")
        values["next_link"] = raw["next_link"]
    for name in ("other_patient_entries", "nan_values", "junk_structure"):
        if name in raw:
            values[name] = _expect(f"hostile.{name}", raw[name], bool)
    if "pad_bytes" in raw:
        pad = _expect("hostile.pad_bytes", raw["pad_bytes"], int)
        if not 0 <= pad <= MAX_PAD_BYTES:
            raise SimulationError(f"hostile.pad_bytes: between 0 and {MAX_PAD_BYTES}")
        values["pad_bytes"] = pad
    return HostileRule(**values)


_EXPORT_BOUNDS = {
    "export_kickoff_429": (0, 1000),
    "export_status_5xx": (0, 1000),
    "export_polls": (0, 20),
    "export_retry_after": (0, 30),
    "export_file_lines": (1, 100_000),
    "export_file_cut": (0, 1000),
    "export_drip_ms": (0, 5000),
}


def _origin(name: str, value: Any) -> str:
    text = str(_expect(name, value, str))
    scheme, sep, host = text.partition("://")
    if scheme not in ("http", "https") or not sep or not host or "/" in host:
        raise SimulationError(f"{name}: an origin such as https://files.example:8443")
    return text


def _export_options(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The Bulk Data `$export` options (documented on SimOptions and in docs/sandbox.md)."""
    values: dict[str, Any] = {}
    if "export" in raw:
        if raw["export"] not in ("supported", "unsupported"):
            raise SimulationError("export: one of ['supported', 'unsupported']")
        values["export"] = raw["export"]
    for name, (low, high) in _EXPORT_BOUNDS.items():
        if name in raw:
            values[name] = _bounded(name, raw[name], low, high)
    for name in ("export_expired", "export_malformed_line", "export_requires_token"):
        if name in raw:
            values[name] = _expect(name, raw[name], bool)
    if "export_file_origin" in raw:
        values["export_file_origin"] = _origin("export_file_origin", raw["export_file_origin"])
    return values


def parse_options(raw: Mapping[str, Any]) -> SimOptions:
    """Validate a decoded option object into SimOptions."""
    known = set(SimOptions.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise SimulationError(f"unknown options {sorted(unknown)}; known: {sorted(known)}")
    values: dict[str, Any] = _export_options(raw)
    for name in ("patient", "user", "encounter"):
        if name in raw:
            values[name] = _expect(name, raw[name], str)
    for name in ("skip_login", "skip_consent", "iss_in_response"):
        if name in raw:
            values[name] = _expect(name, raw[name], bool)
    if "grant" in raw:
        grant = raw["grant"]
        if isinstance(grant, str):
            grant = grant.split()
        _expect("grant", grant, list)
        values["grant"] = tuple(_expect("grant[]", scope, str) for scope in grant)
    bounds = {
        "token_ttl": (1, 24 * 3600),
        "latency_ms": (0, MAX_LATENCY_MS),
        "token_delay_ms": (0, MAX_TOKEN_DELAY_MS),
    }
    for name, (low, high) in bounds.items():
        if name in raw:
            values[name] = _bounded(name, raw[name], low, high)
    choices = {
        "refresh": _REFRESH_MODES,
        "smart": ("v1", "v2"),
        "id_token": _ID_TOKEN_FAULTS,
        "include": ("honour", "ignore"),
        "jwks": ("ok", "down", "empty"),
        "binary": ("json", "raw"),
    }
    for name, allowed in choices.items():
        if name in raw:
            if raw[name] not in allowed:
                raise SimulationError(f"{name}: one of {list(allowed)}")
            values[name] = raw[name]
    if "hostile" in raw:
        values["hostile"] = _hostile(raw["hostile"])
    if "fail" in raw:
        _expect("fail", raw["fail"], dict)
        values["fail"] = {rtype: _fault(rtype, rule) for rtype, rule in raw["fail"].items()}
    if "auth_error" in raw:
        values["auth_error"] = _error_code("auth_error", raw["auth_error"])
    if "token_error" in raw:
        values["token_error"] = _token_error(raw["token_error"])
    if "token_response" in raw:
        rule = _expect("token_response", raw["token_response"], dict)
        if set(rule) - {"omit", "set"}:
            raise SimulationError("token_response: only 'omit' and 'set'")
        omit = _expect("token_response.omit", rule.get("omit", []), list)
        values["token_response"] = TokenResponseRule(
            omit=tuple(_expect("token_response.omit[]", name, str) for name in omit),
            set=_expect("token_response.set", rule.get("set", {}), dict),
        )
    return SimOptions(**values)


def decode(blob: str) -> SimOptions:
    """`/sim/<blob>/fhir`: urlsafe base64 (padding optional) of a JSON object."""
    try:
        text = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)).decode("utf-8")
        raw = json.loads(text)
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimulationError("the option blob is not base64url-encoded JSON") from exc
    if not isinstance(raw, dict):
        raise SimulationError("the option blob must encode a JSON object")
    return parse_options(raw)


def encode(options: Mapping[str, Any]) -> str:
    """The blob for an option object (for tests, QA scripts and the docs)."""
    parse_options(options)  # refuse to build a URL the server would reject
    text = json.dumps(options, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
