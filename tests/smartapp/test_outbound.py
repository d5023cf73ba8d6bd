"""smartapp.outbound: one pooled client per purpose, URL policies, an injectable transport."""

from __future__ import annotations

import httpx
import pytest

from smartapp import outbound
from smartapp.outbound import Purpose


def test_clients_are_pooled_per_purpose():
    assert outbound.client(Purpose.FHIR) is outbound.client(Purpose.FHIR)
    assert outbound.client(Purpose.FHIR) is not outbound.client(Purpose.TOKEN)


def test_the_transport_is_injectable_and_every_call_says_who_we_are():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with outbound.use_transport(httpx.MockTransport(answer)):
        response = outbound.client(Purpose.DISCOVERY).get("https://ehr.example.org/x")
    assert response.json() == {"ok": True}
    assert seen[0].headers["User-Agent"] == outbound.USER_AGENT


def test_a_url_policy_stops_a_request_before_it_is_sent(monkeypatch):
    monkeypatch.setattr(outbound, "_policies", [])
    sent: list[httpx.Request] = []

    def only_ours(purpose: Purpose, url: str) -> None:
        if purpose is Purpose.FHIR and not url.startswith("https://ehr.example.org/"):
            raise outbound.UrlRefused("not the EHR's FHIR base")

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    outbound.add_url_policy(only_ours)
    with outbound.use_transport(httpx.MockTransport(answer)):
        client = outbound.client(Purpose.FHIR)
        assert client.get("https://ehr.example.org/fhir/Patient/1").status_code == 200
        with pytest.raises(outbound.HTTPError):
            client.get("https://elsewhere.example/steal")
    assert [str(r.url) for r in sent] == ["https://ehr.example.org/fhir/Patient/1"]
