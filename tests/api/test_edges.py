"""Answers made before the API's views run are problem details too, never the HTML page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/session?x=%00", None),
        ("get", "/api/v1/launches/a%00b/summary", None),
        ("post", "/api/v1/oauth/token", "grant_type=client_credentials&scope=%00"),
    ],
    ids=["nul-query", "nul-path", "nul-token-form"],
)
def test_a_nul_byte_is_a_problem_not_a_page(method: str, path: str, body: str | None) -> None:
    client = Client()
    if method == "get":
        answer = client.get(path, HTTP_X_CSRF="1")
    else:
        answer = client.post(
            path, body, content_type="application/x-www-form-urlencoded", secure=True
        )
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "bad_request"


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_form_too_large_is_a_problem_not_a_page() -> None:
    answer = Client().post(
        "/api/v1/oauth/token",
        "grant_type=client_credentials&scope=" + "a" * 500,
        content_type="application/x-www-form-urlencoded",
        secure=True,
    )
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_problem() -> None:
    answer = Client().get("/api/v1/nothing-here", HTTP_X_CSRF="1")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
