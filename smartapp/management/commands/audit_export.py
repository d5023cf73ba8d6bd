"""`manage.py audit_export --since <ISO date or datetime> [--until ...] [--patient <id>]
--format ndjson [--output <file>|-]`: the PHI access trail as FHIR R4 AuditEvents (IHE BALP
shape, smartapp.audit.auditevent), one per line, oldest first.

`--since` is inclusive, `--until` exclusive; a date means its midnight and a time without an
offset is in settings.TIME_ZONE. Rows already archived by retention are in the NDJSON files
of AUDIT_ARCHIVE_DIR (the same format), not here.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import dateparse, timezone

from smartapp.audit.auditevent import to_auditevent
from smartapp.audit.records import AccessRecord

FORMATS = ("ndjson",)


def instant(value: str, option: str) -> datetime:
    """An ISO 8601 date or date-time as an aware datetime; CommandError names a bad one."""
    try:
        parsed = dateparse.parse_datetime(value)
        if parsed is None and (day := dateparse.parse_date(value)) is not None:
            parsed = datetime.combine(day, time.min)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{option}: {value!r} is not an ISO 8601 date or date-time")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Export the PHI access trail as FHIR R4 AuditEvents, one JSON object per line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", required=True, help="ISO date or date-time, inclusive")
        parser.add_argument("--until", help="ISO date or date-time, exclusive")
        parser.add_argument("--patient", help="only accesses to this patient id (the EHR's)")
        parser.add_argument("--format", default="ndjson", help="ndjson (the only format)")
        parser.add_argument("--output", default="-", help="a file to write, or - for stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] not in FORMATS:
            raise CommandError(
                f"--format {options['format']!r} is not supported; the only format is ndjson"
            )
        rows = AccessRecord.objects.filter(at__gte=instant(options["since"], "--since"))
        if options["until"]:
            rows = rows.filter(at__lt=instant(options["until"], "--until"))
        if options["patient"]:
            rows = rows.filter(patient_id=options["patient"])
        if options["output"] == "-":
            count = self._write(rows.order_by("seq"), self.stdout)
        else:
            with open(options["output"], "w", encoding="utf-8") as out:
                count = self._write(rows.order_by("seq"), out)
        self.stderr.write(f"{count} AuditEvents exported")

    def _write(self, rows: Any, out: Any) -> int:
        count = 0
        for row in rows.iterator(chunk_size=2000):
            out.write(json.dumps(to_auditevent(row), separators=(",", ":")) + "\n")
            count += 1
        return count
