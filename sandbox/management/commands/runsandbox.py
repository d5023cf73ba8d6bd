"""`manage.py runsandbox [--addr HOST:PORT]`: serve the sandbox EHR, and only it.

The sandbox gets its own origin (default http://127.0.0.1:9000, while the app is on
http://localhost:8000), so cookies, redirects and iframes cross sites between EHR and app the
way they do in a hospital. The app's URLs are not reachable on this origin.
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.contrib.staticfiles.management.commands.runserver import (
    Command as RunserverCommand,
)
from django.core.management.base import CommandParser

from sandbox.handler import SandboxHandler

DEFAULT_ADDR = "127.0.0.1:9000"


class Command(RunserverCommand):
    help = "Serve the sandbox EHR on its own origin (development and QA only)."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--addr", default=None, help=f"HOST:PORT (default {DEFAULT_ADDR})")

    def handle(self, *args: Any, **options: Any) -> None:
        options["addrport"] = options.pop("addr") or options.get("addrport") or DEFAULT_ADDR
        super().handle(*args, **options)

    def get_handler(self, *args: Any, **options: Any) -> Any:
        return StaticFilesHandler(SandboxHandler())
