"""The store's admin pages list rows and allow no add, change or delete."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory

from smartapp.warehouse.models import MODELS, PatientLink
from tests.smartapp.warehouse.test_load import obs, prov

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [*MODELS.values(), PatientLink])
def test_registered_read_only(model: type) -> None:
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_the_observation_list_renders(admin_client: Client) -> None:
    from smartapp.warehouse.load import load

    load([obs("o-admin")], prov(job=uuid4()), track_seen=False)
    response = admin_client.get("/admin/warehouse/observation/")
    assert response.status_code == 200
    assert b"o-admin" in response.content
