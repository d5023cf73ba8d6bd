"""Issue, rotate, revoke: the secret is returned once and stored only as a hash; rotation and
revocation refuse the old credentials and every token at once."""

import pytest

from smartapp.api_clients import credentials
from smartapp.api_clients.bearer import grant_for
from smartapp.api_clients.models import ApiClient, ApiToken
from tests.smartapp.api_clients.conftest import make_tenant
from tests.smartapp.api_clients.test_oauth import request_token

pytestmark = pytest.mark.django_db


def test_issue_binds_tenants_and_scopes_and_keeps_only_the_hash(issued, tenants):
    client, secret = issued
    assert client.client_id.startswith("sac_")
    assert len(secret) >= 43  # 32 random bytes
    stored = ApiClient.objects.get(pk=client.pk)
    assert stored.secret_hash == credentials.digest(secret)
    assert secret not in str(ApiClient.objects.filter(pk=client.pk).values().get())
    assert list(stored.connections.all()) == [tenants[0]]
    assert stored.scopes == "results.read summary.read"
    assert stored.created_by == "test"
    assert stored.rate_limit_per_minute is None


def test_each_client_gets_its_own_id_and_secret(tenants):
    one = credentials.issue("a", ["hosp-a"], ["summary.read"])
    two = credentials.issue("b", ["hosp-a"], ["summary.read"])
    assert one[0].client_id != two[0].client_id
    assert one[1] != two[1]


@pytest.mark.parametrize(
    ("slugs", "scopes", "message"),
    [
        (["nowhere"], ["summary.read"], "no EHR connection 'nowhere'"),
        (["off"], ["summary.read"], "'off' is disabled"),
        ([], ["summary.read"], "at least one connection"),
        (["hosp-a"], ["summary.write"], "unknown scope 'summary.write'"),
        (["hosp-a"], [], "at least one scope"),
    ],
)
def test_issue_refuses_what_it_cannot_honour(tenants, slugs, scopes, message):
    make_tenant("off", enabled=False)
    with pytest.raises(ValueError, match=message):
        credentials.issue("x", slugs, scopes)
    assert not ApiClient.objects.exists()


def test_issue_refuses_a_rate_limit_below_one(tenants):
    with pytest.raises(ValueError, match="rate limit"):
        credentials.issue("x", ["hosp-a"], ["summary.read"], rate_limit=0)


def test_rotate_refuses_the_old_secret_and_its_tokens_at_once(client, issued):
    api_client, old = issued
    token = request_token(client, api_client.client_id, old).json()["access_token"]
    assert grant_for(token) is not None

    new = credentials.rotate(api_client)

    assert new != old
    assert grant_for(token) is None
    assert not ApiToken.objects.filter(client=api_client).exists()
    assert request_token(client, api_client.client_id, old).status_code == 401
    assert request_token(client, api_client.client_id, new).status_code == 200
    assert ApiClient.objects.get(pk=api_client.pk).rotated_at is not None


def test_revoke_refuses_the_client_and_its_tokens_at_once(client, issued):
    api_client, secret = issued
    token = request_token(client, api_client.client_id, secret).json()["access_token"]

    credentials.revoke(api_client)

    assert grant_for(token) is None
    refused = request_token(client, api_client.client_id, secret)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    with pytest.raises(ValueError, match="revoked"):
        credentials.rotate(api_client)
    credentials.revoke(api_client)  # idempotent
