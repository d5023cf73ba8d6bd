"""`manage.py sandbox_load FILE...`: add FHIR Bundles (Synthea output, say) to the sandbox.

Each file is checked (JSON, R4 resources the sandbox serves, every one valid per fhirclient's
models) and copied into the bundle folder that every sandbox process reads at start-up;
restart `runsandbox` to serve them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from sandbox.fhir_store import bundle_dir, bundle_resources


class Command(BaseCommand):
    help = "Validate FHIR Bundles and add them to the sandbox's data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        target = bundle_dir()
        target.mkdir(parents=True, exist_ok=True)
        for path in options["files"]:
            try:
                resources = bundle_resources(json.loads(path.read_text()))
            except (OSError, ValueError) as exc:
                raise CommandError(f"{path}: not readable JSON ({exc})") from exc
            if not resources:
                raise CommandError(f"{path}: no resources the sandbox serves")
            for resource in resources:
                try:
                    FHIRElementFactory.instantiate(resource["resourceType"], resource)
                except (FHIRValidationError, KeyError, TypeError) as exc:
                    name = f"{resource.get('resourceType')}/{resource.get('id')}"
                    raise CommandError(f"{path}: {name} is not valid FHIR R4: {exc}") from exc
            shutil.copyfile(path, target / path.name)
            self.stdout.write(f"{path}: {len(resources)} resources added")
