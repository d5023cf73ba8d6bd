"""The models and their migrations agree: a model change without its migration fails here,
not on a deployment's `migrate`."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_its_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exit_:  # --check exits 1 when a migration is missing
        raise AssertionError(f"missing migrations:\n{out.getvalue()}") from exit_


@pytest.mark.django_db(transaction=True)
def test_connections_on_the_old_default_scopes_get_the_documents_types() -> None:
    """0009: a connection still on the default scopes of 0008 gets the documents section's
    types; one whose scopes an operator chose keeps them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("smartapp", "0008_launch_steps")])
    old = executor.loader.project_state([("smartapp", "0008_launch_steps")]).apps
    model = old.get_model("smartapp", "EhrConnection")
    old_default = model._meta.get_field("scopes_patient").default
    assert "DocumentReference" not in old_default
    model.objects.create(slug="stock", name="Stock", iss="https://a.example/fhir", client_id="a")
    model.objects.create(
        slug="chosen",
        name="Chosen",
        iss="https://b.example/fhir",
        client_id="b",
        scopes_patient="launch/patient openid patient/Patient.rs",
    )
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    from smartapp.models import EhrConnection

    stock = EhrConnection.objects.get(slug="stock")
    assert "patient/DocumentReference.rs" in stock.scopes_patient
    assert "patient/Binary.rs" in stock.scopes_patient
    assert "user/DiagnosticReport.rs" in stock.scopes_provider
    assert EhrConnection.objects.get(slug="chosen").scopes_patient == (
        "launch/patient openid patient/Patient.rs"
    )
