"""`run_checks`: one SMART server's conformance report (SMART App Launch 2.2 §Conformance).

Gathers the facts (`probe`), judges them (`rules.evaluate`, pure) and returns a `Report`.
Used by `manage.py smart_check`; callers may add findings (`Report.with_findings`) before
rendering. The connection's secret never reaches a finding: the probe keeps none, and any
text that contains it all the same is redacted here before the report leaves.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings

import smart.conformance_rules as rules
from smart.conformance import ConnectionNeeds, Finding, Report
from smart.scopes import LaunchKind
from smartapp.clock import clock
from smartapp.conformance import probe
from smartapp.models import EhrConnection
from smartapp.registry import credentials_for

REDACTED = "[redacted]"


def connection_for(iss: str | None, slug: str | None) -> EhrConnection | None:
    """The named connection, else the one registered for `iss` (enabled or not), else None.

    Raises EhrConnection.DoesNotExist for an unknown slug."""
    if slug:
        return EhrConnection.objects.get(slug=slug)
    return EhrConnection.objects.filter(iss=iss).first() if iss else None


def needs_of(connection: EhrConnection) -> ConnectionNeeds:
    return ConnectionNeeds(
        slug=connection.slug,
        auth_method=connection.client_auth,
        scopes={kind.value: connection.scopes_for(kind) for kind in LaunchKind},
        profile=connection.profile,
    )


def _redact(finding: Finding, secret: str | None) -> Finding:
    if not secret:
        return finding
    return replace(
        finding,
        message=finding.message.replace(secret, REDACTED),
        fix=finding.fix.replace(secret, REDACTED),
    )


def run_checks(iss: str, connection: EhrConnection | None) -> Report:
    """Probe `iss` (as `connection`, when given: its needs and real client credentials).

    The connection's credentials go only to the server it is registered for (RFC 9700 4.4,
    mix-up): a connection for another `iss` is a ValueError, before anything is sent.
    """
    if connection is not None and connection.iss != iss:
        raise ValueError(f"connection {connection.slug!r} is registered for another iss")
    credentials = credentials_for(connection) if connection is not None else None
    needs = needs_of(connection) if connection is not None else None
    seen = probe.gather(iss, needs, credentials, f"{settings.APP_BASE_URL}/smart/callback")
    secret = credentials.secret if credentials is not None else None
    findings = tuple(_redact(f, secret) for f in rules.evaluate(seen, clock().now()))
    return Report(iss, findings, connection.slug if connection is not None else None)
