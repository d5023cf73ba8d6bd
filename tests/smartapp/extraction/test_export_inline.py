"""A whole extraction over real HTTP to the sandbox, its steps run in this process."""

from __future__ import annotations

from typing import Any

import pytest

from smartapp.extraction.records import ExtractionFile
from smartapp.warehouse import models as warehouse
from tests.fixtures.extraction import run, sandbox_counts

pytestmark = pytest.mark.django_db(transaction=True)


def _loaded() -> dict[str, int]:
    return {
        model.__name__: model.objects.filter(deleted_at_source=None).count()
        for model in warehouse.MODELS.values()
    }


def test_a_full_export_loads_every_resource_the_sandbox_holds(backend_connection: Any) -> None:
    connection = backend_connection()
    job = run(connection, full=True)
    assert job.state == "done", (job.error_code, job.error_detail)
    assert job.method == "bulk"
    expected = sandbox_counts()
    assert job.resources_loaded == sum(expected.values())
    assert set(ExtractionFile.objects.filter(job=job).values_list("state", flat=True)) == {"done"}
    print(_loaded(), expected)
