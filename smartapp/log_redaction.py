"""Redaction of secrets from log records, wherever in the record they appear.

A SMART app handles bearer tokens, refresh tokens, id_tokens, authorization codes, PKCE
verifiers and client credentials; any of them in a log line is a credential handed to
whoever reads the logs (RFC 6750 section 5.3: don't store bearer tokens in the clear, and
RFC 9700 section 4.2.4 on codes leaking through logs). The filter below runs on the handler,
so it sees every record from every logger, and cleans the message, its arguments, extra
fields, the exception text and stack info before any formatter touches them.

Two layers: structured values are cleaned by key (a dict with `refresh_token` loses its
value whatever it is), then all text is cleaned by pattern (query strings, form bodies,
JSON, header lines, bare JWTs), which also catches secrets inside objects' str/repr.

Django's own request lines (`django.server` under runserver, `django.request` for every 4xx
and 5xx) name the request URL; there the whole query string goes, since `state`, `launch` and
`iss` are no business of a log reader either, and the request object itself becomes its
method and path. Our own lines log an error's reference code as `error_code`: a field named
`code` is an authorization code here, always.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "[REDACTED]"

# Keys whose values are secrets. `code` is the OAuth authorization code; `cookie` carries the
# session id, which is as good as the tokens it unlocks.
SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "client_secret",
        "client_assertion",
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "password",
    }
)
_SECRET_KEYS_DASHED = frozenset(key.replace("_", "-") for key in SECRET_KEYS)
_PARAM_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "code_verifier",
    "code",
    "client_secret",
    "client_assertion",
    "password",
)
_HEADER_KEYS = ("proxy-authorization", "authorization", "set-cookie", "cookie")

# key=value, key: value, "key": "value", 'key': 'value' (query strings, forms, JSON, reprs).
# The look-behind keeps `error_code=` or `code_challenge=` from matching `code=`.
_PARAM = re.compile(
    r"(?i)(?<![\w-])([\"']?)(" + "|".join(_PARAM_KEYS) + r")\1(\s*[:=]\s*)([\"']?)"
    r"([^\"'&\s,;}\]]+)"
)
# Header lines and header dict entries: redact the whole value up to the line or quote end.
_HEADER = re.compile(
    r"(?i)(?<![\w-])([\"']?)(" + "|".join(_HEADER_KEYS) + r")\1(\s*[:=]\s*)([\"']?)([^\"'\r\n]+)"
)
# Credentials after an auth scheme, wherever they stand.
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]+=*")
# A JWS/JWT in compact form (id_tokens, client assertions, JWT access tokens).
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")

# A document page's path names the EHR's id of a clinical document: logs keep the type only.
_DOCUMENT_PATH = re.compile(r"(/documents/[A-Za-z]+/)[^/\s\"'?]+")

_MAX_DEPTH = 6

# Loggers whose lines carry a request URL (Django's request log, runserver's request line).
URL_LOGGERS = frozenset({"django.request", "django.server"})
# A query string in a request line or a URL: all of it goes, the path stays.
_QUERY = re.compile(r"\?[^\s\"']*")

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
STANDARD_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "request_id"}
)


def redact_text(text: str) -> str:
    text = _HEADER.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{MASK}", text)
    text = _PARAM.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{MASK}", text)
    text = _SCHEME.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _DOCUMENT_PATH.sub(lambda m: f"{m[1]}{MASK}", text)
    return _JWT.sub(MASK, text)


def strip_queries(text: str) -> str:
    return _QUERY.sub(f"?{MASK}", text)


def describe_request(value: Any) -> str:
    """A request object as "METHOD /path": never its query string, headers or cookies."""
    method, path = getattr(value, "method", None), getattr(value, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        return f"{method} {path}"
    return type(value).__name__  # runserver passes its socket: nothing worth logging


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.strip().lower().replace("_", "-") in _SECRET_KEYS_DASHED


def redact_value(value: Any, depth: int = 0) -> Any:
    """Clean a structured value: secret keys lose their values, text is pattern-cleaned.

    Numbers, booleans and None pass unchanged (so `%d` still formats); other objects are
    returned as they are and cleaned as text once formatted.
    """
    if depth > _MAX_DEPTH:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes | bytearray):
        return redact_text(repr(bytes(value)))
    if isinstance(value, Mapping):
        return {
            key: MASK if is_secret_key(key) else redact_value(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(redact_value(item, depth + 1) for item in value)
    return value


def _json_safe(value: Any) -> Any:
    """Extras end up in JSON; anything not plainly serialisable is cleaned as text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(item) for item in value]
    return redact_text(str(value))


class RedactingFilter(logging.Filter):
    """Rewrites each record in place so no secret survives into any formatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._message(record), ()
        if record.name in URL_LOGGERS:
            record.msg = strip_queries(record.msg)
        if "request" in record.__dict__:
            record.request = describe_request(record.__dict__["request"])
        for key in list(record.__dict__):
            if key not in STANDARD_RECORD_ATTRS and not key.startswith("_"):
                value = record.__dict__[key]
                record.__dict__[key] = (
                    MASK if is_secret_key(key) else _json_safe(redact_value(value))
                )
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, Mapping):
            record.args = redact_value(args)
        elif args:
            record.args = tuple(redact_value(arg) for arg in args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg} [log arguments did not match the format]"
        return redact_text(message)
