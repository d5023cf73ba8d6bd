"""`manage.py sandbox_seed`: register the demo app and build the synthetic data.

Options:
- `--backend-client-id ID` with `--backend-jwks-url URL` or `--backend-jwks-file FILE`
  (and `--backend-scopes`, default `system/*.rs`): also register a SMART Backend Services
  client (https://hl7.org/fhir/smart-app-launch/backend-services.html);
- `--patients N`: serve N extra generated patients (`pop-<n>`, `sandbox.synthetic.population`)
  from every sandbox process, recorded in `population.json` beside the bundle folder;
  `--patients 0` goes back to the synthetic set alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.clients import (
    DEMO_BACKEND_CLIENT_ID,
    DEMO_ORIGIN,
    register_backend_client,
    register_demo_app,
)
from sandbox.fhir_search import RESOURCE_TYPES
from sandbox.fhir_store import bundle_dir, get_store
from sandbox.synthetic import population
from sandbox.synthetic.groups import GROUP_IDS


class Command(BaseCommand):
    help = "Register the demo app with the sandbox (and the sandbox with the app); build the data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--origin",
            default=DEMO_ORIGIN,
            help=f"where the sandbox is served (default {DEMO_ORIGIN})",
        )
        parser.add_argument("--backend-client-id", help="register a Backend Services client")
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument("--backend-jwks-url", help="the backend client's JWKS URL")
        keys.add_argument("--backend-jwks-file", help="a file holding the backend client's JWKS")
        parser.add_argument(
            "--backend-scopes",
            default="system/*.rs",
            help="scopes the backend client may be granted (default system/*.rs)",
        )
        parser.add_argument(
            "--patients",
            type=int,
            help="extra generated patients every sandbox process serves (0: none)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        client = register_demo_app(options["origin"])
        if options["backend_client_id"]:
            self._register_backend(options)
        if options["patients"] is not None:
            self._set_population(options["patients"])
        store = get_store()  # deterministic: built the same in every sandbox process
        counts = ", ".join(
            f"{store.count(rtype)} {rtype}" for rtype in RESOURCE_TYPES if rtype != "Group"
        )
        self.stdout.write(f"registered {client.client_id}; synthetic data: {counts}")
        self.stdout.write(
            f"Groups {', '.join(GROUP_IDS)} (built from the patients when read); Backend "
            f"Services client {DEMO_BACKEND_CLIENT_ID} (extraction: manage.py extract "
            "--connection sandbox --full --wait)"
        )

    def _register_backend(self, options: dict[str, Any]) -> None:
        url, file = options["backend_jwks_url"], options["backend_jwks_file"]
        if not url and not file:
            raise CommandError(
                "--backend-client-id needs --backend-jwks-url or --backend-jwks-file"
            )
        jwks = None
        if file:
            try:
                jwks = json.loads(Path(file).read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read a JWKS from {file}: {exc}") from exc
        try:
            backend = register_backend_client(
                client_id=options["backend_client_id"],
                jwks_uri=url,
                jwks=jwks,
                scopes=options["backend_scopes"],
            )
        except (ValueError, AttributeError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"registered backend client {backend.client_id} ({backend.scope})")

    def _set_population(self, patients: int) -> None:
        if patients < 0:
            raise CommandError("--patients must be 0 or more")
        path = population.write_size(bundle_dir().parent, patients)
        self.stdout.write(f"population: {patients} generated patients ({path})")
