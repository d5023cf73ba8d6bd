"""smartapp.vault over real HTTP to the sandbox: refresh, rotation, failure model, 401 retry."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from smart.clock import ManualClock
from smart.launch_states import LaunchState
from smartapp.clock import use_clock
from smartapp.models import Launch, TokenGrant
from smartapp.vault import revocation
from tests.smartapp.launches.test_launch_refusals import refused

SCOPES_WITHOUT_OFFLINE = "launch/patient openid fhirUser patient/Patient.rs"


def expire_access_token() -> None:
    TokenGrant.objects.update(expires_at=timezone.now() - timedelta(seconds=1))


def refreshes(sandbox) -> int:
    return sum(
        n for key, n in sandbox.stats()["token_requests"].items() if key.startswith("refresh_token")
    )


def launched(sandbox, connect, browser, **options):
    connection = connect(**options)
    page = browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    assert page.status_code == 200
    return connection, Launch.objects.get()


def test_a_fresh_token_is_used_as_it_is(sandbox, connect, browser) -> None:
    _, launch = launched(sandbox, connect, browser)
    for _ in range(3):
        assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 0


def test_an_expiring_token_is_refreshed_and_the_refresh_token_rotated(
    sandbox, connect, browser
) -> None:
    from sandbox.models import Token

    _, launch = launched(sandbox, connect, browser)
    first = TokenGrant.objects.get()
    old_refresh = first.get_secret("refresh_token")
    expire_access_token()
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    grant = TokenGrant.objects.get()
    assert refreshes(sandbox) == 1
    assert grant.version == first.version + 1
    assert grant.get_secret("refresh_token") != old_refresh  # rotated, stored with the access token
    newest = Token.objects.order_by("-issued_at").first()
    assert newest is not None
    assert grant.get_secret("access_token") == newest.access_token
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 1  # the new one is fresh


def test_static_refresh_tokens_are_kept(sandbox, connect, browser) -> None:
    _, launch = launched(sandbox, connect, browser, refresh="static")
    old_refresh = TokenGrant.objects.get().get_secret("refresh_token")
    for _ in range(2):
        expire_access_token()
        assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert TokenGrant.objects.get().get_secret("refresh_token") == old_refresh
    assert refreshes(sandbox) == 2


def test_short_lived_tokens_do_not_refresh_on_every_request(sandbox, connect, browser) -> None:
    _, launch = launched(sandbox, connect, browser, token_ttl=30)  # shorter than the 60 s skew
    for _ in range(3):
        assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 0


def test_eligibility_comes_from_the_refresh_token_not_the_scope(sandbox, connect, browser) -> None:
    # The EHR issues a refresh token but leaves offline_access out of `scope`.
    _, launch = launched(
        sandbox, connect, browser, token_response={"set": {"scope": SCOPES_WITHOUT_OFFLINE}}
    )
    assert "offline_access" not in TokenGrant.objects.get().scope
    expire_access_token()
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 1


def test_invalid_grant_ends_the_session_with_a_way_back(sandbox, connect, browser) -> None:
    connection, launch = launched(
        sandbox,
        connect,
        browser,
        token_error={"error": "invalid_grant", "grant_type": "refresh_token"},
    )
    expire_access_token()
    response = browser.client.get(f"/l/{launch.handle}/")
    refused(response, 401, "session_ended")
    assert f"Your session with {connection.name} has ended".encode() in response.content
    assert b"sign in again" in response.content
    assert b"John Smith" not in response.content
    assert TokenGrant.objects.count() == 0
    assert Launch.objects.get().state == LaunchState.REAUTH_REQUIRED
    refused(browser.client.get(f"/l/{launch.handle}/"), 401, "session_ended")  # and it stays so


def test_a_refused_refresh_gives_back_the_access_token_still_held(
    sandbox, connect, browser
) -> None:
    from sandbox.models import Token

    launched(
        sandbox,
        connect,
        browser,
        token_error={"error": "invalid_grant", "grant_type": "refresh_token"},
    )
    expire_access_token()  # here only: the EHR still takes it
    launch = Launch.objects.get()
    refused(browser.client.get(f"/l/{launch.handle}/"), 401, "session_ended")
    assert revocation.wait_idle()
    assert Token.objects.get().access_revoked  # RFC 7009: not left live until it expires


def test_no_refresh_token_and_expired_ends_the_session(sandbox, connect, browser) -> None:
    _, launch = launched(sandbox, connect, browser, refresh="none")
    expire_access_token()
    refused(browser.client.get(f"/l/{launch.handle}/"), 401, "session_ended")


def test_an_unwell_token_endpoint_is_retried_then_temporary(sandbox, connect, browser) -> None:
    _, launch = launched(
        sandbox,
        connect,
        browser,
        token_error={"error": "temporarily_unavailable", "grant_type": "refresh_token"},
    )
    expire_access_token()
    with use_clock(ManualClock()) as clock:
        response = browser.client.get(f"/l/{launch.handle}/")
    refused(response, 503, "ehr_unavailable")
    assert b"Try again" in response.content
    assert refreshes(sandbox) == 3  # bounded retries
    assert clock.slept == [0.25, 0.75]  # with back-off between them (on the app's clock)
    assert TokenGrant.objects.count() == 1  # the grant stays
    assert Launch.objects.get().state == LaunchState.ACTIVE


def test_a_fhir_401_triggers_one_refresh_and_one_retry(sandbox, connect, browser) -> None:
    _connection, launch = launched(sandbox, connect, browser)
    access = TokenGrant.objects.get().get_secret("access_token")
    # The EHR revokes the access token behind the app's back (as after an EHR-side logout).
    from sandbox.models import Token

    Token.objects.filter(access_token=access).update(access_revoked=True)
    cache.clear()  # make the page ask the EHR rather than the summary cache
    assert browser.client.get(f"/l/{launch.handle}/").status_code == 200
    assert refreshes(sandbox) == 1


def test_a_refused_refreshed_token_ends_the_session(sandbox, connect, browser, monkeypatch) -> None:
    from sandbox import fhir_api

    _, launch = launched(sandbox, connect, browser)

    def refuse_every_token(request, site):
        return fhir_api.outcome(401, "login", "refused", WWW_Authenticate="Bearer")

    monkeypatch.setattr(fhir_api, "bearer_token", refuse_every_token)
    cache.clear()
    # The summary is streamed: the refusal comes after the page began, so the page ends with
    # "your session has ended" in place of the sections ...
    page = browser.client.get(f"/l/{launch.handle}/").content.decode()
    assert 'data-stream-ended="grant_lost"' in page
    assert 'data-section="problems"' not in page
    assert refreshes(sandbox) == 1  # at most one refresh, at most one retry
    # ... and the launch is over: the next page is the clear 401.
    refused(browser.client.get(f"/l/{launch.handle}/"), 401, "session_ended")


def test_sign_out_revokes_and_forgets(sandbox, connect, browser) -> None:
    from sandbox.models import Token

    _, launch = launched(sandbox, connect, browser)
    issued = Token.objects.get()
    response = browser.client.post(f"/l/{launch.handle}/sign-out")
    assert response.status_code == 303
    assert b"You have signed out" in browser.client.get(response["Location"]).content
    assert revocation.wait_idle()  # the EHR is told in the background
    issued.refresh_from_db()
    assert issued.refresh_revoked
    assert issued.access_revoked
    assert TokenGrant.objects.count() == 0
    assert Launch.objects.get().state == LaunchState.SIGNED_OUT
    page = browser.client.get(f"/l/{launch.handle}/")
    refused(page, 410, "signed_out")
    assert b"John Smith" not in page.content


def test_sign_out_survives_a_failing_revocation_endpoint(sandbox, connect, browser) -> None:
    from django.core.cache import cache

    connection, launch = launched(sandbox, connect, browser)
    key = f"smart-config:{connection.iss}"
    config = cache.get(key)
    config["revocation_endpoint"] = "http://127.0.0.1:1/revoke"  # nothing listens there
    cache.set(key, config)
    assert browser.client.post(f"/l/{launch.handle}/sign-out").status_code == 303
    assert TokenGrant.objects.count() == 0
    assert Launch.objects.get().state == LaunchState.SIGNED_OUT


def test_sign_out_of_every_launch_in_the_browser(sandbox, connect, browser) -> None:
    from sandbox.models import Token
    from tests.fixtures.app import SECRET
    from tests.sandbox.smart_client import SmartClient

    connection = connect()
    browser.launch(browser.start_ehr(connection, patient="pat-01"))
    browser.launch(browser.start_ehr(connection, patient="pat-02"))
    assert browser.client.post("/sign-out").status_code == 303
    assert set(Launch.objects.values_list("state", flat=True)) == {LaunchState.SIGNED_OUT}
    assert TokenGrant.objects.count() == 0
    assert revocation.wait_idle()
    ehr = SmartClient(connection.iss, connection.client_id, secret=SECRET)
    issued = list(Token.objects.all())
    assert len(issued) == 2
    for token in issued:  # the EHR itself says every token is dead
        assert ehr.introspect(token.access_token) == {"active": False}
        assert ehr.introspect(str(token.refresh_token)) == {"active": False}
