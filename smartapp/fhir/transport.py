"""One FHIR GET: where it may go, retries, back-off, `Retry-After`, the breaker, a byte cap,
a deadline, and the error mapping.

- The bearer token goes only to URLs within the connection's FHIR base (`ForeignUrl`,
  checked here before anything is sent, whoever the caller: `smart.url_policy`).
- Reads are idempotent, so they are retried on connection errors, 429, 502, 503 and 504:
  a bounded number of attempts with exponential back-off and jitter, honouring `Retry-After`
  (seconds) up to a cap. Waiting goes through the app's clock.
- A `Deadline` (the summary's or a page's budget) bounds the whole call: each attempt's
  timeout is cut to what is left, no retry starts past it, and `EhrTooSlow` says so. A
  thread whose page has given up therefore stops soon after, not after the read timeout.
- The body is streamed and read to at most FHIR_MAX_RESPONSE_BYTES (decoded): `FhirTooLarge`.
- JSON is parsed strictly: NaN, Infinity and numbers too big for a float are not numbers
  (RFC 8259 6), so a resource carrying one fails the R4 model check and is left out.
- 401 raises FhirUnauthorized (the session refreshes once and retries), 403 FhirForbidden,
  404 FhirNotFound; unreachable or unwell EHRs EhrUnavailable; a body that is not the FHIR
  JSON asked for FhirMalformed. Nothing else escapes.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from smart.errors import EhrUnavailable, PatientUnavailable
from smart.url_policy import is_within_base
from smartapp import outbound
from smartapp.clock import clock
from smartapp.diagnostics import recorder
from smartapp.fhir.breaker import breaker_for
from smartapp.observability import metrics, tenant, tracing

FHIR_JSON = "application/fhir+json"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_INTEGER_DIGITS = 30  # FHIR decimals have at most 18 significant digits
Json = dict[str, Any]


class FhirUnauthorized(PatientUnavailable):
    """401: the EHR refused the access token (the session refreshes once and retries)."""


class FhirForbidden(PatientUnavailable):
    """403: the EHR does not let this grant see that."""


class FhirNotFound(PatientUnavailable):
    status = 404


class FhirMalformed(EhrUnavailable):
    """The EHR answered with something that is not the FHIR JSON asked for."""


class ForeignUrl(FhirMalformed):
    """A URL outside the connection's FHIR base: the token is never sent there."""


class FhirTooLarge(EhrUnavailable):
    """An answer over FHIR_MAX_RESPONSE_BYTES; the rest of it was never read."""

    title = "The EHR's answer was too large"
    message = "The EHR sent more than the app reads at once. Try again, or ask your administrator."


class CircuitOpen(EhrUnavailable):
    """The breaker for this FHIR base is open: nothing was sent."""


class EhrTooSlow(EhrUnavailable):
    """The page's time budget ran out before the EHR answered."""

    code = "ehr_slow"
    status = 504
    title = "The EHR is slow to answer"
    message = "The EHR did not answer in time. Your session is intact; try again in a moment."


@dataclass(frozen=True)
class Deadline:
    """A moment on the app's clock after which no FHIR call of this page is worth making."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(clock().monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - clock().monotonic()


@dataclass(frozen=True)
class FhirCall:
    """What a GET is, for metrics and traces: the resource type the app asked for and the FHIR
    interaction (`read`, `search-type`, `search-page` for a `next` link). Never an id."""

    resource_type: str = "other"
    interaction: str = "other"


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def _delay(attempt: int, headers: Mapping[str, str] | None) -> float:
    cap = _setting("FHIR_RETRY_AFTER_CAP_S", 5)
    if headers is not None and (retry_after := headers.get("Retry-After", "")).isdigit():
        return min(float(retry_after), cap)
    base = _setting("FHIR_BACKOFF_BASE_S", 0.2)
    jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreading retries, not cryptography
    return float(min(base * 2 ** (attempt - 1), cap) * jitter)


def _timeout(deadline: Deadline | None) -> tuple[float, float, float, float]:
    """(connect, read, write, pool) seconds: the configured ones, cut to what the deadline
    leaves; EhrTooSlow when it has passed already."""
    connect, read = _setting("FHIR_CONNECT_TIMEOUT_S", 3), _setting("FHIR_READ_TIMEOUT_S", 10)
    if deadline is not None:
        left = deadline.remaining()
        if left <= 0:
            raise EhrTooSlow("the time budget ran out before the request")
        connect, read = min(connect, left), min(read, left)
    return connect, read, read, connect


def _fetch(
    url: str,
    params: Mapping[str, str] | None,
    headers: dict[str, str],
    deadline: Deadline | None,
    cap: int,
) -> _Answer:
    """One attempt, streamed: the body of a final answer read up to the byte cap, within the
    deadline (a server dripping bytes must not hold the thread past it either)."""
    client = outbound.client(outbound.Purpose.FHIR)
    timeout = _timeout(deadline)
    with client.stream("GET", url, params=params, headers=headers, timeout=timeout) as response:
        if response.status_code in RETRY_STATUSES:  # only its headers matter
            return _Answer(response.status_code, response.headers, b"")
        try:
            body = outbound.read_capped(
                response,
                max_bytes=cap,
                expired=lambda: deadline is not None and deadline.remaining() <= 0,
            )
        except outbound.ResponseTooLarge as exc:
            raise FhirTooLarge(str(exc)) from exc
        except outbound.ReadTooSlow as exc:
            raise EhrTooSlow("the time budget ran out while reading") from exc
        return _Answer(response.status_code, response.headers, body)


def _send(
    base: str,
    url: str,
    access_token: str,
    params: Mapping[str, str] | None,
    deadline: Deadline | None,
    *,
    max_bytes: int | None = None,
) -> _Answer:
    """The answer after retries; EhrUnavailable when every attempt failed."""
    breaker = breaker_for(base)
    if not breaker.allow():
        raise CircuitOpen("circuit open")
    attempts = int(_setting("FHIR_ATTEMPTS", 3))
    cap = max_bytes or int(_setting("FHIR_MAX_RESPONSE_BYTES", 10 * 1024 * 1024))
    headers = {"Authorization": f"Bearer {access_token}", "Accept": FHIR_JSON}
    for attempt in range(1, attempts + 1):
        answer: _Answer | None = None
        try:
            answer = _fetch(url, params, headers, deadline, cap)
        except outbound.TransportError as exc:
            failure = f"FHIR {type(exc).__name__}"
        else:
            if answer.status not in RETRY_STATUSES:
                return answer
            failure = f"FHIR answered {answer.status}"
        wait = _delay(attempt, answer.headers if answer else None)
        if deadline is not None and wait >= deadline.remaining():
            breaker.failed()
            raise EhrTooSlow(f"{failure}; no time left to retry")
        if attempt == attempts:
            breaker.failed()
            raise EhrUnavailable(failure)
        clock().sleep(wait)
    raise AssertionError("unreachable")


class _NotANumber:
    """What NaN, Infinity or 1e999 parse to: no model accepts it, so the resource is left out
    as malformed rather than shown as `nan` or crashing arithmetic further on."""

    def __repr__(self) -> str:
        return "NaN"


NOT_A_NUMBER = _NotANumber()


class SourceNumber(float):
    """A JSON decimal that remembers how the EHR wrote it.

    fhirclient's models type FHIR `decimal` as `float`, which loses the digits the source
    sent (`7.10` becomes `7.1`, and precision is part of the value's meaning: FHIR R4
    2.24.0.1 "decimal"). A float subclass passes the models' type checks and keeps `.text`,
    so the summary can show a lab value with the source's significant digits.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> SourceNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _number(text: str) -> Any:
    value = SourceNumber(text)
    return value if math.isfinite(value) else NOT_A_NUMBER


def _integer(text: str) -> Any:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else NOT_A_NUMBER


def parse_json(body: bytes) -> Any:
    """Strict FHIR JSON: non-finite or absurd numbers become NOT_A_NUMBER (never a float)."""
    return json.loads(
        body, parse_constant=lambda _: NOT_A_NUMBER, parse_float=_number, parse_int=_integer
    )


@dataclass
class _Seen:
    status_class: str = "error"
    status: int = 0
    bytes: int = 0
    entries: int | None = None  # of a Bundle answered

    def answered(self, answer: _Answer) -> None:
        self.status_class = metrics.status_class(answer.status)
        self.status, self.bytes = answer.status, len(answer.body)

    def read(self, body: Json) -> Json:
        if body.get("resourceType") == "Bundle" and isinstance(body.get("entry"), list):
            self.entries = len(body["entry"])
        return body


@contextmanager
def _observed(call: FhirCall, parameters: tuple[str, ...] = ()) -> Iterator[_Seen]:
    """A span, the FHIR metrics and the launch debugger's note around one call (its retries
    included); `parameters` are the search's parameter names, never their values."""
    connection, seen, started = tenant.current(), _Seen(), time.perf_counter()
    name = f"fhir {call.interaction} {call.resource_type}"
    with tracing.tracer().start_as_current_span(name) as span:
        span.set_attribute("fhir.resource_type", call.resource_type)
        span.set_attribute("fhir.interaction", call.interaction)
        span.set_attribute("smartapp.connection", connection)
        try:
            yield seen
        except CircuitOpen:
            seen.status_class = "refused"
            raise
        finally:
            span.set_attribute("fhir.status_class", seen.status_class)
            if seen.status:
                span.set_attribute("http.response.status_code", seen.status)
                span.set_attribute("fhir.response_bytes", seen.bytes)
            labels = (connection, call.resource_type, call.interaction)
            took_s = time.perf_counter() - started
            metrics.FHIR_REQUESTS.labels(*labels, seen.status_class).inc()
            metrics.FHIR_SECONDS.labels(*labels).observe(took_s)
            recorder.fhir_call(
                resource_type=call.resource_type,
                interaction=call.interaction,
                status=seen.status,
                response_bytes=seen.bytes,
                entries=seen.entries,
                parameters=parameters,
                duration_s=took_s,
            )


def get_json(
    base: str,
    url: str,
    access_token: str,
    params: Mapping[str, str] | None = None,
    *,
    deadline: Deadline | None = None,
    call: FhirCall = FhirCall(),
) -> Json:
    """GET a FHIR JSON object within `base`, with the rules above."""
    if not is_within_base(url, base):
        raise ForeignUrl("a URL outside the FHIR base; nothing was sent")
    with _observed(call, tuple(sorted(params or ()))) as seen:
        answer = _send(base, url, access_token, params, deadline)
        seen.answered(answer)
        return seen.read(_interpret(base, answer))


def get_content(
    base: str,
    url: str,
    access_token: str,
    *,
    max_bytes: int,
    deadline: Deadline | None = None,
) -> Content:
    """GET a document's content within `base` (a Binary, FHIR R4 http.html#binary), with the
    rules above and its own byte cap. FHIR JSON is asked for, which every server can give for
    a Binary; a server that answers the raw bytes instead is understood too (`Content`)."""
    if not is_within_base(url, base):
        raise ForeignUrl("a URL outside the FHIR base; nothing was sent")
    with _observed(FhirCall("Binary", "read")) as seen:
        answer = _send(base, url, access_token, None, deadline, max_bytes=max_bytes)
        seen.answered(answer)
        _check_status(base, answer)
        return Content(answer.headers.get("Content-Type"), answer.body)


@dataclass(frozen=True)
class Content:
    """A document's content as the EHR answered it: its Content-Type and bytes."""

    content_type: str | None
    body: bytes

    @property
    def is_fhir_json(self) -> bool:
        essence = (self.content_type or "").split(";")[0].strip().lower()
        return essence in (FHIR_JSON, "application/json", "application/json+fhir")

    def resource(self) -> Json:
        """The body as a FHIR resource (for a Binary answered as JSON); FhirMalformed if not."""
        return _resource(self.body)


def _check_status(base: str, answer: _Answer) -> None:
    """The error a non-200 answer means (and the breaker told how the EHR is)."""
    status = answer.status
    breaker = breaker_for(base)
    if status >= 500:
        breaker.failed()
        raise EhrUnavailable(f"FHIR answered {status}")
    breaker.succeeded()  # the EHR answered: 4xx are about the request, not its health
    if status == 401:
        raise FhirUnauthorized("FHIR answered 401")
    if status == 403:
        raise FhirForbidden("FHIR answered 403")
    if status == 404:
        raise FhirNotFound("FHIR answered 404")
    if status != 200:
        raise EhrUnavailable(f"FHIR answered {status}")


def _interpret(base: str, answer: _Answer) -> Json:
    """The answer's JSON object, or the error its status and body mean."""
    _check_status(base, answer)
    return _resource(answer.body)


def _resource(raw: bytes) -> Json:
    try:
        body = parse_json(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        raise FhirMalformed("FHIR answered with broken JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("resourceType"), str):
        raise FhirMalformed("FHIR answered with something other than a resource")
    return body
