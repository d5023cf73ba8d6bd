"""The portal's language (issue 14): the browser's Accept-Language, or the `locale` the launch's
EHR sent in its token response; Spanish translations compiled and committed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from smart.token_response import TokenResponse
from smartapp.models import Launch

PO = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
UNTRANSLATED = re.compile(r'^msgstr(?:\[\d\])? ""$(?!\n")', re.MULTILINE)  # empty, not continued


@pytest.fixture(autouse=True)
def _english_after() -> Any:
    yield
    translation.activate(settings.LANGUAGE_CODE)


def launched(connect, browser, **options: Any) -> Launch:
    connection = connect(**options)
    browser.launch(browser.start_standalone(connection), user="Patient/pat-01")
    cache.clear()
    return Launch.objects.get()


def summary(browser, launch: Launch, **headers: Any) -> str:
    page = browser.client.get(reverse("portal:summary", args=[launch.handle]), **headers)
    assert page.status_code == 200
    return str(page.content.decode())


def test_spanish_from_the_browser(sandbox, connect, browser) -> None:
    launch = launched(connect, browser)
    html = summary(browser, launch, HTTP_ACCEPT_LANGUAGE="es")
    assert '<html lang="es">' in html
    assert "Sus medicamentos" in html
    assert "Sus alergias" in html
    assert "Your medicines" not in html
    assert "Cerrar sesión" in html  # the sign-out button


def test_english_by_default(sandbox, connect, browser) -> None:
    launch = launched(connect, browser)
    html = summary(browser, launch)
    assert '<html lang="en">' in html
    assert "Your medicines" in html
    assert "Sus medicamentos" not in html


def test_the_launch_locale_wins_without_the_header(sandbox, connect, browser) -> None:
    launch = launched(connect, browser, token_response={"set": {"locale": "es-MX"}})
    assert launch.locale == "es-MX"
    html = summary(browser, launch)
    assert '<html lang="es">' in html
    assert "Sus medicamentos" in html
    html = summary(browser, launch, HTTP_ACCEPT_LANGUAGE="en")
    assert "Sus medicamentos" in html  # the EHR's choice for this launch


@pytest.mark.parametrize("locale", ["fr-FR", "not a tag", "x" * 40])
def test_an_unsupported_locale_falls_back(sandbox, connect, browser, locale: str) -> None:
    launch = launched(connect, browser, token_response={"set": {"locale": locale}})
    html = summary(browser, launch)
    assert '<html lang="en">' in html
    assert "Your medicines" in html
    assert "Sus medicamentos" in summary(browser, launch, HTTP_ACCEPT_LANGUAGE="es")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("es", "es"),
        ("es-419", "es-419"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("es\nX", None),
        ("", None),
        (42, None),
        ("e", None),
        ("x" * 36, None),
    ],
)
def test_token_response_locale_checked(sent: Any, kept: str | None) -> None:
    body = {"access_token": "a", "token_type": "Bearer", "scope": "openid", "locale": sent}
    assert TokenResponse.from_json(body).locale == kept


def test_error_pages_in_spanish(client) -> None:
    page = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="es")
    assert page.status_code == 404
    assert "Esta página no está disponible" in page.content.decode()


def test_every_message_translated() -> None:
    blocks = [b for b in PO.read_text().split("\n\n")[1:] if "msgid " in b]
    assert blocks
    for block in blocks:
        assert "#, fuzzy" not in block, block
        assert not UNTRANSLATED.search(block), block


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) not installed")
def test_the_compiled_catalogue_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(fresh), str(PO)], check=True)
    assert fresh.read_bytes() == MO.read_bytes(), "run manage.py compilemessages"
