"""The launch debugger: what a successful, a refused and a half-failed launch show to staff,
with no token, code, state or verifier on any of its pages, and nothing at all for others."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from sandbox.models import Token
from smartapp.diagnostics import writer
from smartapp.diagnostics.records import LaunchStep
from smartapp.models import Launch
from smartapp.summary.sections import section_names
from smartapp.vault import store, tokens

# The steps of a page come from several threads at once (the summary's pool); the shared-cache
# in-memory SQLite of a laptop run refuses concurrent writers ("table is locked") rather than
# queueing them, so what these tests count needs the real database.
pytestmark = pytest.mark.postgres


def secrets_of(start, callback: str, launch: Launch) -> list[str]:
    """Everything secret a launch handled: state, code, verifier and every token issued."""
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    code = parse_qs(urlsplit(callback).query).get("code", [""])[0]
    found = [state, code, launch.get_secret("verifier") or "", launch.nonce]
    for token in Token.objects.all():
        found += [token.access_token, token.refresh_token or "", token.id_token or ""]
    return [secret for secret in found if secret]


def debugger_pages(client: Client, launch: Launch) -> list[str]:
    pages = [
        client.get(f"/qa/launches/{launch.handle}"),
        client.get("/qa/launches"),
        client.get("/qa/launches", {"connection": launch.connection.slug, "state": launch.state}),
    ]
    for page in pages:
        assert page.status_code == 200, page.content[:300]
        assert page["Cache-Control"] == "no-store"
    return [page.content.decode() for page in pages]


def assert_no_secret(pages: list[str], secrets: list[str]) -> None:
    assert secrets
    for page in pages:
        for secret in secrets:
            assert secret not in page


def cell_texts(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start : page.index("</table>", start)]


def test_a_successful_launch_shows_its_timeline_context_and_tokens(
    sandbox, connect, browser
) -> None:
    connection = connect()
    start = browser.start_ehr(connection, patient="pat-04")
    callback = browser.authorize(start)
    landed = browser.callback(callback)
    assert landed.status_code == 303
    assert browser.client.get(landed["Location"]).status_code == 200  # the summary
    launch = Launch.objects.get()
    tokens.refresh(launch, seen_version=store.grant_of(launch).version)  # one rotation
    browser.sign_in_staff()

    pages = debugger_pages(browser.client, launch)
    page = pages[0]
    timeline = cell_texts(page, "timeline")
    for step in (
        "Discovery",
        "Redirect to the EHR&#x27;s authorization endpoint",
        "Callback from the EHR",
        "Token exchange",
        "id_token validated",
        "Launch patient read",
        "State: exchanging → active",
        "Summary section: vitals",
        "Token refresh",
    ):
        assert step in timeline, step
    assert 'class="qa-bad"' not in timeline
    assert "iss: as expected" in timeline
    fhir = cell_texts(page, "fhir-calls")
    assert "<td>Patient</td><td>read</td><td><code>200</code>" in fhir
    assert "<td>Observation</td><td>search-type</td>" in fhir
    assert "category, patient" in fhir  # parameter names, never their values
    assert "pat-04</td>" not in fhir
    assert '<dd data-testid="state">active</dd>' in page
    assert "<dt>patient</dt><dd>pat-04</dd>" in page
    assert "<dt>fhirUser</dt><dd>" in page
    assert "Practitioner/prac-1" in page
    assert "<dt>refreshes so far</dt><dd>1</dd>" in page
    assert "<dt>rotations</dt><dd>1</dd>" in page
    assert "<dt>refresh token held</dt><dd>yes</dd>" in page
    assert '<dd data-testid="not-granted">—</dd>' in page
    assert "No earlier launch at this EHR to compare with." in page
    assert_no_secret(pages, secrets_of(start, callback, launch))


def test_a_refused_launch_shows_the_ehrs_words_to_the_user_and_the_debugger(
    sandbox, connect, browser
) -> None:
    connection = connect(auth_error="invalid_scope")
    start = browser.start_ehr(connection)
    callback = browser.authorize(start)
    refused = browser.callback(callback)
    assert refused.status_code == 400
    body = refused.content.decode()
    assert "<code>authorization_failed</code>" in body
    assert "said:" in body
    assert "“simulated by the sandbox” <code>invalid_scope</code>" in body
    assert 'data-testid="debug-link"' not in body  # not staff

    browser.sign_in_staff()
    again = browser.callback(callback)  # the same callback, replayed, now seen by staff
    launch = Launch.objects.get()
    assert f'href="/qa/launches/{launch.handle}" data-testid="debug-link"' in again.content.decode()
    pages = debugger_pages(browser.client, launch)
    page = pages[0]
    assert '<dd data-testid="state">failed</dd>' in page
    assert "<code>authorization_failed</code>" in page
    assert '<dd data-testid="ehr-said"><code>invalid_scope</code>: simulated by the sandbox' in page
    timeline = cell_texts(page, "timeline")
    assert 'class="qa-bad"' in timeline
    assert "State: authorizing → failed" in timeline
    assert "Token exchange" not in timeline  # nothing was exchanged
    assert_no_secret(pages, secrets_of(start, callback, launch))


def test_a_token_endpoint_refusal_shows_its_description(sandbox, connect, browser) -> None:
    connection = connect(token_error="invalid_grant")
    refused = browser.callback(browser.authorize(browser.start_ehr(connection)))
    assert refused.status_code == 502
    assert "“simulated by the sandbox” <code>invalid_grant</code>" in refused.content.decode()
    browser.sign_in_staff()
    page = browser.client.get(f"/qa/launches/{Launch.objects.get().handle}").content.decode()
    timeline = cell_texts(page, "timeline")
    assert "Token exchange" in timeline
    assert "ehr_error: invalid_grant" in timeline
    assert "ehr_error_description: simulated by the sandbox" in timeline


def test_a_half_failed_launch_shows_which_sections_and_calls_failed(
    sandbox, connect, browser
) -> None:
    connection = connect(fail={"Observation": 500})
    start = browser.start_ehr(connection)
    callback = browser.authorize(start)
    landed = browser.callback(callback)
    summary = browser.client.get(landed["Location"])
    assert summary.status_code == 200
    launch = Launch.objects.get()
    browser.sign_in_staff()
    pages = debugger_pages(browser.client, launch)
    page = pages[0]
    assert '<dd data-testid="state">active</dd>' in page
    timeline = cell_texts(page, "timeline")
    assert "Summary section: labs</td><td><code>unavailable</code>" in timeline
    assert "Summary section: problems</td><td><code>ok</code>" in timeline
    fhir = cell_texts(page, "fhir-calls")
    assert "<td>Observation</td><td>search-type</td><td><code>500</code>" in fhir
    assert_no_secret(pages, secrets_of(start, callback, launch))


def test_a_second_launch_shows_what_changed_in_discovery(sandbox, connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_ehr(connection))
    first = Launch.objects.get()
    writer.flush()
    step = LaunchStep.objects.get(launch=first, name="discovery")
    step.detail["document"]["revocation_endpoint"] = None  # as if the EHR added it since
    step.save()
    browser.launch(browser.start_ehr(connection))
    second = Launch.objects.exclude(pk=first.pk).get()
    browser.sign_in_staff()
    page = browser.client.get(f"/qa/launches/{second.handle}").content.decode()
    changes = page[page.index('data-testid="discovery-changes"') :].split("</ul>")[0]
    assert "<code>revocation_endpoint</code>: None →" in changes
    assert changes.count("<li>") == 1


def test_a_reference_from_an_error_page_finds_its_launch(sandbox, connect, browser) -> None:
    connection = connect(auth_error="temporarily_unavailable")
    browser.callback(browser.authorize(browser.start_ehr(connection)))
    writer.flush()
    step = LaunchStep.objects.get(name="callback")
    assert step.request_id
    browser.sign_in_staff()
    found = browser.client.get("/qa/launches", {"ref": step.request_id}).content.decode()
    assert f"/qa/launches/{step.launch.handle}" in found
    nothing = browser.client.get("/qa/launches", {"ref": "0" * 32}).content.decode()
    assert "No launch recorded a step with this reference." in nothing


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/qa/launches", "/qa/launches/abc", "/qa/check", "/qa/launch"])
def test_the_qa_pages_are_404_for_everyone_but_staff(path, settings) -> None:
    settings.DEBUG = False
    from django.contrib.auth import get_user_model

    anonymous = Client().get(path)
    assert anonymous.status_code == 404
    user = get_user_model().objects.create_user("clinician", password="x")
    signed_in = Client()
    signed_in.force_login(user)
    assert signed_in.get(path).status_code == 404
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("qa", is_staff=True))
    assert staff.get(path).status_code == (404 if path == "/qa/launches/abc" else 200)


def test_a_replayed_callback_adds_no_step(sandbox, connect, browser) -> None:
    connection = connect()
    callback = browser.authorize(browser.start_ehr(connection))
    browser.callback(callback)
    writer.flush()
    before = LaunchStep.objects.count()
    for _ in range(3):
        assert browser.callback(callback).status_code == 400
    writer.flush()
    assert LaunchStep.objects.count() == before


def test_steps_beyond_a_launchs_cap_are_dropped(sandbox, connect, browser, monkeypatch) -> None:
    from smartapp.diagnostics import recorder

    monkeypatch.setattr(writer, "MAX_STEPS_PER_LAUNCH", 12)
    connection = connect()
    browser.launch(browser.start_ehr(connection))
    launch = Launch.objects.get()
    for n in range(30):
        recorder.record(launch.pk, "section", detail={"section": f"s{n}"})
    writer.flush()
    assert LaunchStep.objects.filter(launch=launch).count() == 12


def test_the_conformance_page_runs_on_a_post_with_its_csrf_token(sandbox, connect) -> None:
    from django.contrib.auth import get_user_model

    connection = connect()
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(get_user_model().objects.create_user("qa", is_staff=True))
    form = staff.get("/qa/check")
    assert b'data-testid="findings"' not in form.content
    assert staff.post("/qa/check", {"connection": connection.slug}).status_code == 403  # no token
    token = form.cookies["csrftoken"].value
    page = staff.post("/qa/check", {"connection": connection.slug, "csrfmiddlewaretoken": token})
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-check="jwks.keys" data-status="pass"' in body
    assert "No failures" in body
    assert "app-test-secret" not in body


def test_a_page_served_from_the_cache_writes_no_step(sandbox, connect, browser) -> None:
    connection = connect()
    browser.launch(browser.start_ehr(connection))  # the first summary fetches every section
    handle = Launch.objects.get().handle
    writer.flush()
    fetched = LaunchStep.objects.filter(name="section").count()
    assert fetched == len(section_names())
    before = LaunchStep.objects.count()
    assert browser.client.get(f"/l/{handle}/").status_code == 200
    writer.flush()
    assert LaunchStep.objects.count() == before
