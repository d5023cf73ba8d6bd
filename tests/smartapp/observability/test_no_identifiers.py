"""Nothing that names a patient, a user, a launch or a credential reaches a metric label or a
span: a whole journey (launch, summary, drill-downs, a list, a forced refresh, sign-out) with
tracing on, then every label of the scrape and every span name, attribute and event scanned
for the values that journey handled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.cache import cache

from smartapp.models import Launch
from smartapp.vault import store
from tests.fixtures.app import PageClient
from tests.smartapp.observability.scrape import METRICS_TOKEN, ours, scrape


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def test_a_whole_journey_leaves_no_identifier_in_metrics_or_spans(
    connect, browser, exporter, settings
) -> None:
    settings.METRICS_TOKEN = METRICS_TOKEN
    connection = connect()
    client = PageClient()  # made after tracing began: Django's span is in its chain
    browser.client = client
    browser.launch(browser.start_standalone(connection), user="Patient/pat-03")
    launch = Launch.objects.get()
    grant = store.grant_of(launch)
    secrets = {
        "patient id": launch.patient_id,
        "fhirUser": launch.fhir_user,
        "launch handle": launch.handle,
        "access token": grant.get_secret("access_token"),
        "refresh token": grant.get_secret("refresh_token"),
        **{f"cookie {name}": morsel.value for name, morsel in client.cookies.items()},
    }
    assert all(secrets.values()), secrets.keys()
    found: dict[str, str] = {what: str(secret) for what, secret in secrets.items()}
    cache.clear()
    for path in ("", "?refresh=1", "vitals/heart-rate", "list/labs", "list/medications"):
        assert client.get(f"/l/{launch.handle}/{path}").status_code == 200, path
    assert client.post(f"/l/{launch.handle}/sign-out").status_code == 303

    labels = [value for _name, found, _v in ours(scrape(client)) for value in found.values()]
    spans = exporter.get_finished_spans()
    assert labels
    assert any(span.name.startswith("fhir ") for span in spans)
    texts = [*labels]
    for span in spans:
        texts.append(span.name)
        for value in (span.attributes or {}).values():
            texts.extend(strings(value))
        for event in span.events:
            for value in (event.attributes or {}).values():
                texts.extend(strings(value))
    for what, secret in found.items():
        leaks = [text for text in texts if secret in text]
        assert not leaks, f"the {what} is in {leaks[:3]}"
