"""`manage.py rotate_token_keys`: re-encrypt every stored secret under the first key.

Covers tokens, PKCE verifiers, client secrets and private keys (every `*_encrypted` field).
One row at a time, each in its own transaction, skipping ciphertexts already under the first
key: idempotent, and safe to interrupt and run again. Afterwards the old keys can be removed
from TOKEN_ENCRYPTION_KEYS.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from smartapp.models import EhrConnection, Launch, TokenGrant
from smartapp.secretbox import secret_box


class Command(BaseCommand):
    help = "Re-encrypt all stored secrets under the first key of TOKEN_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        box = secret_box()
        total = 0
        for model in (EhrConnection, Launch, TokenGrant):
            changed = 0
            for pk in model.objects.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    row = model.objects.select_for_update().filter(pk=pk).first()
                    if row is None:
                        continue
                    stale = [
                        name
                        for name in row.secret_fields()
                        if getattr(row, f"{name}_encrypted")
                        and not box.is_current(getattr(row, f"{name}_encrypted"))
                    ]
                    for name in stale:
                        row.set_secret(name, row.get_secret(name))
                    if stale:
                        row.save(update_fields=[f"{name}_encrypted" for name in stale])
                        changed += 1
            self.stdout.write(f"{model._meta.label}: {changed} rows re-encrypted")
            total += changed
        self.stdout.write(f"done: {total} rows re-encrypted")
