"""smartapp.request_id: one correlation id per request, on every log line and in the response."""

from __future__ import annotations

import logging

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from smartapp.request_id import HEADER, NO_REQUEST, accept_or_make

log = logging.getLogger("tests.request_id")


def chatty_view(request: HttpRequest) -> HttpResponse:
    log.info("first line")
    logging.getLogger("another.logger").warning("second line from elsewhere")
    log.error("third line")
    return HttpResponse("ok")


urlpatterns = [path("chatty", chatty_view)]

pytestmark = pytest.mark.urls(__name__)


def test_every_line_of_a_request_carries_the_id_echoed_in_the_response(client, json_logs) -> None:
    response = client.get("/chatty")
    request_id = response[HEADER]
    assert len(request_id) == 32
    lines = json_logs.lines
    # three from the view, one access line from the middleware
    assert [line["message"] for line in lines] == [
        "first line",
        "second line from elsewhere",
        "third line",
        "request finished",
    ]
    assert {line["request_id"] for line in lines} == {request_id}
    access = lines[-1]
    assert access["status"] == 200
    assert access["path"] == "/chatty"
    assert access["method"] == "GET"


def test_two_requests_get_two_ids(client, json_logs) -> None:
    first = client.get("/chatty")[HEADER]
    second = client.get("/chatty")[HEADER]
    assert first != second
    assert {line["request_id"] for line in json_logs.lines} == {first, second}


def test_a_sane_incoming_id_is_kept(client, json_logs) -> None:
    response = client.get("/chatty", headers={HEADER: "ehr-trace-0001.abc"})
    assert response[HEADER] == "ehr-trace-0001.abc"
    assert {line["request_id"] for line in json_logs.lines} == {"ehr-trace-0001.abc"}


@pytest.mark.parametrize(
    "hostile",
    ["short", "x" * 200, "abc def ghi jkl", 'abc"}\n{"level":"CRITICAL"', "ünïcode-id-123"],
)
def test_an_insane_incoming_id_is_replaced(client, hostile: str) -> None:
    assert accept_or_make(hostile) != hostile
    response = client.get("/chatty", headers={HEADER: hostile})
    assert response[HEADER] != hostile
    assert len(response[HEADER]) == 32


def test_lines_outside_a_request_say_so(json_logs) -> None:
    log.info("background work")
    assert json_logs.lines[0]["request_id"] == NO_REQUEST


def test_query_strings_never_reach_the_access_line(client, json_logs) -> None:
    client.get("/chatty?code=authcode-123456&state=s")
    assert "authcode-123456" not in json_logs.text


def test_django_request_lines_carry_the_id_and_no_query(client, json_logs) -> None:
    """Django logs 4xx/5xx after the middleware has returned (the id's context is gone); the
    request it names still knows its id."""
    response = client.get("/nope?code=authcode-654321&state=state-abcdef")
    assert response.status_code == 404
    (line,) = [line for line in json_logs.lines if line["logger"] == "django.request"]
    assert line["request_id"] == response[HEADER]
    assert "authcode-654321" not in json_logs.text
    assert "state-abcdef" not in json_logs.text
