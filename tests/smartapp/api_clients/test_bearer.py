"""grant_for reads the client as it is now: expiry, revocation, scopes and tenants apply at
once, not at the token's next issue."""

from datetime import timedelta

import pytest

from smart.clock import ManualClock
from smartapp.api_clients import credentials
from smartapp.api_clients.bearer import ClientGrant, grant_for
from smartapp.clock import clock, use_clock
from tests.smartapp.api_clients.test_oauth import request_token

pytestmark = pytest.mark.django_db


def live(token: str) -> ClientGrant:
    grant = grant_for(token)
    assert grant is not None
    return grant


@pytest.fixture
def token(client, issued) -> str:
    api_client, secret = issued
    return request_token(client, api_client.client_id, secret).json()["access_token"]


def test_the_grant_names_the_client_its_tenants_and_scopes(issued, tenants, token, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 77
    grant = grant_for(token)
    assert grant is not None
    assert grant.client_id == issued[0].client_id
    assert grant.client_pk == issued[0].pk
    assert grant.name == "Care app"
    assert grant.connection_ids == (tenants[0].pk,)
    assert grant.connection_slugs == ("hosp-a",)
    assert grant.scopes == {"summary.read", "results.read"}
    assert grant.rate_limit_per_minute == 77


@pytest.mark.parametrize("value", ["", "nope", "x" * 10_000, "\udcff"])
def test_unknown_tokens_have_no_grant(value):
    assert grant_for(value) is None


def test_an_expired_token_has_no_grant(token):
    with use_clock(ManualClock(clock().now() + timedelta(seconds=901))):
        assert grant_for(token) is None
    with use_clock(ManualClock(clock().now() + timedelta(seconds=899))):
        assert grant_for(token) is not None


def test_a_revoked_client_refuses_its_token_at_once(issued, token):
    credentials.revoke(issued[0])
    assert grant_for(token) is None


def test_unbinding_a_tenant_or_disabling_it_takes_effect_at_once(issued, tenants, token):
    api_client = issued[0]
    api_client.connections.add(tenants[1])
    assert live(token).connection_slugs == ("hosp-a", "hosp-b")
    api_client.connections.remove(tenants[0])
    assert live(token).connection_slugs == ("hosp-b",)
    tenants[1].enabled = False
    tenants[1].save()
    assert live(token).connection_ids == ()


def test_the_token_scope_is_narrowed_by_the_clients_current_scopes(client, issued):
    api_client, secret = issued
    token = request_token(client, api_client.client_id, secret, scope="summary.read").json()[
        "access_token"
    ]
    assert live(token).scopes == {"summary.read"}
    api_client.scopes = "results.read"
    api_client.save()
    assert live(token).scopes == frozenset()


def test_the_clients_own_rate_limit_wins(tenants, client):
    api_client, secret = credentials.issue("x", ["hosp-a"], ["summary.read"], rate_limit=5)
    token = request_token(client, api_client.client_id, secret).json()["access_token"]
    assert live(token).rate_limit_per_minute == 5
