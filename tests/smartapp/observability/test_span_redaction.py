"""The rules of span_redaction, one per attribute kind: what the instrumentations record and
what leaves the process."""

from __future__ import annotations

from smartapp.observability.span_redaction import clean_attributes


def test_a_server_span_keeps_its_route_not_its_path_or_query() -> None:
    cleaned = clean_attributes(
        {
            "http.route": "l/<str:handle>/",
            "http.target": "/l/h4ndle/?refresh=1",
            "url.path": "/l/h4ndle/",
            "url.query": "code=abc&state=xyz",
            "http.url": "https://app.example/smart/callback?code=abc&state=xyz",
        }
    )
    assert cleaned["http.target"] == cleaned["url.path"] == "/l/<str:handle>/"
    assert "url.query" not in cleaned
    assert cleaned["http.url"] == "https://app.example/l/<str:handle>/"


def test_a_client_span_keeps_only_the_ehr_origin() -> None:
    cleaned = clean_attributes(
        {"http.url": "https://ehr.example/fhir/Patient/123?_id=123", "url.full": "https://e/x?y"}
    )
    assert cleaned == {"http.url": "https://ehr.example", "url.full": "https://e"}


def test_a_redis_statement_keeps_its_command() -> None:
    cleaned = clean_attributes({"db.system": "redis", "db.statement": "GET smartapp:1:cache:abc"})
    assert cleaned["db.statement"] == "GET"


def test_any_other_string_loses_tokens_and_queries() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    cleaned = clean_attributes(
        {
            "exception.message": f"refused Bearer {token} at https://e/fhir/Observation?patient=9",
            "count": 3,
        }
    )
    assert token not in cleaned["exception.message"]
    assert "patient=9" not in cleaned["exception.message"]
    assert cleaned["count"] == 3
