"""Cookies that survive an EHR iframe, framing only by registered EHR origins, no referrers."""

from __future__ import annotations

from smart.launch_states import LaunchState
from smartapp.launches.browser import COOKIE_PREFIX
from smartapp.models import Launch

EHR = "http://127.0.0.1:9000"


def launch_cookie_header(response) -> str:
    (name,) = [name for name in response.cookies if name.startswith(COOKIE_PREFIX)]
    return response.cookies[name].output(header="")


def test_launch_cookie_attributes(sandbox, connect, browser) -> None:
    connection = connect(frame_origins=(EHR,))
    start = browser.start_ehr(connection)
    callback = browser.callback(browser.authorize(start))
    for response in (start, callback):
        header = launch_cookie_header(response)
        for attribute in ("HttpOnly", "Secure", "SameSite=None", "Partitioned", "Path=/"):
            assert attribute in header, header


def test_launch_and_callback_pages(sandbox, connect, browser) -> None:
    connection = connect(frame_origins=(EHR, "https://ehr.example.org"))
    start = browser.start_ehr(connection)
    assert start["Referrer-Policy"] == "no-referrer"
    assert f"frame-ancestors {EHR} https://ehr.example.org" in start["Content-Security-Policy"]
    callback = browser.callback(browser.authorize(start))
    assert callback.status_code == 303  # a clean URL: reload or back cannot replay the code
    assert "code=" not in callback["Location"]
    assert "state=" not in callback["Location"]
    assert callback["Referrer-Policy"] == "no-referrer"
    page = browser.client.get(callback["Location"])
    assert f"frame-ancestors {EHR} https://ehr.example.org" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page


def test_framing_is_refused_everywhere_else(sandbox, connect, browser) -> None:
    home = browser.client.get("/")
    assert "frame-ancestors 'none'" in home["Content-Security-Policy"]
    assert home["X-Frame-Options"] == "DENY"
    connection = connect()  # no frame origins registered
    browser.launch(browser.start_ehr(connection))
    page = browser.client.get(f"/l/{Launch.objects.get().handle}/")
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_strict_content_security_policy(sandbox, browser) -> None:
    policy = browser.client.get("/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "object-src 'none'" in policy
    assert "base-uri 'none'" in policy


def test_jwks_serves_the_private_key_jwt_public_keys(sandbox, connect, browser) -> None:
    connect("private_key_jwt", slug="rsa", alg="RS384")
    connect("private_key_jwt", slug="ec", alg="ES384", base=sandbox.base(token_ttl=60))
    connect("client_secret_basic", slug="secret", base=sandbox.base(token_ttl=61))
    keys = browser.client.get("/.well-known/jwks.json").json()["keys"]
    assert sorted(key["alg"] for key in keys) == ["ES384", "RS384"]
    for key in keys:
        assert "d" not in key  # public halves only
        assert key["kid"]
        assert key["use"] == "sig"


def test_sign_out_inside_the_ehr_iframe_stays_framable(sandbox, connect, browser) -> None:
    # Issue 12 item 7: the pages after sign-out keep the framing of the launch they ended.
    connection = connect(frame_origins=(EHR,))
    browser.launch(browser.start_ehr(connection))
    handle = Launch.objects.get().handle
    out = browser.client.post(f"/l/{handle}/sign-out")
    assert out.status_code == 303
    assert f"frame-ancestors {EHR}" in out["Content-Security-Policy"]
    page = browser.client.get(out["Location"])
    assert page.status_code == 200
    assert b"You have signed out" in page.content
    assert f"frame-ancestors {EHR}" in page["Content-Security-Policy"]
    assert "X-Frame-Options" not in page
    assert Launch.objects.get().state == LaunchState.SIGNED_OUT
    assert browser.client.get(f"/l/{handle}/").status_code == 410  # "you have signed out"


def test_sign_out_of_everything_inside_the_iframe_stays_framable(sandbox, connect, browser) -> None:
    connection = connect(frame_origins=(EHR,))
    browser.launch(browser.start_ehr(connection, patient="pat-01"))
    browser.launch(browser.start_ehr(connection, patient="pat-02"))
    out = browser.client.post("/sign-out")
    assert out.status_code == 303
    page = browser.client.get(out["Location"])
    assert f"frame-ancestors {EHR}" in page["Content-Security-Policy"]
    assert set(Launch.objects.values_list("state", flat=True)) == {LaunchState.SIGNED_OUT}


def test_the_signed_out_page_alone_refuses_framing(sandbox, connect, browser) -> None:
    connect(frame_origins=(EHR,))
    for url in ("/signed-out", "/signed-out?ehr=unknown"):
        page = browser.client.get(url)
        assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
        assert page["X-Frame-Options"] == "DENY"


def test_callback_and_launch_errors_keep_no_referrer(sandbox, connect, browser) -> None:
    connect()
    for path, params in [
        ("/smart/callback", {"code": "a-code", "state": "made-up"}),
        ("/smart/callback", {"code": "a-code"}),
        ("/smart/callback", {"code": "a-code\x00", "state": "s"}),
        ("/smart/launch", {"iss": "https://unknown.example/fhir", "launch": "x"}),
        ("/smart/launch", {}),
    ]:
        response = browser.client.get(path, params)
        assert response.status_code == 400, (path, params)
        assert response["Referrer-Policy"] == "no-referrer", (path, params)
    assert browser.client.post("/smart/callback")["Referrer-Policy"] == "no-referrer"
    assert browser.client.get("/")["Referrer-Policy"] == "same-origin"  # elsewhere unchanged
