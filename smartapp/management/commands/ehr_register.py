"""`manage.py ehr_register`: register (or update) an organisation's EHR connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smart import client_auth
from smart.profiles import profiles
from smart.scopes import LaunchKind
from smartapp.registry import RegistrationError, register_connection


def _read(path: Path | None, flag: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{flag}: cannot read {path} ({type(exc).__name__})") from exc


class Command(BaseCommand):
    help = "Register or update an EHR connection (one per organisation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--iss", required=True, help="the FHIR base URL, exactly as the EHR sends it"
        )
        parser.add_argument("--client-id", required=True)
        auth = parser.add_mutually_exclusive_group(required=True)
        auth.add_argument(
            "--client-secret", help="client_secret_basic (or the method --client-auth names)"
        )
        auth.add_argument(
            "--private-key", type=Path, help="PEM file: private_key_jwt (RSA or EC P-384)"
        )
        auth.add_argument("--public", action="store_true", help="public client (PKCE only)")
        for kind in LaunchKind:
            parser.add_argument(
                f"--scopes-{kind.value}",
                default=None,
                help=f"scopes for {kind.value} launches (default: built-in)",
            )
        parser.add_argument(
            "--frame-origin",
            action="append",
            default=[],
            help="an EHR origin allowed to show the app in an iframe",
        )
        parser.add_argument(
            "--client-auth",
            choices=sorted(client_auth.methods()),
            default=None,
            help="the token endpoint auth method (default: from the credential given)",
        )
        parser.add_argument(
            "--profile",
            choices=sorted(profiles()),
            default="generic",
            help="the EHR profile (smart/profiles.py): this server's known quirks",
        )
        parser.add_argument("--disabled", action="store_true")
        backend = parser.add_argument_group("SMART Backend Services (extraction)")
        backend.add_argument(
            "--backend-key", type=Path, help="PEM file: the backend client's key (RSA or P-384)"
        )
        backend.add_argument(
            "--backend-client-id", help="the backend client's id (default: --client-id)"
        )
        backend.add_argument(
            "--system-scopes",
            default=None,
            help="system/ scopes to ask for (default: read of every type the canonical store "
            "keeps, and Group)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        method = options["client_auth"] or (
            "client_secret_basic"
            if options["client_secret"]
            else "private_key_jwt"
            if options["private_key"]
            else "none"
        )
        if options["backend_client_id"] and not options["backend_key"]:
            raise CommandError("--backend-client-id needs --backend-key (the backend client's key)")
        pem = _read(options["private_key"], "--private-key")
        backend_pem = _read(options["backend_key"], "--backend-key")
        backend_id = (options["backend_client_id"] or options["client_id"]) if backend_pem else None
        scopes = {
            kind: options[f"scopes_{kind.value}"]
            for kind in LaunchKind
            if options[f"scopes_{kind.value}"]
        }
        try:
            connection = register_connection(
                slug=options["slug"],
                name=options["name"],
                iss=options["iss"],
                client_id=options["client_id"],
                client_auth=method,
                client_secret=options["client_secret"],
                private_key_pem=pem,
                scopes=scopes,
                frame_origins=options["frame_origin"],
                enabled=not options["disabled"],
                profile=options["profile"],
                backend_client_id=backend_id,
                backend_key_pem=backend_pem,
                system_scopes=options["system_scopes"],
            )
        except RegistrationError as exc:
            raise CommandError(str(exc)) from exc
        backend = f", backend services as {connection.backend_client_id}" if backend_pem else ""
        self.stdout.write(
            f"registered {connection.slug}: {connection.iss} ({connection.client_auth}{backend})"
        )
