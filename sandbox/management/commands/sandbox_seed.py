"""`manage.py sandbox_seed`: register the demo app and build the synthetic data."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sandbox.clients import DEMO_ORIGIN, register_demo_app
from sandbox.fhir_search import RESOURCE_TYPES
from sandbox.fhir_store import get_store


class Command(BaseCommand):
    help = "Register the demo app with the sandbox (and the sandbox with the app); build the data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--origin",
            default=DEMO_ORIGIN,
            help=f"where the sandbox is served (default {DEMO_ORIGIN})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = register_demo_app(options["origin"])
        store = get_store()  # deterministic: built the same in every sandbox process
        counts = ", ".join(f"{store.count(rtype)} {rtype}" for rtype in RESOURCE_TYPES)
        self.stdout.write(f"registered {client.client_id}; synthetic data: {counts}")
