"""config.settings as shipped: production passes `check --deploy`; mistakes stop start-up.

These run `manage.py` in a fresh process with a clean environment, exactly as a deploy would,
so nothing the test suite's own settings fill in can hide a problem.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.environment import new_token_key

ROOT = Path(__file__).resolve().parents[2]


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "prod-" + new_token_key() + new_token_key(),
        "APP_BASE_URL": "https://smart.example.org",
        "TOKEN_ENCRYPTION_KEYS": f"{new_token_key()},{new_token_key()}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value != ""}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy_with_no_warnings(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_with_redis_pass_check_deploy(tmp_path: Path) -> None:
    env = production_env(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SECRET_KEY", ""),
        ("TOKEN_ENCRYPTION_KEYS", ""),
        ("APP_BASE_URL", "http://smart.example.org"),
        ("DATABASE_URL", "mysql://root@localhost/x"),
    ],
)
def test_a_bad_variable_stops_start_up_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    result = manage(production_env(tmp_path, **{variable: value}), "check")
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {variable}: " in result.stderr


def test_production_settings_never_install_the_sandbox(tmp_path: Path) -> None:
    probe = "from django.conf import settings; print(sorted(settings.INSTALLED_APPS))"
    result = manage(production_env(tmp_path), "shell", "-c", probe)
    assert result.returncode == 0, result.stderr
    assert "'portal'" in result.stdout
    assert "sandbox" not in result.stdout
    assert manage(production_env(tmp_path), "runsandbox", "--help").returncode != 0
