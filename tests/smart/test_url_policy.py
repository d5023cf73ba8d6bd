"""smart.url_policy.is_within_base: the only URLs a FHIR bearer token may be sent to."""

from __future__ import annotations

import pytest

from smart.url_policy import is_within_base

BASE = "https://ehr.example/r4/fhir"


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example/r4/fhir",
        "https://ehr.example/r4/fhir?_getpages=abc&_count=50",
        "https://ehr.example/r4/fhir/Observation?patient=1",
        "https://EHR.example:443/r4/fhir/Patient/1",
        "https://ehr.example/r4/fhir/Binary/x",
        "https://ehr.example/r4/fhir/Patient?email=a@b.example",  # @ is fine past the host
    ],
)
def test_urls_within_the_base(url: str) -> None:
    assert is_within_base(url, BASE)


@pytest.mark.parametrize(
    "url",
    [
        "http://ehr.example/r4/fhir/Patient",  # another scheme
        "https://ehr.example:8443/r4/fhir/Patient",  # another port
        "https://evil.example/r4/fhir/Patient",  # another host
        "https://ehr.example.evil.example/r4/fhir",
        "https://ehr.example/r4/fhirX/Patient",  # not under the path
        "https://ehr.example/other/fhir?_getpages=abc",
        "https://ehr.example/r4/fhir/../admin",  # dot segments
        "https://ehr.example/r4/fhir/%2e%2e/admin",
        "https://ehr.example/r4/fhir/..;/admin",  # Tomcat reads ..; as ..
        "https://ehr.example/r4/fhir/%2e%2e;x/admin",
        "https://ehr.example/r4/fhir/%252e%252e/admin",  # decoded twice by some servers
        "https://user@ehr.example:443/r4/fhir/Patient",
        "https://ehr.example/r4/fhir/x%2F..%2F..%2Fadmin",  # encoded slashes
        "https://user@ehr.example/r4/fhir/Patient",  # userinfo
        "https://ehr.example/r4/fhir/Patient\\..\\x",
        "https://ehr.example/r4/fhir/Pat ient",
        "https://ehr.example/r4/fhir/Patient\r\n",
        "/r4/fhir/Patient",  # relative
        "javascript:alert(1)",
        "",
    ],
)
def test_urls_outside_the_base(url: str) -> None:
    assert not is_within_base(url, BASE)


def test_a_base_at_the_root_and_one_with_a_trailing_slash() -> None:
    assert is_within_base("https://ehr.example/Patient", "https://ehr.example")
    assert is_within_base("http://127.0.0.1:9000/fhir/Patient", "http://127.0.0.1:9000/fhir/")
    assert not is_within_base("http://127.0.0.2:9000/fhir/Patient", "http://127.0.0.1:9000/fhir")
