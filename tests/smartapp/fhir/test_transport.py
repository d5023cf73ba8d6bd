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
def test_an_unwell_ehr_trips_its_breaker_and_readyz_shows_it(sandbox, connect, browser) -> None:
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
    browser.sign_in_staff()  # /readyz details are for staff
    circuits = browser.client.get("/readyz").json()["ehr_circuits"]
    assert circuits[connection.iss]["state"] == "open"
    reset_circuits()


# --- the token's boundary, the byte cap, the deadline, strict numbers (in process) ----------

BASE = "https://ehr.example/fhir"


def _serving(handler):
    import httpx

    from smartapp import outbound

    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return handler(request)

    return outbound.use_transport(httpx.MockTransport(handle)), sent


def test_get_json_sends_nothing_outside_the_base() -> None:
    import httpx

    from smartapp.fhir.transport import ForeignUrl, get_json

    serving, sent = _serving(lambda _: httpx.Response(200, json={"resourceType": "Bundle"}))
    with serving:
        for url in ("https://evil.example/fhir/Patient", "https://ehr.example/other/Patient"):
            with pytest.raises(ForeignUrl):
                get_json(BASE, url, "a-live-token")
        assert get_json(BASE, f"{BASE}/Patient", "a-live-token")["resourceType"] == "Bundle"
    assert sent == [f"{BASE}/Patient"]


@override_settings(FHIR_MAX_RESPONSE_BYTES=1000)
def test_the_byte_cap_stops_reading_declared_or_streamed() -> None:
    import httpx

    from smartapp.fhir.transport import FhirTooLarge, get_json

    chunks_read: list[int] = []

    def endless():
        yield b'{"resourceType": "Bundle", "x": "'
        for index in range(10_000):
            chunks_read.append(index)
            yield b"x" * 100

    declared = httpx.Response(200, content=b"{" + b" " * 5000 + b"}")
    streamed = httpx.Response(200, content=endless())
    for answer in (declared, streamed):
        serving, _ = _serving(lambda _, answer=answer: answer)
        with serving, pytest.raises(FhirTooLarge):
            get_json(BASE, f"{BASE}/Patient/1", "t")
    assert len(chunks_read) < 20  # stopped just past the cap, never read the 1 MB


def test_non_finite_numbers_are_not_numbers() -> None:
    from smartapp.fhir.resources import well_formed
    from smartapp.fhir.transport import NOT_A_NUMBER, parse_json

    body = parse_json(b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": 1.5, "f": 2}')
    assert body == {
        "a": NOT_A_NUMBER,
        "b": NOT_A_NUMBER,
        "c": NOT_A_NUMBER,
        "d": NOT_A_NUMBER,
        "e": 1.5,
        "f": 2,
    }
    observation = parse_json(
        b'{"resourceType": "Observation", "status": "final", "code": {"text": "HR"},'
        b' "valueQuantity": {"value": NaN, "unit": "/min"}}'
    )
    assert not well_formed(observation)  # left out, never shown as "nan"


def test_a_passed_deadline_sends_nothing_and_says_the_ehr_is_slow() -> None:
    import httpx

    from smartapp.fhir.transport import Deadline, EhrTooSlow, get_json

    serving, sent = _serving(lambda _: httpx.Response(200, json={"resourceType": "Patient"}))
    with use_clock(ManualClock()) as clock, serving:
        deadline = Deadline.after(2)
        assert get_json(BASE, f"{BASE}/Patient/1", "t", deadline=deadline)
        clock.advance(2)
        with pytest.raises(EhrTooSlow) as slow:
            get_json(BASE, f"{BASE}/Patient/1", "t", deadline=deadline)
    assert slow.value.status == 504
    assert len(sent) == 1


@override_settings(FHIR_ATTEMPTS=3)
def test_no_retry_waits_past_the_deadline() -> None:
    import httpx

    from smartapp.fhir.transport import Deadline, EhrTooSlow, get_json

    serving, sent = _serving(lambda _: httpx.Response(503, headers={"Retry-After": "3"}))
    with use_clock(ManualClock()) as clock, serving, pytest.raises(EhrTooSlow):
        get_json(BASE, f"{BASE}/Patient/1", "t", deadline=Deadline.after(2))
    assert len(sent) == 1  # the 3 s Retry-After would end past the 2 s left: no second try
    assert clock.slept == []
