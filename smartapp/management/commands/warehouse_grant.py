"""`manage.py warehouse_grant --role ROLE --connection SLUG [--revoke]`: let an analyst's
login role read one tenant's rows in the canonical store (or stop it).

The DBA creates the login role (one per analyst, or per tenant's BI tool); this maps it to the
connection (`warehouse.grants`), and makes it a member of `smartapp_reporting` if the app's
database user may, printing the statements a DBA must run otherwise. It never creates a
login role.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from smartapp.models import EhrConnection
from smartapp.warehouse.grants import RoleRefused, grant_reporting, revoke_reporting


class Command(BaseCommand):
    help = "Map a PostgreSQL login role to the EHR connection whose warehouse rows it may read."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", required=True, help="the analyst's login role")
        parser.add_argument("--connection", metavar="SLUG", required=True, help="the tenant")
        parser.add_argument("--revoke", action="store_true", help="remove the mapping instead")

    def handle(self, *args: Any, **options: Any) -> None:
        role, slug = options["role"], options["connection"]
        try:
            tenant = EhrConnection.objects.get(slug=slug)
        except EhrConnection.DoesNotExist:
            raise CommandError(f"no EHR connection {slug!r}") from None
        change = revoke_reporting if options["revoke"] else grant_reporting
        try:
            result = change(role=role, connection_id=tenant.pk)
        except RoleRefused as exc:
            raise CommandError(str(exc)) from None
        if options["revoke"]:
            verb = "no longer reads" if result.changed else "did not read"
        else:
            verb = "now reads" if result.changed else "already reads"
        self.stdout.write(f"{role} {verb} the warehouse rows of {slug} ({tenant.pk})")
        if connection.vendor != "postgresql":
            self.stdout.write(
                "note: this database has no roles or row-level security (SQLite, the demo): "
                "the mapping is recorded but protects nothing until the store is on PostgreSQL"
            )
        for statement in result.ran:
            self.stdout.write(f"ran: {statement}")
        if result.for_dba:
            self.stdout.write("a DBA must run (this database user may not):")
            for statement in result.for_dba:
                self.stdout.write(f"  {statement}")
