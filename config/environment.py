"""Every environment variable the app reads, parsed and validated once at start-up.

`load_config(environ)` is pure: it turns a mapping of environment variables into a frozen
`AppConfig` or raises `ImproperlyConfigured` naming the variable that is wrong, so a
misconfigured deploy stops before it serves a request rather than at the first launch.
`settings.py` calls it once with `os.environ`; tests call it with plain dicts.

The variables (each documented in README.md and .env.example):

DEBUG                   true/false (default false). Never true in production.
SECRET_KEY              Django's signing key; required when DEBUG is off (>= 50 characters).
ALLOWED_HOSTS           comma-separated host names; default: the host of APP_BASE_URL.
APP_BASE_URL            the app's public origin, e.g. https://smart.example.org; SMART redirect
                        and launch URIs are built from it. Required when DEBUG is off; https
                        except for loopback hosts (RFC 8252 section 7.3).
DATABASE_URL            sqlite:///path or postgres://user@host:port/db; default: var/db.sqlite3.
REDIS_URL               redis://host:port/db. Unset: in-process cache and eager Celery.
                        Set: Redis cache, Celery broker and cross-process locks.
TOKEN_ENCRYPTION_KEYS   comma-separated, urlsafe-base64 32-byte keys; the first encrypts, all
                        decrypt. Required when DEBUG is off; in DEBUG a local key file is made
                        and reused.
SECURE_SSL_REDIRECT     true/false (default: true when DEBUG is off). Set false only where TLS
                        is terminated in front of the app and plain HTTP never reaches users.
LOG_LEVEL               DEBUG, INFO, WARNING, ERROR (default INFO).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from smart.url_policy import is_loopback

TOKEN_KEY_BYTES = 32  # AES-256-GCM
MIN_SECRET_KEY_LENGTH = 50  # what `check --deploy` (security.W009) asks for
# DEBUG only; load_config refuses to run without SECRET_KEY when DEBUG is off.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-never-use-outside-debug-0123456789abcdef"  # noqa: S105

# Every variable load_config reads (README.md and .env.example document each; a test checks).
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
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASE_SCHEMES = frozenset({"sqlite", "postgres", "postgresql", "pgsql"})
_REDIS_SCHEMES = frozenset({"redis", "rediss"})


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

    secret_key = _optional(env, "SECRET_KEY")
    if secret_key is None:
        if not debug:
            raise _invalid("SECRET_KEY", "is required when DEBUG is off")
        secret_key = DEV_SECRET_KEY
    elif not debug and (len(secret_key) < MIN_SECRET_KEY_LENGTH or len(set(secret_key)) < 5):
        raise _invalid("SECRET_KEY", f"must be at least {MIN_SECRET_KEY_LENGTH} random characters")

    raw_base_url = _optional(env, "APP_BASE_URL")
    if raw_base_url is None:
        if not debug:
            raise _invalid("APP_BASE_URL", "is required when DEBUG is off")
        raw_base_url = "http://localhost:8000"
    app_base_url = _parse_base_url("APP_BASE_URL", raw_base_url)

    base_host = urlsplit(app_base_url).hostname or ""
    allowed_hosts: tuple[str, ...] = tuple(
        host.strip() for host in env.list("ALLOWED_HOSTS", default=[]) if host.strip()
    )
    if not allowed_hosts:
        allowed_hosts = (base_host, "127.0.0.1") if debug else (base_host,)
    if "*" in allowed_hosts and not debug:
        raise _invalid("ALLOWED_HOSTS", "must list host names, not '*', when DEBUG is off")

    raw_database = _optional(env, "DATABASE_URL") or f"sqlite:///{base_dir / 'var' / 'db.sqlite3'}"
    database = _parse_database("DATABASE_URL", raw_database)

    redis_url = _parse_redis_url("REDIS_URL", _optional(env, "REDIS_URL"))

    raw_keys = _optional(env, "TOKEN_ENCRYPTION_KEYS")
    if raw_keys is None:
        if not debug or dev_token_key is None:
            raise _invalid("TOKEN_ENCRYPTION_KEYS", "is required when DEBUG is off")
        raw_keys = dev_token_key()
    token_encryption_keys = parse_token_keys("TOKEN_ENCRYPTION_KEYS", raw_keys)

    secure_ssl_redirect = _parse_bool(
        "SECURE_SSL_REDIRECT", _optional(env, "SECURE_SSL_REDIRECT"), default=not debug
    )

    log_level = (_optional(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise _invalid("LOG_LEVEL", f"must be one of {', '.join(_LOG_LEVELS)}")

    return AppConfig(
        debug=debug,
        secret_key=secret_key,
        allowed_hosts=allowed_hosts,
        app_base_url=app_base_url,
        database=database,
        redis_url=redis_url,
        token_encryption_keys=token_encryption_keys,
        secure_ssl_redirect=secure_ssl_redirect,
        log_level=log_level,
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
