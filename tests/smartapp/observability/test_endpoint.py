"""`/metrics` is for the monitoring stack only: 404 with no secret configured, 401 without
the right bearer, the exposition with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.smartapp.observability.scrape import METRICS_TOKEN, scrape


@pytest.fixture
def with_token(settings):
    settings.METRICS_TOKEN = METRICS_TOKEN


@pytest.mark.django_db
def test_no_secret_configured_means_no_metrics(settings) -> None:
    settings.METRICS_TOKEN = None
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 404
    assert b"smartapp_" not in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("with_token")
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"],
)
def test_refused_without_the_secret(authorization: str | None) -> None:
    headers: dict[str, Any] = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = Client().get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"smartapp_" not in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("with_token")
def test_the_exposition_parses_and_counts_its_own_requests() -> None:
    client = Client()
    before = scrape(client)
    after = scrape(client)
    ok = {"view": "metrics", "method": "GET", "status_class": "2xx"}

    def count(samples):
        return sum(
            v for n, labels, v in samples if n == "smartapp_http_requests_total" and labels == ok
        )

    assert count(after) == count(before) + 1
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response["Content-Type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"smartapp_fhir_requests", "smartapp_summary_complete_seconds"} <= names


@pytest.mark.django_db
@pytest.mark.usefixtures("with_token")
def test_not_redirected_to_https_inside_the_pod(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200
