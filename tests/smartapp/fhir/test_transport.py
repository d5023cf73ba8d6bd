"""smartapp.fhir: the circuit breaker (on a manual clock), the R4 model check, retries over real
HTTP."""

from __future__ import annotations

import pytest
from django.test import override_settings

from smart.clock import ManualClock
from smart.errors import EhrUnavailable
from smartapp.clock import use_clock
from smartapp.fhir.breaker import CircuitBreaker, reset_circuits
from smartapp.fhir.resources import well_formed
from smartapp.fhir.search import search


def test_breaker_opens_fails_fast_then_probes_once() -> None:
    with use_clock(ManualClock()) as clock:
        _breaker_cycle(clock)


def _breaker_cycle(clock: ManualClock) -> None:
    breaker = CircuitBreaker(threshold=3, cool_down_s=0.2)
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.advance(0.25)
    assert breaker.state == "half-open"
    assert breaker.allow()  # one probe
    assert not breaker.allow()  # and only one
    breaker.failed()
    assert breaker.state == "open"  # the probe failed: open again
    clock.advance(0.25)
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.allow()


@pytest.mark.parametrize(
    ("resource", "ok"),
    [
        ({"resourceType": "Patient", "id": "x", "someFutureElement": 1}, True),  # tolerated
        (
            {"resourceType": "Patient", "id": "x", "extension": [{"url": "u", "valueString": "v"}]},
            True,
        ),
        ({"resourceType": "Observation", "id": "x", "code": {"text": "t"}}, False),  # no status
        ({"resourceType": "Patient", "name": "not a list"}, False),
        ({"resourceType": 7}, False),
        ("not an object", False),
    ],
)
def test_well_formed(resource, ok) -> None:
    assert well_formed(resource) is ok


@override_settings(FHIR_ATTEMPTS=2, FHIR_BREAKER_THRESHOLD=2, FHIR_BREAKER_COOL_DOWN_S=60)
def test_an_unwell_ehr_trips_its_breaker_and_readyz_shows_it(
    sandbox, connect, browser, client
) -> None:
    from sandbox.models import Token

    reset_circuits()
    connection = connect(fail={"Condition": 503})
    browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    token = Token.objects.get().access_token
    for _ in range(2):
        with pytest.raises(EhrUnavailable):
            search(connection.iss, token, "Condition", {"patient": "pat-01"})
    sandbox.reset_stats()
    with pytest.raises(EhrUnavailable, match="circuit open"):
        search(connection.iss, token, "Condition", {"patient": "pat-01"})
    assert sandbox.stats()["fhir_requests"] == {}  # failed fast, nothing sent
    circuits = client.get("/readyz").json()["ehr_circuits"]
    assert circuits[connection.iss]["state"] == "open"
    reset_circuits()
