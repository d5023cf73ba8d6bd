"""`manage.py audit_verify`: check the PHI access trail's hash chain (smartapp.audit.chain).

Walks the live rows from the last archived segment's end hash (or 64 zeros), recomputing each
row's hash and checking that `seq` has no gap and each `prev_hash` names the row before.
Prints OK and the count, or names the first bad row and exits non-zero.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smartapp.audit.chain import verify


class Command(BaseCommand):
    help = "Verify the PHI access trail's hash chain; exits non-zero at the first broken row."

    def handle(self, *args: Any, **options: Any) -> None:
        verdict = verify()
        if not verdict.ok:
            raise CommandError(
                f"audit chain broken at seq {verdict.bad_seq}: {verdict.reason} "
                f"({verdict.checked} rows after seq {verdict.start_seq} verified before it)"
            )
        self.stdout.write(
            f"OK: {verdict.checked} audit rows verified (chain from seq {verdict.start_seq + 1})"
        )
