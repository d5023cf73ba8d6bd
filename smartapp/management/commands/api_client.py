"""`manage.py api_client issue|rotate|revoke|list`: service clients of the use-case API.

    api_client issue --name "Care app" --connection hospital-a --scope summary.read
    api_client rotate sac_...      # prints the new secret; the old one and its tokens stop
    api_client revoke sac_...      # the client and its tokens stop at once
    api_client list

A secret is printed once, when made; only its hash is stored (docs/api-clients.md).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartapp.api_clients import credentials
from smartapp.api_clients.models import ApiClient


class Command(BaseCommand):
    help = "Issue, rotate, revoke or list the use-case API's service clients."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        issue = actions.add_parser("issue", help="a new client; prints its secret once")
        issue.add_argument("--name", required=True)
        issue.add_argument(
            "--connection", metavar="SLUG", action="append", required=True, help="a tenant"
        )
        issue.add_argument("--scope", action="append", required=True, help="e.g. summary.read")
        issue.add_argument("--rate-limit", type=int, default=None, help="calls per minute")
        for name, text in (("rotate", "a new secret"), ("revoke", "refuse it from now on")):
            actions.add_parser(name, help=text).add_argument("client_id")
        actions.add_parser("list", help="every client")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None

    def _issue(self, options: dict[str, Any]) -> None:
        client, secret = credentials.issue(
            options["name"],
            options["connection"],
            options["scope"],
            rate_limit=options["rate_limit"],
            created_by="cli",
        )
        self.stdout.write(f"client_id: {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("the secret is shown once; only its hash is stored")

    def _client(self, client_id: str) -> ApiClient:
        try:
            return ApiClient.objects.get(client_id=client_id)
        except ApiClient.DoesNotExist:
            raise CommandError(f"no API client {client_id!r}") from None

    def _rotate(self, options: dict[str, Any]) -> None:
        client = self._client(options["client_id"])
        secret = credentials.rotate(client)
        self.stdout.write(f"client_id: {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("the old secret and its access tokens are refused from now on")

    def _revoke(self, options: dict[str, Any]) -> None:
        client = self._client(options["client_id"])
        credentials.revoke(client)
        self.stdout.write(f"{client.client_id} revoked: it and its access tokens are refused")

    def _list(self, options: dict[str, Any]) -> None:
        clients = ApiClient.objects.prefetch_related("connections").order_by("created")
        for client in clients:
            tenants = ",".join(sorted(c.slug for c in client.connections.all()))
            state = "revoked" if client.revoked_at else "active"
            limit = client.rate_limit_per_minute or "default"
            self.stdout.write(
                f"{client.client_id}\t{state}\t{client.name}\ttenants={tenants}"
                f"\tscopes={client.scopes}\trate={limit}/min\tcreated={client.created:%Y-%m-%d}"
            )
        if not clients:
            self.stdout.write("no API clients")
