"""`manage.py smart_check --iss URL [--connection SLUG] [--format table|json|junit] [--launch]`.

A go-live conformance report for one SMART server (docs/smart-check.md): the findings of
`smartapp.conformance.checks.run_checks`, rendered, and exit status 1 when any check fails,
so a pipeline can gate on it. With `--launch` (a registered connection needed), a standalone
launch the QA engineer completes in a browser adds its findings
(`smartapp.conformance.launch_check`): the link goes to stderr, so stdout stays the report.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smart.conformance import Finding, Report, Status
from smart.scopes import LaunchKind
from smartapp.conformance import launch_check
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
        parser.add_argument(
            "--launch",
            action="store_true",
            help="also run a standalone launch completed in a browser, then test its token",
        )
        parser.add_argument(
            "--launch-kind",
            choices=[LaunchKind.PATIENT.value, LaunchKind.PROVIDER.value],
            default=LaunchKind.PATIENT.value,
        )
        parser.add_argument("--scope", default=None, help="scopes to ask for (default: its own)")
        parser.add_argument(
            "--wait", type=float, default=600.0, help="seconds to wait for the launch (600)"
        )

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
        """With --launch, the live launch's findings; added before rendering."""
        if not options["launch"]:
            return ()
        connection = self._connection(report.iss, report.connection)
        if connection is None or not connection.enabled:
            raise CommandError("--launch needs an enabled registered connection for this iss")
        return launch_check.run(
            connection,
            kind=LaunchKind(options["launch_kind"]),
            scope=" ".join((options["scope"] or "").split()) or None,
            wait_s=options["wait"],
            announce=self._announce,
        )

    def _announce(self, url: str) -> None:
        self.stderr.write(
            "Open this link in a browser and complete the sign-in at the EHR "
            f"(waiting for the launch):\n{url}"
        )
        self.stderr.flush()

    def _connection(self, iss: str | None, slug: str | None) -> EhrConnection | None:
        try:
            connection = connection_for(iss, slug)
        except EhrConnection.DoesNotExist:
            raise CommandError(f"no connection with slug {slug!r}") from None
        if connection is not None and iss and connection.iss != iss:
            raise CommandError(f"connection {slug!r} is registered for {connection.iss}, not {iss}")
        return connection
