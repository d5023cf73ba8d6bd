"""Issue 14: the QA/provider patient search pages through the EHR's results (its `next`
links, followed server-side within the FHIR base only), says "more than N match: refine your
search" where paging stops, shows MRN, sex and deceased, and leads back from the patient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.template.loader import render_to_string

from portal import search
from sandbox.fhir_store import get_store
from smartapp.models import Launch
from tests.smartapp.fhir.test_hostile_ehr import Recorder

pytestmark = [pytest.mark.postgres]

ROW = re.compile(r'<input type="hidden" name="patient" value="([^"]+)">')
NEXT = re.compile(r'<a rel="next" href="([^"]+)">')


def provider(connect, browser, **options) -> Launch:
    connection = connect(**options)
    browser.sign_in_staff()
    page = browser.launch(
        browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
    )
    assert page.status_code == 200
    return Launch.objects.get()


def ids(page) -> list[str]:
    assert page.status_code == 200, page.content[:300]
    return ROW.findall(page.content.decode())


def next_link(page) -> str | None:
    found = NEXT.search(page.content.decode())
    return found[1].replace("&amp;", "&") if found else None


def matching(name: str) -> set[str]:
    return {str(p["id"]) for p in get_store().search("Patient", [("name", name)])}


def patient(patient_id: str) -> dict:
    return get_store().search("Patient", [("_id", patient_id)])[0]


def test_pages_through_every_match(sandbox, connect, browser) -> None:
    launch = provider(connect, browser)
    url = f"/l/{launch.handle}/patients"
    first = browser.client.get(url, {"name": "a"})
    assert len(ids(first)) == search.PER_PAGE
    link = next_link(first)
    assert link == "?name=a&page=2"  # a page number: no EHR URL or cursor in our links
    assert "_getpages" not in first.content.decode()
    second = browser.client.get(url + link)
    assert next_link(second) is None
    assert 'rel="prev"' in second.content.decode()
    assert b'data-testid="refine"' not in second.content
    seen = ids(first) + ids(second)
    assert len(seen) == len(set(seen))
    assert set(seen) == matching("a")


def test_an_ehr_sending_smaller_pages_than_asked_loses_no_row(
    sandbox, connect, browser, monkeypatch
) -> None:
    launch = provider(connect, browser)
    monkeypatch.setattr(search, "EHR_COUNT", 7)  # the EHR's pages: 7 where we show 20
    url = f"/l/{launch.handle}/patients"
    first = browser.client.get(url, {"name": "a"})
    second = browser.client.get(url + str(next_link(first)))
    assert len(ids(first)) == search.PER_PAGE
    assert sorted(ids(first) + ids(second)) == sorted(matching("a"))


def test_past_the_last_page_refine_your_search(sandbox, connect, browser, monkeypatch) -> None:
    launch = provider(connect, browser)
    monkeypatch.setattr(search, "PER_PAGE", 5)
    monkeypatch.setattr(search, "EHR_COUNT", 5)
    monkeypatch.setattr(search, "MAX_PAGES", 2)
    url = f"/l/{launch.handle}/patients"
    second = browser.client.get(url, {"name": "a", "page": "2"})
    assert len(ids(second)) == 5
    assert next_link(second) is None
    assert "More than 10 patients match: refine your search." in second.content.decode()
    # A page number past the bound is the first page, never an unbounded walk.
    sandbox.reset_stats()
    assert len(ids(browser.client.get(url, {"name": "a", "page": "999"}))) == 5
    assert sandbox.stats()["fhir_requests"].get("Patient", 0) <= 1


@pytest.fixture
def foreign_origin(sandbox) -> Iterator[Recorder]:
    """Listens where the sandbox's `next_link: foreign` points (127.0.0.2, its port)."""
    recorder = Recorder("127.0.0.2", urlsplit(sandbox.url).port or 80)
    yield recorder
    recorder.server.shutdown()
    recorder.server.server_close()


def test_a_foreign_next_link_is_not_followed(sandbox, connect, browser, foreign_origin) -> None:
    launch = provider(connect, browser, hostile={"next_link": "foreign"})
    url = f"/l/{launch.handle}/patients"
    first = browser.client.get(url, {"name": "a"})
    assert len(ids(first)) == search.PER_PAGE
    second = browser.client.get(url + str(next_link(first)))
    body = second.content.decode()
    assert ids(second) == []
    assert next_link(second) is None
    assert "More than 20 patients match: refine your search." in body
    assert foreign_origin.requests == []  # never asked, so never given the token
    for page in (first, second):
        assert "127.0.0.2" not in page.content.decode()
        assert "_getpages" not in page.content.decode()


def test_results_show_mrn_sex_and_deceased(sandbox, connect, browser) -> None:
    launch = provider(connect, browser)
    page = browser.client.get(f"/l/{launch.handle}/patients", {"name": "departed"})
    assert ids(page) == ["deceased"]
    body = page.content.decode()
    assert re.search(r'data-field="deceased">Deceased 2025-08-29<', body)
    assert '<td data-field="sex">Male</td>' in body
    mrn = next(
        i["value"]
        for i in patient("deceased")["identifier"]
        if i["type"]["coding"][0]["code"] == "MR"
    )
    assert f'<td data-field="mrn">{mrn}</td>' in body


def test_only_mrns_among_identifiers(sandbox, connect, browser) -> None:
    launch = provider(connect, browser)
    record = patient("us-core")
    page = browser.client.get(f"/l/{launch.handle}/patients", {"name": "hale"})
    body = page.content.decode()
    assert "us-core" in ids(page)
    for identifier in record["identifier"]:
        code = identifier["type"]["coding"][0]["code"]
        assert (identifier["value"] in body) == (code == "MR"), code


def test_back_to_the_search_from_the_patient(sandbox, connect, browser) -> None:
    launch = provider(connect, browser)
    url = f"/l/{launch.handle}/patients"
    browser.client.get(url, {"name": "a", "page": "2"})
    chosen = browser.client.post(url, {"patient": "pat-06"})
    assert chosen.status_code == 303
    launch.refresh_from_db()
    link = render_to_string("portal/_back_to_search.html", {"launch": launch})
    assert f'href="{url}"' in link
    back = browser.client.get(url)  # the last search again, at its page
    assert 'value="a"' in back.content.decode()
    assert 'rel="prev"' in back.content.decode()
    assert b'data-testid="back-to-summary"' in back.content


def test_no_back_link_for_launches_with_patient_context(sandbox, connect, browser) -> None:
    browser.launch(browser.start_ehr(connect(), patient="pat-01"))
    launch = Launch.objects.get()
    assert "back-to-search" not in render_to_string(
        "portal/_back_to_search.html", {"launch": launch}
    )


def test_the_last_search_is_this_launchs_only(sandbox, connect, browser) -> None:
    """Another launch in the same browser does not get this one's last search."""
    connection = connect()
    browser.sign_in_staff()
    for _ in range(2):
        browser.launch(
            browser.start_standalone(connection, kind="provider"), user="Practitioner/prac-2"
        )
    first, second = Launch.objects.order_by("created")
    browser.client.get(f"/l/{first.handle}/patients", {"name": "garcia"})
    other = browser.client.get(f"/l/{second.handle}/patients")
    assert 'value=""' in other.content.decode()
    assert ids(other) == []
