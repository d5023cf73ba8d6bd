"""`manage.py extract_cancel --job ID`: stop an extraction job (`jobs.cancel`).

Its files stop at their next chunk and the EHR is asked to delete its export job. What was
already loaded stays: every row is an idempotent upsert, and a cancelled job never marks
anything deleted at the source.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from smartapp.extraction import jobs
from smartapp.management.commands.extract_status import find_job


class Command(BaseCommand):
    help = "Cancel an extraction job."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--job", metavar="ID", required=True, help="the job id (or a 6+ character prefix)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = find_job(options["job"])
        if not jobs.cancel(str(job.pk)):
            job.refresh_from_db()
            raise CommandError(f"job {job.pk} is already {job.state}: nothing to cancel")
        self.stdout.write(f"cancelled extraction job {job.pk}")
