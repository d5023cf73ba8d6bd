"""config.environment: each mistake stops start-up naming its variable; good input parses."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.environment import (
    DEV_SECRET_KEY,
    VARIABLES,
    load_config,
    local_key_file,
    new_token_key,
    parse_token_keys,
)

KEY_A = new_token_key()
KEY_B = new_token_key()
GOOD_SECRET = "s3cr3t-" + "x7Qp9" * 12

PRODUCTION = {
    "SECRET_KEY": GOOD_SECRET,
    "APP_BASE_URL": "https://smart.example.org",
    "TOKEN_ENCRYPTION_KEYS": KEY_A,
}


def load(environ: dict[str, str], **kwargs: object):
    return load_config(environ, base_dir=Path("/srv/app"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("SECRET_KEY", ""),
        ("SECRET_KEY", "short"),
        ("SECRET_KEY", "a" * 60),  # long but not random: fewer than 5 distinct characters
        ("APP_BASE_URL", ""),
        ("APP_BASE_URL", "smart.example.org"),
        ("APP_BASE_URL", "ftp://smart.example.org"),
        ("APP_BASE_URL", "http://smart.example.org"),  # plain HTTP off loopback
        ("APP_BASE_URL", "https://user:pw@smart.example.org"),
        ("APP_BASE_URL", "https://smart.example.org/?x=1"),
        ("ALLOWED_HOSTS", "*"),
        ("DATABASE_URL", "mysql://root@127.0.0.1/test"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:notaport/test"),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/"),
        ("REDIS_URL", "http://127.0.0.1:6379/0"),
        ("REDIS_URL", "redis://127.0.0.1:port/0"),
        ("TOKEN_ENCRYPTION_KEYS", ""),
        ("TOKEN_ENCRYPTION_KEYS", "not base64 !!"),
        ("TOKEN_ENCRYPTION_KEYS", "c2hvcnQ"),  # decodes to 5 bytes
        ("TOKEN_ENCRYPTION_KEYS", f"{KEY_A},,{KEY_B}"),
        ("TOKEN_ENCRYPTION_KEYS", f"{KEY_A},{KEY_A}"),
        ("SECURE_SSL_REDIRECT", "sometimes"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_each_mistake_names_its_variable_and_not_its_value(variable: str, value: str) -> None:
    environ = {**PRODUCTION, variable: value}
    with pytest.raises(ImproperlyConfigured) as raised:
        load(environ)
    message = str(raised.value)
    assert message.startswith(f"{variable}: ")
    if len(value) > 8:
        # The value may be a secret; the message must not repeat it.
        assert value not in message


@pytest.mark.parametrize("variable", ["SECRET_KEY", "APP_BASE_URL", "TOKEN_ENCRYPTION_KEYS"])
def test_production_requires(variable: str) -> None:
    environ = {key: value for key, value in PRODUCTION.items() if key != variable}
    with pytest.raises(ImproperlyConfigured, match=f"^{variable}: is required when DEBUG is off"):
        load(environ)


def test_production_values() -> None:
    config = load(
        {
            **PRODUCTION,
            "DATABASE_URL": "postgres://app@db.internal:5432/smart",
            "REDIS_URL": "redis://cache.internal:6379/1",
            "TOKEN_ENCRYPTION_KEYS": f"{KEY_A}, {KEY_B}",
            "LOG_LEVEL": "warning",
        }
    )
    assert config.debug is False
    assert config.secret_key == GOOD_SECRET
    assert config.app_base_url == "https://smart.example.org"
    assert config.allowed_hosts == ("smart.example.org",)
    assert config.database["ENGINE"] == "django.db.backends.postgresql"
    assert config.database["NAME"] == "smart"
    assert config.database_vendor == "postgresql"
    assert config.redis_url == "redis://cache.internal:6379/1"
    assert len(config.token_encryption_keys) == 2
    assert config.token_encryption_keys[0] == parse_token_keys("K", KEY_A)[0]  # first encrypts
    assert config.secure_ssl_redirect is True
    assert config.log_level == "WARNING"


def test_debug_defaults_need_nothing(tmp_path: Path) -> None:
    config = load({"DEBUG": "true"}, dev_token_key=local_key_file(tmp_path / "k"))
    assert config.debug is True
    assert config.secret_key == DEV_SECRET_KEY
    assert config.app_base_url == "http://localhost:8000"
    assert config.allowed_hosts == ("localhost", "127.0.0.1")
    assert config.database["ENGINE"] == "django.db.backends.sqlite3"
    assert config.database["NAME"] == "/srv/app/var/db.sqlite3"
    assert config.redis_url is None
    assert config.secure_ssl_redirect is False
    assert len(config.token_encryption_keys) == 1


def test_debug_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "dev.key"
    first = load({"DEBUG": "1"}, dev_token_key=local_key_file(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = load({"DEBUG": "1"}, dev_token_key=local_key_file(key_file))
    assert first.token_encryption_keys == second.token_encryption_keys


def test_explicit_allowed_hosts_and_loopback_http() -> None:
    config = load(
        {
            **PRODUCTION,
            "APP_BASE_URL": "http://127.0.0.1:8000/",
            "ALLOWED_HOSTS": "a.example, b.example",
        }
    )
    assert config.app_base_url == "http://127.0.0.1:8000"
    assert config.allowed_hosts == ("a.example", "b.example")


def test_every_variable_is_documented() -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    example = (root / ".env.example").read_text()
    for variable in VARIABLES:
        assert f"`{variable}`" in readme, f"README.md does not document {variable}"
        assert f"{variable}=" in example, f".env.example does not list {variable}"
