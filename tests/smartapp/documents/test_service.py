"""Which attachment URLs the launch's token may be sent to (smartapp/documents/service.py)."""

from __future__ import annotations

import pytest

from smartapp.documents.content import NotABinary
from smartapp.documents.service import binary_url
from smartapp.fhir.transport import ForeignUrl

BASE = "https://ehr.example/fhir/r4"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("Binary/abc-1", f"{BASE}/Binary/abc-1"),
        (f"{BASE}/Binary/abc.1", f"{BASE}/Binary/abc.1"),
        ("Binary/abc/_history/2", f"{BASE}/Binary/abc/_history/2"),
    ],
)
def test_a_binary_read_within_the_base(url: str, expected: str) -> None:
    assert binary_url(BASE, url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/fhir/r4/Binary/x",
        "//evil.example/fhir/r4/Binary/x",
        "http://ehr.example/fhir/r4/Binary/x",  # a downgrade
        "https://ehr.example:8443/fhir/r4/Binary/x",
        "https://user@ehr.example/fhir/r4/Binary/x",
        "/other/Binary/x",
        "../Binary/x",
        "Binary/%2e%2e/x",
        "urn:uuid:1b7c1b76-0000-4000-8000-000000000001",
        "data:text/plain;base64,aGk=",
    ],
)
def test_nothing_outside_the_base(url: str) -> None:
    with pytest.raises((ForeignUrl, NotABinary)):
        binary_url(BASE, url)


@pytest.mark.parametrize(
    "url",
    [
        "Patient/other",
        "DocumentReference?patient=other&_format=html",
        "Binary/x?_format=xml",
        "Binary/x#frag",
        "Binary",
        "Binary/",
        "Binary/x/y",
        "Binary/x/_history/",
        "Binary/bad%20id",
        "",
    ],
)
def test_only_a_binary_read_under_the_base(url: str) -> None:
    with pytest.raises((NotABinary, ForeignUrl)):
        binary_url(BASE, url)
