"""PostgreSQL for the test suite: Django's backend, with a cheaper flush between tests.

Tests that run a live server (the sandbox EHR, gunicorn, a browser) cannot share one
transaction with the server's threads, so pytest-django empties every table after each of
them. Django empties tables with `TRUNCATE`, which on PostgreSQL recreates each table's files:
about 100 ms for our 19 tables, paid by several hundred tests. `DELETE FROM` on tables holding
a handful of rows takes about 1 ms. Django creates every foreign key `DEFERRABLE INITIALLY
DEFERRED` and runs the flush in one transaction, so the order of the deletes does not matter.
Production uses the stock backend; only tests/settings.py selects this one.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: Any,
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or not tables:
            return list(
                super().sql_flush(
                    style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
                )
            )
        # Table names come from Django's own introspection, quoted by the backend.
        return [f"DELETE FROM {self.quote_name(table)};" for table in tables]  # noqa: S608


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
