"""config.environment: each mistake stops start-up naming its variable; good input parses."""

from __future__ import annotations

import stat
from collections.abc import Iterator, Mapping
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
from config.tunables import SUMMARY_TTL_DEFAULTS_S, TUNABLES

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


def test_missing_secret_key_says_how_to_run_locally() -> None:
    environ = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    with pytest.raises(ImproperlyConfigured, match="for local use set DEBUG=true"):
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


# --- tunables ---------------------------------------------------------------------------

DEFAULT_TTL_S = {
    "demographics": 900,
    "problems": 300,
    "allergies": 300,
    "immunizations": 300,
    "encounters": 300,
    "medications": 120,
    "vitals": 60,
    "labs": 60,
    "documents": 300,
}


def test_tunables_default_to_the_values_the_code_used_before() -> None:
    config = load(PRODUCTION)
    assert (config.session.lifetime_s, config.session.token_refresh_skew_s) == (12 * 60 * 60, 60)
    fhir = config.fhir
    assert (fhir.connect_timeout_s, fhir.read_timeout_s) == (3.0, 10.0)
    assert (fhir.attempts, fhir.backoff_base_s, fhir.retry_after_cap_s) == (3, 0.2, 5.0)
    assert (fhir.max_pages, fhir.max_entries) == (5, 1000)
    assert (fhir.breaker_threshold, fhir.breaker_cool_down_s) == (5, 30.0)
    assert (config.summary.budget_s, config.summary.workers) == (8.0, 12)  # 8 before issue 19
    assert dict(config.summary.cache_ttl_s) == DEFAULT_TTL_S
    assert SUMMARY_TTL_DEFAULTS_S == DEFAULT_TTL_S
    # Whole numbers stay ints (SESSION_COOKIE_AGE, cache timeouts, pool sizes).
    assert isinstance(config.session.lifetime_s, int)
    assert isinstance(fhir.attempts, int)
    assert all(isinstance(ttl, int) for ttl in config.summary.cache_ttl_s.values())


def test_blank_tunables_mean_the_default() -> None:
    config = load({**PRODUCTION, "FHIR_ATTEMPTS": "", "SUMMARY_BUDGET_S": "  "})
    assert (config.fhir.attempts, config.summary.budget_s) == (3, 8.0)


def test_tunables_override() -> None:
    config = load(
        {
            **PRODUCTION,
            "SESSION_LIFETIME_S": "3600",
            "TOKEN_REFRESH_SKEW_S": " 30 ",
            "FHIR_CONNECT_TIMEOUT_S": "1.5",
            "FHIR_READ_TIMEOUT_S": "20",
            "FHIR_ATTEMPTS": "1",
            "FHIR_BACKOFF_BASE_S": "0.05",
            "FHIR_RETRY_AFTER_CAP_S": "2",
            "FHIR_MAX_PAGES": "100",
            "FHIR_MAX_ENTRIES": "50",
            "FHIR_BREAKER_THRESHOLD": "1000",
            "FHIR_BREAKER_COOL_DOWN_S": "3600",
            "SUMMARY_BUDGET_S": "2.5",
            "SUMMARY_WORKERS": "4",
            "SUMMARY_TTL_VITALS_S": "1",
            "SUMMARY_TTL_DEMOGRAPHICS_S": "86400",
        }
    )
    assert (config.session.lifetime_s, config.session.token_refresh_skew_s) == (3600, 30)
    fhir = config.fhir
    assert (fhir.connect_timeout_s, fhir.read_timeout_s, fhir.attempts) == (1.5, 20.0, 1)
    assert (fhir.backoff_base_s, fhir.retry_after_cap_s) == (0.05, 2.0)
    assert (fhir.max_pages, fhir.max_entries) == (100, 50)
    assert (fhir.breaker_threshold, fhir.breaker_cool_down_s) == (1000, 3600.0)
    assert (config.summary.budget_s, config.summary.workers) == (2.5, 4)
    ttl = config.summary.cache_ttl_s
    assert (ttl["vitals"], ttl["demographics"], ttl["labs"]) == (1, 86400, 60)


def test_section_ttls_are_read_only() -> None:
    ttl = load(PRODUCTION).summary.cache_ttl_s
    with pytest.raises(TypeError):
        ttl["vitals"] = 5


def test_one_ttl_variable_per_section() -> None:
    for section in DEFAULT_TTL_S:
        assert f"SUMMARY_TTL_{section.upper()}_S" in TUNABLES


def _refusals() -> Iterator[tuple[str, str]]:
    """For every tunable: not a number, below its range, above it, and what its kind refuses."""
    for name, tunable in TUNABLES.items():
        yield name, "ten"
        yield name, "-1"
        yield name, "0" if tunable.integer or tunable.low == 0 else str(tunable.low / 2)
        yield name, str(int(tunable.high) + 1)
        if tunable.integer:
            yield name, "2.5"  # whole numbers only
        else:
            yield name, "nan"
            yield name, "inf"


@pytest.mark.parametrize(("variable", "value"), list(_refusals()))
def test_each_wrong_tunable_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        load({**PRODUCTION, variable: value})
    assert str(raised.value).startswith(f"{variable}: must be ")


def test_a_wrong_tunable_is_not_echoed() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        load({**PRODUCTION, "FHIR_MAX_ENTRIES": "918273645546372819"})
    assert "918273645546372819" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("FHIR_ATTEMPTS", "3.0", "must be a whole number"),
        ("FHIR_ATTEMPTS", "11", "must be from 1 to 10"),
        ("FHIR_READ_TIMEOUT_S", "3s", "must be a number of seconds"),
        ("FHIR_READ_TIMEOUT_S", "0", "must be more than 0 and at most 300"),
        ("SESSION_LIFETIME_S", "60", "must be from 300 to 604800"),  # under five minutes
        ("SUMMARY_WORKERS", "1000", "must be from 1 to 64"),
        ("SUMMARY_TTL_LABS_S", "0", "must be from 1 to 86400"),
    ],
)
def test_refusals_say_what_is_expected(variable: str, value: str, why: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"^{variable}: {why}$"):
        load({**PRODUCTION, variable: value})


def test_every_tunable_default_is_within_its_own_range() -> None:
    for name, tunable in TUNABLES.items():
        assert tunable.low <= tunable.default <= tunable.high, name
        assert name in VARIABLES


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values, self.read = values, set[str]()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def test_variables_lists_exactly_what_load_config_reads(tmp_path: Path) -> None:
    for environ in (PRODUCTION, {"DEBUG": "true"}):
        recording = RecordingEnviron(dict(environ))
        load(recording, dev_token_key=local_key_file(tmp_path / "k"))  # type: ignore[arg-type]
        assert recording.read == set(VARIABLES)
