"""Every environment variable the app reads, parsed and validated once at start-up.

`load_config(environ)` is pure: it turns a mapping of environment variables into a frozen
`AppConfig` or raises `ImproperlyConfigured` naming the variable that is wrong, so a
misconfigured deploy stops before it serves a request rather than at the first launch.
`settings.py` calls it once with `os.environ`; tests call it with plain dicts.

The variables are VARIABLES below: DEBUG, SECRET_KEY, ALLOWED_HOSTS, APP_BASE_URL,
DATABASE_URL, REDIS_URL, TOKEN_ENCRYPTION_KEYS, SECURE_SSL_REDIRECT, LOG_LEVEL, METRICS_TOKEN,
AUDIT_ARCHIVE_DIR, then the
tunables in `config/tunables.py` (each optional, with its default and the range it must fall
in).
README.md#configuration says what each means, and .env.example lists them (a test checks).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from config.tunables import SUMMARY_TTL_DEFAULTS_S, TUNABLES
from smart.url_policy import is_loopback

TOKEN_KEY_BYTES = 32  # AES-256-GCM
MIN_SECRET_KEY_LENGTH = 50  # what `check --deploy` (security.W009) asks for
# DEBUG only; load_config refuses to run without SECRET_KEY when DEBUG is off.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-outside-debug-0123456789abcdef"  # noqa: S105


VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "APP_BASE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "TOKEN_ENCRYPTION_KEYS",
    "SECURE_SSL_REDIRECT",
    "LOG_LEVEL",
    "METRICS_TOKEN",
    "AUDIT_ARCHIVE_DIR",
    *TUNABLES,
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASE_SCHEMES = frozenset({"sqlite", "postgres", "postgresql", "pgsql"})
_REDIS_SCHEMES = frozenset({"redis", "rediss"})


@dataclass(frozen=True)
class SessionConfig:
    """How long a signed-in session lasts, and how early tokens are refreshed."""

    lifetime_s: int  # SESSION_LIFETIME_S -> SESSION_COOKIE_AGE
    token_refresh_skew_s: int  # TOKEN_REFRESH_SKEW_S (capped at half a token's life)


@dataclass(frozen=True)
class FhirConfig:
    """Outbound FHIR calls: timeouts, retries, paging caps, the circuit breaker (FHIR_*)."""

    connect_timeout_s: float
    read_timeout_s: float
    attempts: int
    backoff_base_s: float
    retry_after_cap_s: float
    max_pages: int
    max_entries: int
    breaker_threshold: int
    breaker_cool_down_s: float


@dataclass(frozen=True)
class SummaryConfig:
    """The patient summary: its deadline, its parallelism, each section's cache lifetime."""

    budget_s: float
    workers: int
    cache_ttl_s: Mapping[str, int]  # section name -> seconds (read-only)


@dataclass(frozen=True)
class AppConfig:
    """The validated configuration. Field names match the variables above."""

    debug: bool
    secret_key: str
    allowed_hosts: tuple[str, ...]
    app_base_url: str
    database: Mapping[str, Any]
    redis_url: str | None
    token_encryption_keys: tuple[bytes, ...]
    secure_ssl_redirect: bool
    log_level: str
    metrics_token: str | None  # the bearer secret for /metrics; None: /metrics answers 404
    audit_archive_dir: Path  # where retention writes audit segments before deleting them
    session: SessionConfig
    fhir: FhirConfig
    summary: SummaryConfig
    tunables: Mapping[str, float]  # every TUNABLES variable's value, by name (read-only)

    @property
    def database_vendor(self) -> str:
        return "postgresql" if "postgresql" in self.database["ENGINE"] else "sqlite"


def _invalid(name: str, why: str) -> ImproperlyConfigured:
    # Name the variable, never echo its value: it may be a secret.
    return ImproperlyConfigured(f"{name}: {why}")


def _reader(environ_map: Mapping[str, str]) -> environ.Env:
    env = environ.Env()
    env.ENVIRON = environ_map  # read the mapping we were given, not os.environ
    return env


def _optional(env: environ.Env, name: str) -> str | None:
    value: str = env.str(name, default="").strip()
    return value or None


def _parse_bool(name: str, raw: str | None, default: bool) -> bool:
    """Strict booleans: django-environ reads any unknown word as false, which hides typos."""
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _invalid(name, "must be true or false")


def _parse_base_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _invalid(name, "must be an absolute http(s) URL such as https://<host>")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        # Authorization codes travel to redirect URIs built from this; RFC 6749 section 3.1.2.1
        # requires TLS, and RFC 8252 section 7.3 only exempts loopback.
        raise _invalid(name, "must use https (http is allowed only for localhost)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise _invalid(name, "must not carry credentials, a query or a fragment")
    return raw.rstrip("/")


def _parse_database(name: str, raw: str) -> dict[str, Any]:
    scheme = urlsplit(raw).scheme
    if scheme not in _DATABASE_SCHEMES:
        raise _invalid(name, "must be a sqlite:// or postgres:// URL")
    try:
        database: dict[str, Any] = environ.Env.db_url_config(raw)
    except (ValueError, KeyError) as exc:
        raise _invalid(name, "is not a valid database URL") from exc
    if not database.get("NAME"):
        raise _invalid(name, "names no database")
    database["CONN_MAX_AGE"] = 60 if scheme != "sqlite" else 0
    database["CONN_HEALTH_CHECKS"] = True
    if scheme != "sqlite":
        database.setdefault("OPTIONS", {})["connect_timeout"] = 5
    else:
        # Several threads write (requests, and the audit and launch-step writers): a deferred
        # transaction that reads and then writes while another holds the write lock gets
        # "database is locked" at once (SQLite cannot wait there without a deadlock).
        # IMMEDIATE takes the write lock at BEGIN, so writers queue for `timeout` instead.
        options = database.setdefault("OPTIONS", {})
        options.setdefault("transaction_mode", "IMMEDIATE")
        options.setdefault("timeout", 20)
    return database


def _parse_redis_url(name: str, raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in _REDIS_SCHEMES or not parts.hostname:
        raise _invalid(name, "must be a redis:// or rediss:// URL")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise _invalid(name, "has an invalid port") from exc
    return raw


def parse_token_keys(name: str, raw: str) -> tuple[bytes, ...]:
    """Comma-separated urlsafe-base64 keys of exactly 32 bytes each, first one first."""
    keys: list[bytes] = []
    for position, item in enumerate((part.strip() for part in raw.split(",")), start=1):
        if not item:
            raise _invalid(name, f"key {position} is empty")
        try:
            key = base64.urlsafe_b64decode(item + "=" * (-len(item) % 4))
        except (binascii.Error, ValueError) as exc:
            raise _invalid(name, f"key {position} is not urlsafe base64") from exc
        if len(key) != TOKEN_KEY_BYTES:
            raise _invalid(name, f"key {position} must decode to {TOKEN_KEY_BYTES} bytes")
        keys.append(key)
    if len(set(keys)) != len(keys):
        raise _invalid(name, "lists the same key twice")
    return tuple(keys)


def new_token_key() -> str:
    """A fresh key in the format TOKEN_ENCRYPTION_KEYS expects."""
    return base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_KEY_BYTES)).decode().rstrip("=")


def _number(environ_map: Mapping[str, str], name: str) -> float:
    """The tunable's value, or its default when unset or blank; refused outside its range."""
    tunable = TUNABLES[name]
    raw = (environ_map.get(name) or "").strip()
    if not raw:
        return float(tunable.default)
    try:
        value = int(raw) if tunable.integer else float(raw)
    except ValueError as exc:
        kind = "a whole number" if tunable.integer else "a number of seconds"
        raise _invalid(name, f"must be {kind}") from exc
    if tunable.integer and not tunable.low <= value <= tunable.high:
        raise _invalid(name, f"must be from {tunable.low:g} to {tunable.high:g}")
    if not tunable.integer and not tunable.low < value <= tunable.high:
        raise _invalid(name, f"must be more than {tunable.low:g} and at most {tunable.high:g}")
    return float(value)


def _int(environ_map: Mapping[str, str], name: str) -> int:
    return int(_number(environ_map, name))


def _load_session(environ_map: Mapping[str, str]) -> SessionConfig:
    return SessionConfig(
        lifetime_s=_int(environ_map, "SESSION_LIFETIME_S"),
        token_refresh_skew_s=_int(environ_map, "TOKEN_REFRESH_SKEW_S"),
    )


def _load_fhir(environ_map: Mapping[str, str]) -> FhirConfig:
    return FhirConfig(
        connect_timeout_s=_number(environ_map, "FHIR_CONNECT_TIMEOUT_S"),
        read_timeout_s=_number(environ_map, "FHIR_READ_TIMEOUT_S"),
        attempts=_int(environ_map, "FHIR_ATTEMPTS"),
        backoff_base_s=_number(environ_map, "FHIR_BACKOFF_BASE_S"),
        retry_after_cap_s=_number(environ_map, "FHIR_RETRY_AFTER_CAP_S"),
        max_pages=_int(environ_map, "FHIR_MAX_PAGES"),
        max_entries=_int(environ_map, "FHIR_MAX_ENTRIES"),
        breaker_threshold=_int(environ_map, "FHIR_BREAKER_THRESHOLD"),
        breaker_cool_down_s=_number(environ_map, "FHIR_BREAKER_COOL_DOWN_S"),
    )


def _load_summary(environ_map: Mapping[str, str]) -> SummaryConfig:
    ttl = {
        section: _int(environ_map, f"SUMMARY_TTL_{section.upper()}_S")
        for section in SUMMARY_TTL_DEFAULTS_S
    }
    return SummaryConfig(
        budget_s=_number(environ_map, "SUMMARY_BUDGET_S"),
        workers=_int(environ_map, "SUMMARY_WORKERS"),
        cache_ttl_s=MappingProxyType(ttl),
    )


def _load_secret_key(env: environ.Env, debug: bool) -> str:
    secret_key = _optional(env, "SECRET_KEY")
    if secret_key is None:
        if not debug:
            raise _invalid(
                "SECRET_KEY",
                "is required when DEBUG is off; for local use set DEBUG=true "
                "(e.g. DEBUG=true .venv/bin/python manage.py ...)",
            )
        return DEV_SECRET_KEY
    if not debug and (len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < 5):
        raise _invalid("SECRET_KEY", f"must be at least {MIN_SECRET_KEY_LENGTH} random characters")
    return secret_key


def _load_allowed_hosts(env: environ.Env, debug: bool, app_base_url: str) -> tuple[str, ...]:
    base_host = urlsplit(app_base_url).hostname or ""
    allowed_hosts: tuple[str, ...] = tuple(
        host.strip() for host in env.list("ALLOWED_HOSTS", default=[]) if host.strip()
    )
    if not allowed_hosts:
        allowed_hosts = (base_host, "127.0.0.1") if debug else (base_host,)
    if "*" in allowed_hosts and not debug:
        raise _invalid("ALLOWED_HOSTS", "must list host names, not '*', when DEBUG is off")
    return allowed_hosts


def _load_token_keys(
    env: environ.Env, debug: bool, dev_token_key: Callable[[], str] | None
) -> tuple[bytes, ...]:
    raw_keys = _optional(env, "TOKEN_ENCRYPTION_KEYS")
    if raw_keys is None:
        if not debug or dev_token_key is None:
            raise _invalid("TOKEN_ENCRYPTION_KEYS", "is required when DEBUG is off")
        raw_keys = dev_token_key()
    return parse_token_keys("TOKEN_ENCRYPTION_KEYS", raw_keys)


MIN_METRICS_TOKEN_LENGTH = 32


def _load_metrics_token(env: environ.Env) -> str | None:
    """METRICS_TOKEN: unset turns /metrics off (404); set, it must be long enough not to guess."""
    token = _optional(env, "METRICS_TOKEN")
    if token is not None and len(token) < MIN_METRICS_TOKEN_LENGTH:
        raise _invalid("METRICS_TOKEN", f"must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
    return token


def load_config(
    environ_map: Mapping[str, str],
    *,
    base_dir: Path,
    dev_token_key: Callable[[], str] | None = None,
) -> AppConfig:
    """Parse and validate the environment; raise ImproperlyConfigured naming the variable.

    `dev_token_key` supplies a key when DEBUG is on and TOKEN_ENCRYPTION_KEYS is unset (the
    settings module passes one that creates and reuses a local key file).
    """
    env = _reader(environ_map)
    debug = _parse_bool("DEBUG", _optional(env, "DEBUG"), default=False)
    secret_key = _load_secret_key(env, debug)
    raw_base_url = _optional(env, "APP_BASE_URL")
    if raw_base_url is None:
        if not debug:
            raise _invalid("APP_BASE_URL", "is required when DEBUG is off")
        raw_base_url = "http://localhost:8000"
    app_base_url = _parse_base_url("APP_BASE_URL", raw_base_url)
    raw_database = _optional(env, "DATABASE_URL") or f"sqlite:///{base_dir / 'var' / 'db.sqlite3'}"
    log_level = (_optional(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise _invalid("LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}")
    return AppConfig(
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=_load_allowed_hosts(env, debug, app_base_url),
        app_base_url=app_base_url,
        database=_parse_database("DATABASE_URL", raw_database),
        redis_url=_parse_redis_url("REDIS_URL", _optional(env, "REDIS_URL")),
        token_encryption_keys=_load_token_keys(env, debug, dev_token_key),
        secure_ssl_redirect=_parse_bool(
            "SECURE_SSL_REDIRECT", _optional(env, "SECURE_SSL_REDIRECT"), default=not debug
        ),
        log_level=log_level,
        metrics_token=_load_metrics_token(env),
        audit_archive_dir=Path(
            _optional(env, "AUDIT_ARCHIVE_DIR") or base_dir / "var" / "audit-archive"
        ),
        session=_load_session(environ_map),
        fhir=_load_fhir(environ_map),
        summary=_load_summary(environ_map),
        tunables=MappingProxyType({name: _number(environ_map, name) for name in TUNABLES}),
    )


def local_key_file(path: Path) -> Callable[[], str]:
    """For DEBUG only: read the key in `path`, creating it (mode 0600) on first use."""

    def read_or_create() -> str:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(new_token_key() + "\n")
        return path.read_text().strip()

    return read_or_create
