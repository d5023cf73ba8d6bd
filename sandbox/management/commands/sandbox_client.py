"""`manage.py sandbox_client`: register (or update) a SMART app with the sandbox EHR."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.clients import register_client


class Command(BaseCommand):
    help = "Register or update a SMART client with the sandbox EHR."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client-id", required=True)
        auth = parser.add_mutually_exclusive_group(required=True)
        auth.add_argument("--secret", help="confidential symmetric (client_secret_basic/post)")
        auth.add_argument("--jwks-uri", help="confidential asymmetric (private_key_jwt)")
        auth.add_argument("--public", action="store_true", help="public client (PKCE only)")
        parser.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        parser.add_argument("--launch-uri", default="")
        parser.add_argument(
            "--scopes", default="", help="allowed scopes, space-separated (default: any)"
        )
        parser.add_argument("--name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = register_client(
                client_id=options["client_id"],
                redirect_uris=options["redirect_uris"],
                launch_uri=options["launch_uri"],
                secret=options["secret"],
                jwks_uri=options["jwks_uri"],
                scopes=options["scopes"],
                name=options["name"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"registered {client.client_id} ({client.auth_method})")
