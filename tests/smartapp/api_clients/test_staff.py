"""The staff pages: staff only; a secret shown once, in the POST's own response, never
stored or cached; rotate and revoke behind a confirmation and a CSRF-checked POST."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from smartapp.api_clients.credentials import digest
from smartapp.api_clients.models import ApiClient

pytestmark = pytest.mark.django_db
BASE = "/staff/api-clients/"


def _secret(response) -> str:
    found = re.search(r'data-testid="client-secret">([^<]+)<', response.content.decode())
    assert found, response.content
    return found.group(1)


def manager(username: str):
    """Staff holding the permission to manage API clients."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_apiclient"))
    return user


@pytest.fixture
def staff(client) -> Client:
    client.force_login(manager("ops"))
    return client


def test_staff_without_the_permission_are_refused(client, issued):
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))
    for path in (BASE, f"{BASE}issue", f"{BASE}{issued[0].pk}/rotate"):
        assert client.get(path).status_code == 403
    assert client.post(f"{BASE}{issued[0].pk}/revoke").status_code == 403
    assert ApiClient.objects.get().revoked_at is None


@pytest.mark.parametrize("path", [BASE, f"{BASE}issue", f"{BASE}1/rotate", f"{BASE}1/revoke"])
def test_anonymous_and_non_staff_go_to_the_admin_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.force_login(get_user_model().objects.create_user("patient"))
    assert client.get(path)["Location"].startswith("/admin/login/")
    assert client.post(path)["Location"].startswith("/admin/login/")


def test_the_list_shows_each_client(staff, issued):
    response = staff.get(BASE)
    assert response.status_code == 200
    page = response.content.decode()
    assert issued[0].client_id in page
    assert "hosp-a" in page
    assert "results.read summary.read" in page
    assert issued[1] not in page
    assert response["Cache-Control"] == "no-store"


def test_issue_shows_the_secret_once_and_stores_only_its_hash(staff, tenants):
    form = staff.get(f"{BASE}issue")
    assert form.status_code == 200
    assert "hosp-b" in form.content.decode()
    response = staff.post(
        f"{BASE}issue",
        {
            "name": "Portal",
            "connections": ["hosp-a", "hosp-b"],
            "scopes": ["patients.read"],
            "rate_limit": "30",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = _secret(response)
    made = ApiClient.objects.get()
    assert made.secret_hash == digest(secret)
    assert made.created_by == "ops"
    assert made.rate_limit_per_minute == 30
    assert sorted(made.connections.values_list("slug", flat=True)) == ["hosp-a", "hosp-b"]
    assert secret not in staff.get(BASE).content.decode()
    assert secret not in str(dict(staff.session))


def test_issue_refuses_a_disabled_tenant_and_unknown_scopes(staff, tenants):
    tenants[1].enabled = False
    tenants[1].save()
    response = staff.post(
        f"{BASE}issue", {"name": "x", "connections": ["hosp-b"], "scopes": ["root"]}
    )
    assert response.status_code == 200
    assert not ApiClient.objects.exists()
    assert "client-secret" not in response.content.decode()


def test_rotate_confirms_then_shows_the_new_secret_once(staff, issued):
    api_client, old = issued
    confirm = staff.get(f"{BASE}{api_client.pk}/rotate")
    assert confirm.status_code == 200
    assert "csrfmiddlewaretoken" in confirm.content.decode()
    assert ApiClient.objects.get().secret_hash == digest(old)
    response = staff.post(f"{BASE}{api_client.pk}/rotate")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    new = _secret(response)
    assert ApiClient.objects.get().secret_hash == digest(new) != digest(old)


def test_revoke_confirms_then_refuses_the_client(staff, issued):
    api_client, _ = issued
    assert staff.get(f"{BASE}{api_client.pk}/revoke").status_code == 200
    assert ApiClient.objects.get().revoked_at is None
    response = staff.post(f"{BASE}{api_client.pk}/revoke")
    assert response.status_code == 302
    assert response["Location"] == BASE
    assert ApiClient.objects.get().revoked_at is not None
    again = staff.post(f"{BASE}{api_client.pk}/rotate")
    assert "revoked" in again.content.decode()


def test_the_forms_need_their_csrf_token(issued):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(manager("ops2"))
    assert browser.post(f"{BASE}{issued[0].pk}/revoke").status_code == 403
    assert ApiClient.objects.get().revoked_at is None


def test_an_unknown_client_is_404(staff):
    assert staff.get(f"{BASE}999/rotate").status_code == 404
