"""The warm summary's caches (the encrypted section cache, the decoded-section memo, the
rendered-card memo: smartapp/memo.py) never serve one launch's data to another: not another
patient's, and not another launch's links for the same patient. Pages are read warm, so every
card a page shows after the first comes from the memos."""

from __future__ import annotations

import re

from smartapp.models import Launch
from tests.fixtures.app import AppBrowser


def _summary(browser: AppBrowser, handle: str) -> str:
    response = browser.client.get(f"/l/{handle}/")
    assert response.status_code == 200
    return str(response.content.decode())


def _name(page: str) -> str:
    found = re.search(r'data-testid="patient-name"[^>]*>([^<]+)<', page)
    assert found, "the page names its patient"
    return found.group(1).strip()


def _launch(browser: AppBrowser, connection, patient: str) -> str:
    before = set(Launch.objects.values_list("handle", flat=True))
    browser.launch(browser.start_standalone(connection), user=f"Patient/{patient}")
    (handle,) = set(Launch.objects.values_list("handle", flat=True)) - before
    return handle


def test_two_patients_pages_never_show_each_others_data(sandbox, connect) -> None:
    connection = connect()
    first, second = AppBrowser(sandbox), AppBrowser(sandbox)
    a = _launch(first, connection, "pat-03")
    b = _launch(second, connection, "pat-05")
    pages_a = [_summary(first, a) for _ in range(3)]  # cold, then warm from the memos
    pages_b = [_summary(second, b) for _ in range(3)]
    pages_a.append(_summary(first, a))  # after the other patient's warm pages
    name_a, name_b = _name(pages_a[0]), _name(pages_b[0])
    assert name_a != name_b
    for page in pages_a:
        assert _name(page) == name_a
        assert name_b not in page
        assert f"/l/{b}/" not in page
    for page in pages_b:
        assert _name(page) == name_b
        assert name_a not in page
        assert f"/l/{a}/" not in page
    # Warm pages are the same page: the memo gave back what a render gives.
    assert _cards(pages_a[1]) == _cards(pages_a[2]) == _cards(pages_a[3])


def test_two_launches_of_one_patient_keep_their_own_links(sandbox, connect) -> None:
    """One patient, one user, two launches: they share the encrypted section cache (same
    organisation, patient, user and scopes) but each card links to its own launch."""
    connection = connect()
    browser = AppBrowser(sandbox)
    first = _launch(browser, connection, "pat-03")
    second = _launch(browser, connection, "pat-03")
    assert first != second
    for _ in range(2):
        page = _summary(browser, first)
        assert f"/l/{first}/" in page
        assert f"/l/{second}/" not in page
    for _ in range(2):
        page = _summary(browser, second)
        assert f"/l/{second}/" in page
        assert f"/l/{first}/" not in page
    assert _cards(_summary(browser, first)).replace(first, "H") == _cards(page).replace(second, "H")


def _cards(page: str) -> str:
    """The page's section cards (the parts the memos serve), without the per-request parts
    around them (CSRF token, the time shown)."""
    return "".join(re.findall(r'<section class="card.*?</section>', page, flags=re.S))
