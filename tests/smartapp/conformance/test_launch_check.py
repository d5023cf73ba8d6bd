"""`smart_check --launch`: the printed link completed in a browser (the test client walking
the real sandbox's sign-in), then the launch's grant, refresh and reads reported."""

from __future__ import annotations

import io
import json
import queue
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection as db_connection

from sandbox.models import Token
from smart.conformance import Status
from smart.conformance_launch import LaunchOutcome, judge_launch
from smart.launch_states import LaunchState
from smart.scopes import LaunchKind
from smartapp.audit.records import AccessRecord
from smartapp.conformance import launch_check
from smartapp.models import Launch

LINK = re.compile(r"(http://\S+/smart/check/\S+)")


class Announcements(io.StringIO):
    """The command's stderr: hands the printed link to the test as soon as it is written."""

    def __init__(self) -> None:
        super().__init__()
        self.links: queue.Queue[str] = queue.Queue()

    def write(self, text: str) -> int:
        if found := LINK.search(text):
            self.links.put(found[1])
        return super().write(text)


class CheckRun:
    def __init__(self, *args: str) -> None:
        self.stdout, self.stderr = io.StringIO(), Announcements()
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, args=args)
        self.thread.start()

    def _run(self, *args: str) -> None:
        try:
            call_command("smart_check", *args, stdout=self.stdout, stderr=self.stderr)
            self.code = 0
        except CommandError as exc:
            self.code = exc.returncode
        finally:
            db_connection.close()

    def link(self) -> str:
        return self.stderr.links.get(timeout=30)

    def report(self) -> dict[str, Any]:
        self.thread.join(60)
        assert not self.thread.is_alive()
        return dict(json.loads(self.stdout.getvalue()))


def open_link(browser, link: str) -> Any:
    parts = urlsplit(link)
    return browser.client.get(parts.path)


def findings_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["check_id"]: f for f in report["findings"]}


def test_a_completed_launch_reports_scopes_context_refresh_and_reads(
    sandbox, connect, browser
) -> None:
    connection = connect()
    run = CheckRun("--connection", connection.slug, "--launch", "--wait", "30", "--format", "json")
    started = open_link(browser, run.link())
    page = browser.launch(started, user="Patient/pat-06")
    assert page.status_code == 200
    report = run.report()
    findings = findings_of(report)
    assert run.code == 0, findings
    assert findings["launch.completed"]["status"] == "pass"
    assert findings["launch.scopes"]["status"] == "pass"
    assert "patient=pat-06" in findings["launch.context"]["message"]
    assert findings["launch.refresh_token"]["status"] == "pass"
    assert findings["launch.refresh"]["message"].startswith("refreshed (rotated")
    assert findings["launch.read.Patient"]["status"] == "pass"
    assert findings["launch.read.Condition"]["message"] == "answered (1 on the first page)"
    assert findings["launch.read.Observation"]["status"] == "pass"
    launch = Launch.objects.get()
    assert launch.state == LaunchState.SIGNED_OUT  # the check gave its grant back
    record = AccessRecord.objects.get(what="smart_check")
    assert "Condition" in record.resource_types
    text = run.stdout.getvalue() + run.stderr.getvalue()
    for token in Token.objects.all():
        for secret in (token.access_token, token.refresh_token, token.id_token):
            assert not secret or secret not in text


def test_a_narrowed_grant_and_a_refused_refresh_are_reported(sandbox, connect, browser) -> None:
    connection = connect(token_error={"error": "invalid_grant", "grant_type": "refresh_token"})
    run = CheckRun("--connection", connection.slug, "--launch", "--wait", "30", "--format", "json")
    started = open_link(browser, run.link())
    browser.launch(started, user="Patient/pat-06", untick=("patient/Immunization.rs",))
    findings = findings_of(run.report())
    assert run.code == 1
    assert findings["launch.scopes"]["status"] == "warn"
    assert "not granted: patient/Immunization.rs" in findings["launch.scopes"]["message"]
    assert findings["launch.read.Immunization"]["status"] == "skip"
    assert findings["launch.refresh"]["status"] == "fail"
    assert "invalid_grant" in findings["launch.refresh"]["message"]
    assert "simulated by the sandbox" in findings["launch.refresh"]["message"]


def test_a_refused_launch_fails_with_the_ehrs_words(sandbox, connect, browser) -> None:
    connection = connect(auth_error="invalid_scope")
    run = CheckRun("--connection", connection.slug, "--launch", "--wait", "30", "--format", "json")
    browser.callback(browser.authorize(open_link(browser, run.link())))
    findings = findings_of(run.report())
    assert run.code == 1
    failed = findings["launch.completed"]
    assert failed["status"] == "fail"
    assert failed["message"] == (
        "ended failed (authorization_failed); the EHR said: invalid_scope simulated by the sandbox"
    )
    assert "launch.refresh" not in findings


def test_a_link_works_once_and_not_when_forged(sandbox, connect, browser) -> None:
    connection = connect()
    ticket = launch_check.issue(connection, LaunchKind.PATIENT)
    path = urlsplit(ticket.url).path
    assert open_link(browser, ticket.url).status_code == 302
    again = browser.client.get(path)
    assert again.status_code == 400
    assert b"<code>invalid_request</code>" in again.content
    forged = browser.client.get(path[:-3] + "abc")
    assert forged.status_code == 400
    assert Launch.objects.count() == 1


@pytest.mark.django_db
def test_a_launch_never_completed_is_a_failure_after_the_wait() -> None:
    launch, outcome = launch_check.await_outcome("nobody", 0.0, sleep=lambda _: None)
    assert launch is None
    (finding,) = judge_launch(outcome, None)
    assert finding.status is Status.FAIL
    assert "never started" in finding.message


def test_judging_a_launch_that_was_cancelled() -> None:
    (finding,) = judge_launch(LaunchOutcome("cancelled", 3.0, "access_denied"), None)
    assert finding.status is Status.FAIL
    assert finding.message == "ended cancelled (access_denied)"
