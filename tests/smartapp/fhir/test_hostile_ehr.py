"""A hostile or broken EHR at the FHIR boundary (issue 12, items 1, 3, 4 and 10): over real
HTTP to the sandbox's `hostile` option. Never a leaked token, another patient's record on the
page, an unbounded read or a 500; what is left out makes the section `partial`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.cache import cache
from django.test import override_settings

from sandbox.fhir_store import get_store
from sandbox.models import Token
from smart.errors import EhrUnavailable
from smartapp import outbound
from smartapp.fhir import transport
from smartapp.fhir.resources import read
from smartapp.fhir.session import SmartSession
from smartapp.models import EhrConnection, Launch
from smartapp.summary.contract import SectionStatus
from smartapp.summary.service import build_summary

SEARCH_SECTIONS = ("problems", "allergies", "immunizations", "vitals", "labs", "encounters")
GLUCOSE = "http://loinc.org|2345-7"


def launch_for(connect, browser, patient: str, **options: Any) -> Launch:
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    cache.clear()  # the launch warmed the cache: start every check cold
    return Launch.objects.get()


class Recorder:
    """A plain HTTP server that writes down every request it gets, and its Authorization."""

    def __init__(self, host: str, port: int) -> None:
        self.requests: list[tuple[str, str]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append((self.path, self.headers.get("Authorization", "")))
                self.send_response(200)
                self.send_header("Content-Type", "application/fhir+json")
                self.end_headers()
                self.wfile.write(b'{"resourceType": "Bundle", "type": "searchset"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def foreign_origin(sandbox) -> Iterator[Recorder]:
    """Listens where the sandbox's `next_link: foreign` points: 127.0.0.2, the sandbox's port."""
    recorder = Recorder("127.0.0.2", urlsplit(sandbox.url).port or 80)
    yield recorder
    recorder.server.shutdown()
    recorder.server.server_close()


class RecordingTransport(httpx.BaseTransport):
    """Every request the app sends (outbound's transport seam), then real HTTP."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[httpx.URL] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url)
        return self.inner.handle_request(request)


# --- 1. the token follows no link out of the FHIR base -----------------------------------------


def test_a_foreign_next_link_never_gets_the_token(
    sandbox, connect, browser, foreign_origin, json_logs
) -> None:
    launch = launch_for(connect, browser, "paging", hostile={"next_link": "foreign"})
    page = browser.client.get(f"/l/{launch.handle}/")
    assert page.status_code == 200
    vitals = build_summary(launch, refresh=True).sections["vitals"]
    assert foreign_origin.requests == []  # no request at all, so no token
    assert vitals.status == SectionStatus.PARTIAL
    assert vitals.truncated
    assert any(line["message"] == "FHIR search stopped early" for line in json_logs.lines)
    assert "127.0.0.2" not in json_logs.text
    assert "_getpages" not in json_logs.text


def test_a_next_link_to_another_path_is_not_followed(sandbox, connect, browser) -> None:
    launch = launch_for(connect, browser, "paging", hostile={"next_link": "other_path"})
    recording = RecordingTransport()
    with outbound.use_transport(recording):
        vitals = build_summary(launch, refresh=True).sections["vitals"]
    assert vitals.status == SectionStatus.PARTIAL
    assert recording.sent  # the first pages went out
    assert not [url for url in recording.sent if url.path.startswith("/other/")]


def test_the_transport_refuses_a_url_outside_the_base_before_sending(sandbox, connect) -> None:
    base = connect().iss
    recording = RecordingTransport()
    outside = [
        base.replace("127.0.0.1", "127.0.0.2") + "/Patient",
        base.removesuffix("/fhir") + "/other/fhir/Patient",
        base + "/../admin/",
        "https://" + base.removeprefix("http://") + "/Patient",
    ]
    with outbound.use_transport(recording):
        for url in outside:
            with pytest.raises(transport.ForeignUrl):
                transport.get_json(base, url, "a-live-token")
    assert recording.sent == []


# --- 3. another patient's entries ------------------------------------------------------------


def test_entries_about_another_patient_are_left_out(sandbox, connect, browser, json_logs) -> None:
    launch = launch_for(connect, browser, "pat-01", hostile={"other_patient_entries": True})
    found = SmartSession(launch).search_all("Condition", {"patient": "pat-01"})
    assert found.other_patient > 0
    assert found.partial
    assert {c["subject"]["reference"] for c in found.resources} == {"Patient/pat-01"}
    own = get_store().search("Condition", [("patient", "pat-01")])
    assert len(found.resources) == len(own)

    sections = build_summary(launch).sections
    assert sections["problems"].status == SectionStatus.PARTIAL
    assert sections["demographics"].status == SectionStatus.OK
    warned = [line for line in json_logs.lines if "another patient" in str(line["message"])]
    assert warned
    assert all(isinstance(line["count"], int) for line in warned)
    assert "pat-02" not in json_logs.text  # counts only, never whose


def test_a_patient_search_by_id_keeps_only_that_patient(sandbox, connect, browser) -> None:
    launch = launch_for(connect, browser, "pat-01", hostile={"other_patient_entries": True})
    found = SmartSession(launch).search_all("Patient", {"_id": "pat-01"})
    assert [p["id"] for p in found.resources] == ["pat-01"]
    assert found.other_patient == 1


# --- 4. a byte cap on what the EHR sends -------------------------------------------------------


@override_settings(FHIR_MAX_RESPONSE_BYTES=200_000)
def test_a_page_over_the_byte_cap_ends_the_search(sandbox, connect, browser) -> None:
    launch = launch_for(connect, browser, "pat-01", hostile={"pad_bytes": 300_000})
    sections = build_summary(launch).sections
    assert sections["demographics"].status == SectionStatus.OK  # a read: not padded
    for name in SEARCH_SECTIONS:
        assert sections[name].status == SectionStatus.PARTIAL, name
        assert sections[name].truncated
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    history = browser.client.get(f"/l/{launch.handle}/vitals/heart-rate")
    assert history.status_code == 200
    assert b'data-status="partial"' in history.content


def test_a_single_read_over_the_byte_cap_is_a_clear_error(sandbox, connect, browser) -> None:
    launch = launch_for(connect, browser, "pat-01")
    token = Token.objects.get().access_token
    with override_settings(FHIR_MAX_RESPONSE_BYTES=300):
        with pytest.raises(EhrUnavailable):
            read(launch.connection.iss, token, "Patient", "pat-01")
        demographics = build_summary(launch).sections["demographics"]
        assert demographics.status == SectionStatus.UNAVAILABLE
        assert browser.client.get(f"/l/{launch.handle}/").status_code == 200


# --- 10. hostile values on the drill-downs ---------------------------------------------------

DRILL_DOWNS = ("vitals/heart-rate", "vitals/blood-pressure", f"labs?code={GLUCOSE}", "")


@pytest.mark.parametrize("hostile", [{"nan_values": True}, {"junk_structure": True}])
def test_hostile_values_and_structure_never_answer_500(sandbox, connect, browser, hostile) -> None:
    launch = launch_for(connect, browser, "pat-01", hostile=hostile)
    for path in DRILL_DOWNS:
        response = browser.client.get(f"/l/{launch.handle}/{path}")
        assert response.status_code == 200, path
        body = response.content.decode()
        assert "NaN" not in body, path
        assert "Infinity" not in body, path
        assert "inf " not in body.lower(), path
    if "nan_values" in hostile:
        history = browser.client.get(f"/l/{launch.handle}/vitals/heart-rate")
        assert b'data-status="partial"' in history.content  # the spoiled readings left out
        assert build_summary(launch, refresh=True).sections["vitals"].status == (
            SectionStatus.PARTIAL
        )


# --- 10. ids that go into a URL path ---------------------------------------------------------

BAD_IDS = ["pat-01\r\nX-Injected: 1", "pat\n01", "pat\t01", "pat%0001", "x" * 65_536, "..", "a/b"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_patient_id_outside_the_fhir_grammar_is_a_400(sandbox, connect, browser, bad) -> None:
    connection: EhrConnection = connect()
    browser.sign_in_staff()
    browser.launch(
        browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
    )
    handle = Launch.objects.get().handle
    sandbox.reset_stats()
    response = browser.client.post(f"/l/{handle}/patients", {"patient": bad})
    assert response.status_code == 400
    assert b"<code>invalid_id</code>" in response.content
    assert sandbox.stats()["fhir_requests"] == {}  # nothing was sent
    assert Launch.objects.get().patient_id in ("", None)
