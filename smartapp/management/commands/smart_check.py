"""`manage.py smart_check --iss URL [--connection SLUG] [--format table|json|junit]`.

A go-live conformance report for one SMART server (docs/smart-check.md): the findings of
`smartapp.conformance.checks.run_checks`, rendered, and exit status 1 when any check fails,
so a pipeline can gate on it. Findings from other sources are added with
`Report.with_findings` in `extra_findings` before rendering.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smart.conformance import Finding, Report, Status
from smartapp.conformance.checks import connection_for, run_checks
from smartapp.conformance.report import FORMATS, render
from smartapp.models import EhrConnection


class Command(BaseCommand):
    help = "Check a SMART on FHIR server's conformance (discovery, JWKS, token endpoint, TLS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--iss", help="the FHIR base URL (default: the --connection's iss)", default=None
        )
        parser.add_argument(
            "--connection",
            metavar="SLUG",
            default=None,
            help="check as this registered connection (default: the one registered for --iss)",
        )
        parser.add_argument("--format", choices=FORMATS, default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = self._connection(options["iss"], options["connection"])
        iss = options["iss"] or (connection.iss if connection else None)
        if not iss:
            raise CommandError("give --iss, or --connection for a registered EHR")
        report = run_checks(iss, connection)
        report = report.with_findings(self.extra_findings(report, options))
        self.stdout.write(render(report, options["format"]), ending="")
        if report.failed:
            raise CommandError(f"{report.counts[Status.FAIL]} checks failed", returncode=1)

    def extra_findings(self, report: Report, options: dict[str, Any]) -> tuple[Finding, ...]:
        """Findings beyond the static checks (none yet); added before rendering."""
        return ()

    def _connection(self, iss: str | None, slug: str | None) -> EhrConnection | None:
        try:
            connection = connection_for(iss, slug)
        except EhrConnection.DoesNotExist:
            raise CommandError(f"no connection with slug {slug!r}") from None
        if connection is not None and iss and connection.iss != iss:
            raise CommandError(f"connection {slug!r} is registered for {connection.iss}, not {iss}")
        return connection
