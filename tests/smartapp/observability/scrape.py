"""Reading /metrics as Prometheus does: scraped over HTTP with the bearer, parsed with
prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-test-secret-0123456789-abcdefghij"
Sample = tuple[str, dict[str, str], float]


def scrape(client: Any) -> list[Sample]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.status_code
    text = response.content.decode()
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there are none)."""
    return sum(
        found
        for sample_name, sample_labels, found in samples
        if sample_name == name and labels.items() <= sample_labels.items()
    )


def moved(before: list[Sample], after: list[Sample], name: str, **labels: str) -> float:
    """How much `name` (with `labels`) moved between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


def ours(samples: list[Sample]) -> Iterator[Sample]:
    return (sample for sample in samples if sample[0].startswith("smartapp_"))
