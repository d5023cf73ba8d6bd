"""Cookies that survive an EHR iframe, framing only by registered EHR origins, no referrers."""

from __future__ import annotations

from smartapp.models import Launch

EHR = "http://127.0.0.1:9000"


def session_cookie_header(response) -> str:
    return response.cookies["smartapp_session"].output(header="")


def test_session_cookie_attributes(sandbox, connect, browser) -> None:
    connection = connect(frame_origins=(EHR,))
    start = browser.start_ehr(connection)
    header = session_cookie_header(start)
    for attribute in ("HttpOnly", "Secure", "SameSite=None", "Partitioned"):
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
