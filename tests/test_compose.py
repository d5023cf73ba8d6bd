"""docker-compose.yml, kept honest without a Docker engine: every command it runs exists here."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from config.environment import VARIABLES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]


def argv(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_the_system_is_all_there() -> None:
    assert {"web", "worker", "beat", "postgres", "redis", "sandbox"} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if "build" in s))
def test_each_app_command_exists_in_the_project(name: str) -> None:
    command = argv(SERVICES[name])
    program = command[0]
    if program == "gunicorn":
        module, _, attribute = command[1].partition(":")
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        assert getattr(importlib.import_module(module), attribute or "application")
    elif program == "celery":
        assert command[1:3] == ["-A", "config"]
        assert command[3] in {"worker", "beat"}
        from config import celery_app

        assert celery_app.main == "smartapp"
    elif program == "python":
        assert command[1] == "manage.py"
        assert (ROOT / "manage.py").exists()
        assert command[2] in get_commands(), f"{name}: no management command {command[2]}"
    else:
        pytest.fail(f"{name}: unknown program {program}")


def test_images_and_build() -> None:
    assert (ROOT / "Dockerfile").exists()
    for name, service in SERVICES.items():
        assert ("build" in service) != ("image" in service), name


def test_dependencies_name_real_services() -> None:
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_configuration_comes_from_env_example() -> None:
    example = ROOT / ".env.example"
    listed = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert listed == set(VARIABLES), "every variable once, and nothing the app does not read"
    for name, service in SERVICES.items():
        if "build" in service:
            paths = [entry["path"] for entry in service["env_file"]]
            assert paths[0] == ".env.example", name
